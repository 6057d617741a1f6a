import { afterAll, describe, expect, it } from "vitest";
import { checkFiles } from "../../../action/src/criteria/files.js";
import { makeProject, removeProjects } from "./project.js";

afterAll(removeProjects);

describe("checkFiles", () => {
  it("passes when every pattern matches, listing the matches", async () => {
    const cwd = await makeProject({ "docs/a.md": "a", "docs/guide/b.md": "b", ".github/CODEOWNERS": "*" });
    const r = await checkFiles(cwd, ["docs/**/*.md", ".github/*"]);
    expect(r.passed).toBe(true);
    expect(r.matches).toEqual({
      "docs/**/*.md": ["docs/a.md", "docs/guide/b.md"],
      ".github/*": [".github/CODEOWNERS"],
    });
    expect(r.detail).toBe("docs/**/*.md → docs/a.md, docs/guide/b.md; .github/* → .github/CODEOWNERS");
  });

  it("fails naming each pattern that matches nothing; node_modules and directories do not count", async () => {
    const cwd = await makeProject({ "node_modules/x/docs/a.md": "a", "src/index.ts": "", "empty/.keep": "" });
    const r = await checkFiles(cwd, ["**/docs/*.md", "src/*.ts", "empty"]);
    expect(r.passed).toBe(false);
    expect(r.detail).toBe("no file matches **/docs/*.md; no file matches empty");
  });

  it("refuses patterns that leave the repository", async () => {
    const cwd = await makeProject({ "a.txt": "" });
    const r = await checkFiles(cwd, ["../*", "/etc/passwd"]);
    expect(r.passed).toBe(false);
    expect(r.detail).toBe(
      "pattern ../* must not leave the repository; pattern /etc/passwd must be relative to the repository",
    );
  });

  it("shortens long match lists", async () => {
    const files = Object.fromEntries([...Array(8).keys()].map((i) => [`out/f${i}.txt`, ""]));
    const r = await checkFiles(await makeProject(files), ["out/*.txt"]);
    expect(r.detail).toBe("out/*.txt → out/f0.txt, out/f1.txt, out/f2.txt, out/f3.txt, out/f4.txt (+3 more)");
  });
});
