import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runParallel } from "../../action/src/parallel.js";
import { prepareWorkspace } from "../../action/src/workspace.js";
import { makeRepo, sh, writeFiles } from "./git-fixture.js";

describe("runParallel", () => {
  it("gives each sub-agent its own worktree and branch, merges in order, and reports conflicts", async () => {
    const { work } = makeRepo({ "README.md": "# shop\n", "src/config.ts": "export const port = 80;\n" });
    await prepareWorkspace(work, "trellis/9-par", "main");
    const cwds: string[] = [];
    const result = await runParallel(work, [
      {
        name: "dev",
        work: async (cwd) => {
          cwds.push(cwd);
          writeFiles(cwd, {
            "src/cart.ts": "export const cart = [];\n",
            "src/config.ts": "export const port = 8080;\n",
          });
          return "dev done";
        },
      },
      {
        name: "docs",
        work: async (cwd) => {
          cwds.push(cwd);
          writeFiles(cwd, { "docs/cart.md": "# Cart\n" });
          return "docs done";
        },
      },
      {
        name: "ops",
        work: async (cwd) => {
          cwds.push(cwd);
          writeFiles(cwd, { "src/config.ts": "export const port = 9090;\n" });
          return "ops done";
        },
      },
      { name: "idle", work: async () => "nothing" },
      {
        name: "crash",
        work: async () => {
          throw new Error("boom");
        },
      },
    ]);
    expect(new Set(cwds).size).toBe(3);
    expect(cwds.every((c) => c !== work)).toBe(true);
    expect(result.merged).toEqual(["dev", "docs"]);
    expect(result.conflicts).toEqual([{ name: "ops", files: ["src/config.ts"] }]);
    const byName = Object.fromEntries(result.outcomes.map((o) => [o.name, o]));
    expect(byName["dev"]).toMatchObject({ value: "dev done", branch: "trellis/9-par--dev", merged: true });
    expect(byName["dev"]?.filesChanged.sort()).toEqual(["src/cart.ts", "src/config.ts"]);
    expect(byName["idle"]).toMatchObject({ merged: false, filesChanged: [], commit: undefined });
    expect(byName["crash"]?.error).toBe("boom");
    // The merged work is on the attempt's branch; the conflicting change was not applied.
    expect(sh(work, "rev-parse", "--abbrev-ref", "HEAD")).toBe("trellis/9-par");
    expect(readFileSync(join(work, "src/config.ts"), "utf8")).toContain("8080");
    expect(readFileSync(join(work, "docs/cart.md"), "utf8")).toBe("# Cart\n");
    expect(sh(work, "status", "--porcelain")).toBe("");
    expect(sh(work, "worktree", "list").split("\n")).toHaveLength(1);
  });

  it("rejects duplicate names", async () => {
    const { work } = makeRepo({ "a.txt": "a" });
    await expect(
      runParallel(work, [
        { name: "x", work: async () => 1 },
        { name: "x", work: async () => 2 },
      ]),
    ).rejects.toThrow(/unique/);
  });
});
