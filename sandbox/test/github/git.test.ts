import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleGit } from "simple-git";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GitHubState } from "../../src/github/index.js";
import { createGitHubState, createRepoOnDisk, handleRequest } from "../../src/github/index.js";

let root: string;
let state: GitHubState;
const H = { authorization: "token t", host: "127.0.0.1:9" };
const call = (method: string, path: string, body?: unknown) =>
  handleRequest(state, { method, path, headers: H, body });
const identity = ["-c", "user.name=Agent", "-c", "user.email=agent@example.com"];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sandbox-git-"));
  const backend = await createRepoOnDisk(join(root, "web.git"), {
    files: { "README.md": "# web\n", "src/a.ts": "a\n" },
  });
  state = createGitHubState({ repos: [{ owner: "acme", name: "web", backend }], userTokens: { t: "acme" } });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function pushBranch(branch: string, file: string, text: string, from = "main"): Promise<void> {
  const work = join(root, `work-${branch.replace(/\W/g, "-")}`);
  await simpleGit().clone(join(root, "web.git"), work, ["--branch", from]);
  const g = simpleGit(work);
  await g.raw(["checkout", "-b", branch]);
  await writeFile(join(work, file), text);
  await g.raw(["add", "-A"]);
  await g.raw([...identity, "commit", "-m", `add ${file}`]);
  await g.raw(["push", "origin", branch]);
}

describe("a repository backed by a bare git repository on disk", () => {
  it("serves branches, commits and contents read from git", async () => {
    const branch = await call("GET", "/repos/acme/web/branches/main");
    expect(branch.status).toBe(200);
    const sha = (branch.body as { commit: { sha: string; commit: { message: string } } }).commit;
    expect(sha.commit.message).toBe("Initial commit");
    const dir = await call("GET", "/repos/acme/web/contents/src");
    expect(dir.body).toMatchObject([{ name: "a.ts", type: "file", path: "src/a.ts", size: 2 }]);
    const file = await call("GET", "/repos/acme/web/contents/README.md?ref=main");
    expect(Buffer.from((file.body as { content: string }).content, "base64").toString()).toBe("# web\n");
    expect((await call("GET", "/repos/acme/web/contents/nope.md")).status).toBe(404);
  });

  it("sees a branch pushed with real git, opens a PR from it and merges it (fast-forward and true merge)", async () => {
    await pushBranch("trellis/1-a", "b.ts", "b\n");
    await pushBranch("trellis/2-c", "c.ts", "c\n");
    const branches = await call("GET", "/repos/acme/web/branches");
    expect((branches.body as { name: string }[]).map((b) => b.name)).toEqual([
      "main",
      "trellis/1-a",
      "trellis/2-c",
    ]);

    const first = await call("POST", "/repos/acme/web/pulls", {
      head: "trellis/1-a",
      base: "main",
      title: "A",
    });
    expect(first.status).toBe(201);
    const second = await call("POST", "/repos/acme/web/pulls", {
      head: "trellis/2-c",
      base: "main",
      title: "C",
    });
    expect((await call("PUT", "/repos/acme/web/pulls/1/merge", {})).status).toBe(200);
    const merged = await call(
      "PUT",
      `/repos/acme/web/pulls/${(second.body as { number: number }).number}/merge`,
      {},
    );
    expect(merged.status).toBe(200);

    const main = await call("GET", "/repos/acme/web/commits/main");
    expect((main.body as { parents: unknown[] }).parents.length).toBe(2);
    for (const f of ["b.ts", "c.ts", "README.md"])
      expect((await call("GET", `/repos/acme/web/contents/${f}?ref=main`)).status).toBe(200);
    expect((await call("GET", "/repos/acme/web/pulls/1")).body).toMatchObject({
      merged: true,
      state: "closed",
    });
  });

  it("refuses to merge conflicting branches with 405", async () => {
    await pushBranch("x", "README.md", "x\n");
    await pushBranch("y", "README.md", "y\n");
    await call("POST", "/repos/acme/web/pulls", { head: "x", base: "main", title: "X" });
    await call("POST", "/repos/acme/web/pulls", { head: "y", base: "main", title: "Y" });
    expect((await call("PUT", "/repos/acme/web/pulls/1/merge", {})).status).toBe(200);
    const conflict = await call("PUT", "/repos/acme/web/pulls/2/merge", {});
    expect(conflict.status).toBe(405);
  });
});
