import { describe, expect, it } from "vitest";
import { loadRepoFiles, parseExtends } from "../../src/github/repo-files.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { R, repo, testOctokit } from "./helpers.js";

useGitHubNock();

const file = (path: string, text: string) => ({
  type: "file",
  name: path.split("/").at(-1),
  path,
  size: Buffer.byteLength(text),
  encoding: "base64",
  content: Buffer.from(text).toString("base64"),
  sha: "3d21ec53a331a6f037a91c368710b99387d012c1",
});
const entry = (path: string, type = "file", size = 100) => ({
  type,
  name: path.split("/").at(-1),
  path,
  size,
  sha: "3d21ec53a331a6f037a91c368710b99387d012c1",
});
const notFound = { message: "Not Found", documentation_url: "https://docs.github.com/rest" };
const enc = (p: string) => encodeURIComponent(p);

describe("loadRepoFiles", () => {
  it("reads the config, its _extends base, agent profiles and workflow templates", async () => {
    const config = "_extends: .github\nlabels:\n  batch: trellis:batch\n";
    const base = "budget:\n  monthly_usd: 100\n";
    githubApi()
      .get(`${R}/contents/${enc(".github/trellis.yml")}`)
      .query({ ref: "main" })
      .reply(200, file(".github/trellis.yml", config))
      .get(`${R}/contents/${enc(".github/trellis/agents")}`)
      .query({ ref: "main" })
      .reply(200, [
        entry(".github/trellis/agents/dev.md"),
        entry(".github/trellis/agents/README.txt"),
        entry(".github/trellis/agents/nested", "dir"),
        entry(".github/trellis/agents/huge.md", "file", 10_000_000),
      ])
      .get(`${R}/contents/${enc(".github/trellis/agents/dev.md")}`)
      .query({ ref: "main" })
      .reply(200, file(".github/trellis/agents/dev.md", "---\nname: dev\n---\nYou write code."))
      .get(`${R}/contents/${enc(".github/trellis/workflows")}`)
      .query({ ref: "main" })
      .reply(200, [entry(".github/trellis/workflows/bdd.yml")])
      .get(`${R}/contents/${enc(".github/trellis/workflows/bdd.yml")}`)
      .query({ ref: "main" })
      .reply(200, file(".github/trellis/workflows/bdd.yml", "name: bdd\nstages: []\n"))
      // _extends reads the organisation's .github repository at its default branch
      .get(`/repos/Codertocat/.github/contents/${enc(".github/trellis.yml")}`)
      .reply(200, file(".github/trellis.yml", base));

    const files = await loadRepoFiles(testOctokit(), repo, "main");
    expect(Object.fromEntries(files)).toEqual({
      ".github/trellis.yml": config,
      "Codertocat/.github:.github/trellis.yml": base,
      ".github/trellis/agents/dev.md": "---\nname: dev\n---\nYou write code.",
      ".github/trellis/workflows/bdd.yml": "name: bdd\nstages: []\n",
    });
  });

  it("treats 404s as absent: a repository without Trellis files gives an empty map", async () => {
    githubApi()
      .get(`${R}/contents/${enc(".github/trellis.yml")}`)
      .reply(404, notFound)
      .get(`${R}/contents/${enc(".github/trellis/agents")}`)
      .reply(404, notFound)
      .get(`${R}/contents/${enc(".github/trellis/workflows")}`)
      .reply(404, notFound);
    expect((await loadRepoFiles(testOctokit(), repo)).size).toBe(0);
  });

  it("keeps a config with a YAML syntax error for the validator to locate, and a missing base is absent", async () => {
    const broken = "labels: [unclosed\n";
    githubApi()
      .get(`${R}/contents/${enc(".github/trellis.yml")}`)
      .reply(200, file(".github/trellis.yml", broken))
      .get(`${R}/contents/${enc(".github/trellis/agents")}`)
      .reply(404, notFound)
      .get(`${R}/contents/${enc(".github/trellis/workflows")}`)
      .reply(404, notFound);
    expect(Object.fromEntries(await loadRepoFiles(testOctokit(), repo))).toEqual({
      ".github/trellis.yml": broken,
    });

    githubApi()
      .get(`${R}/contents/${enc(".github/trellis.yml")}`)
      .reply(200, file(".github/trellis.yml", "_extends: acme/policies:trellis/base.yml\n"))
      .get(`${R}/contents/${enc(".github/trellis/agents")}`)
      .reply(404, notFound)
      .get(`${R}/contents/${enc(".github/trellis/workflows")}`)
      .reply(404, notFound)
      .get(`/repos/acme/policies/contents/${enc("trellis/base.yml")}`)
      .reply(404, notFound);
    expect([...(await loadRepoFiles(testOctokit(), repo)).keys()]).toEqual([".github/trellis.yml"]);
  });

  it("stops on an _extends cycle", async () => {
    githubApi()
      .get(`${R}/contents/${enc(".github/trellis.yml")}`)
      .reply(200, file(".github/trellis.yml", "_extends: .github\n"))
      .get(`${R}/contents/${enc(".github/trellis/agents")}`)
      .reply(404, notFound)
      .get(`${R}/contents/${enc(".github/trellis/workflows")}`)
      .reply(404, notFound)
      .get(`/repos/Codertocat/.github/contents/${enc(".github/trellis.yml")}`)
      .reply(200, file(".github/trellis.yml", "_extends: Codertocat/.github\n"));
    expect([...(await loadRepoFiles(testOctokit(), repo)).keys()]).toEqual([
      ".github/trellis.yml",
      "Codertocat/.github:.github/trellis.yml",
    ]);
  });

  it("lets other failures through for a retry", async () => {
    githubApi()
      .get(`${R}/contents/${enc(".github/trellis.yml")}`)
      .reply(500, { message: "boom" })
      .get(`${R}/contents/${enc(".github/trellis/agents")}`)
      .reply(404, notFound)
      .get(`${R}/contents/${enc(".github/trellis/workflows")}`)
      .reply(404, notFound);
    await expect(loadRepoFiles(testOctokit(), repo)).rejects.toMatchObject({ status: 500 });
  });
});

describe("parseExtends", () => {
  it("follows Probot's conventions", () => {
    expect(parseExtends(".github", repo)).toEqual({
      repo: { owner: "Codertocat", name: ".github" },
      path: ".github/trellis.yml",
    });
    expect(parseExtends("acme/policies:trellis/base.yml", repo)).toEqual({
      repo: { owner: "acme", name: "policies" },
      path: "trellis/base.yml",
    });
    expect(parseExtends(42, repo)).toBeUndefined();
    expect(parseExtends("  ", repo)).toBeUndefined();
  });
});
