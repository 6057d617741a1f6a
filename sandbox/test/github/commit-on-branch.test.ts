import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { responseProblems, webhookProblems } from "../../src/github/schemas.js";
import type { Actions, GitHubState, StateEvent } from "../../src/github/index.js";
import {
  buildPayload,
  createGitHubState,
  createRepoOnDisk,
  graphqlProblems,
  handleRequest,
  onStateEvent,
  startActions,
} from "../../src/github/index.js";

/**
 * The App's commit in the stand-in: GraphQL `createCommitOnBranch` (validated against GitHub's schema) writes a real
 * commit on the branch, refuses a stale `expectedHeadOid` with GitHub's STALE_DATA error, and — made with the App's
 * installation token — starts the repository's CI like any push. `POST /git/refs` creates the branch first.
 */

const CI =
  "name: CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n";
const APP_TOKEN = "ghs_installationToken";
const READ_ONLY_WORKFLOW_TOKEN = "ghs_readOnlyWorkflowToken";

const MUTATION = `mutation ($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid url messageHeadline } ref { name } }
}`;

let root: string;
let bare: string;
let state: GitHubState;
let actions: Actions;
let events: StateEvent[];
let main: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sandbox-commit-"));
  bare = join(root, "web.git");
  const backend = await createRepoOnDisk(bare, {
    files: {
      "README.md": "# web\n",
      "bin/run.sh": "#!/bin/sh\n",
      "old.txt": "old\n",
      ".github/workflows/ci.yml": CI,
    },
  });
  // bin/run.sh executable on main: an addition that replaces it must keep the mode.
  const seed = join(root, "seed");
  const env = {
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: root,
    GIT_AUTHOR_NAME: "a",
    GIT_AUTHOR_EMAIL: "a@b",
    GIT_COMMITTER_NAME: "a",
    GIT_COMMITTER_EMAIL: "a@b",
  };
  await execa("git", ["clone", "--quiet", bare, seed], { env });
  await execa("git", ["update-index", "--chmod=+x", "bin/run.sh"], { cwd: seed, env });
  await execa("git", ["commit", "--quiet", "-m", "exec"], { cwd: seed, env });
  await execa("git", ["push", "--quiet", "origin", "main"], { cwd: seed, env });
  state = createGitHubState({
    users: [{ login: "acme", type: "Organization" }, "octocat"],
    repos: [{ owner: "acme", name: "web", backend, collaborators: { octocat: "admin" } }],
    userTokens: { [READ_ONLY_WORKFLOW_TOKEN]: { login: "github-actions[bot]", contents: "read" } },
  });
  const [installation] = [...state.installations.values()];
  state.tokens.set(APP_TOKEN, { kind: "installation", installationId: installation!.id });
  main = (await backend.branches()).get("main")!;
  events = [];
  onStateEvent(state, (e) => events.push(e));
  actions = startActions(state, { execute: () => Promise.resolve({ conclusion: "success", summary: "ok" }) });
});

afterEach(async () => {
  for (const e of events) expect(webhookProblems(e.name, buildPayload(state, e)), e.name).toEqual([]);
  actions.stop();
  await rm(root, { recursive: true, force: true });
});

const call = (token: string, method: string, path: string, body?: unknown) =>
  handleRequest(state, { method, path, headers: { authorization: `token ${token}` }, body });

const b64 = (text: string): string => Buffer.from(text).toString("base64");
const git = async (...args: string[]): Promise<string> => (await execa("git", args, { cwd: bare })).stdout;

async function createBranch(name: string, sha = main) {
  return call(APP_TOKEN, "POST", "/repos/acme/web/git/refs", { ref: `refs/heads/${name}`, sha });
}

function commit(token: string, input: Record<string, unknown>) {
  return call(token, "POST", "/graphql", { query: MUTATION, variables: { input } });
}

describe("POST /repos/{owner}/{repo}/git/refs", () => {
  it("creates a branch (201, GitHub's shape), refuses an existing one and an unknown sha (422)", async () => {
    const res = await createBranch("trellis/1-a");
    expect(res.status).toBe(201);
    expect(responseProblems("POST", "/repos/acme/web/git/refs", 201, res.body)).toEqual([]);
    expect(res.body).toMatchObject({ ref: "refs/heads/trellis/1-a", object: { sha: main, type: "commit" } });
    expect((await git("rev-parse", "refs/heads/trellis/1-a")).trim()).toBe(main);
    expect((await createBranch("trellis/1-a")).status).toBe(422);
    expect((await createBranch("trellis/2-b", "f".repeat(40))).status).toBe(422);
    expect(
      (
        await call(READ_ONLY_WORKFLOW_TOKEN, "POST", "/repos/acme/web/git/refs", {
          ref: "refs/heads/x",
          sha: main,
        })
      ).status,
    ).toBe(403);
  });
});

describe("createCommitOnBranch", () => {
  it("commits additions and deletions on the branch as the App, keeps an existing file's mode, and CI runs", async () => {
    await createBranch("trellis/1-a");
    await actions.idle();
    const before = actions.runs.length;
    const res = await commit(APP_TOKEN, {
      branch: { repositoryNameWithOwner: "acme/web", branchName: "trellis/1-a" },
      expectedHeadOid: main,
      fileChanges: {
        additions: [
          { path: "src/sum.js", contents: b64("export const sum = (a, b) => a + b;\n") },
          { path: "bin/run.sh", contents: b64("#!/bin/sh\necho new\n") },
        ],
        deletions: [{ path: "old.txt" }],
      },
      message: { headline: "trellis: dev for #1", body: "Trellis-Attempt: att_0123456789" },
    });
    expect(res.status).toBe(200);
    expect(graphqlProblems(res.body)).toEqual([]);
    const data = (
      res.body as {
        data: {
          createCommitOnBranch: { commit: { oid: string; messageHeadline: string }; ref: { name: string } };
        };
      }
    ).data;
    const oid = data.createCommitOnBranch.commit.oid;
    expect(data.createCommitOnBranch).toMatchObject({
      commit: { messageHeadline: "trellis: dev for #1" },
      ref: { name: "trellis/1-a" },
    });
    expect((await git("rev-parse", "refs/heads/trellis/1-a")).trim()).toBe(oid);
    expect((await git("rev-parse", `${oid}^`)).trim()).toBe(main);
    expect(await git("show", `${oid}:src/sum.js`)).toContain("a + b");
    expect(await git("ls-tree", "-r", "--name-only", oid)).not.toContain("old.txt");
    expect(await git("log", "-1", "--format=%an|%B", oid)).toBe(
      "trellis[bot]|trellis: dev for #1\n\nTrellis-Attempt: att_0123456789",
    );
    expect((await git("ls-tree", oid, "bin/run.sh")).split(" ")[0]).toBe("100755");
    expect((await git("ls-tree", oid, "src/sum.js")).split(" ")[0]).toBe("100644");
    // Announced as a push by the App, so the repository's CI runs on the App's commit.
    expect(events.filter((e) => e.name === "push").at(-1)).toMatchObject({
      sender: "trellis[bot]",
      fields: { after: oid },
    });
    await actions.idle();
    expect(actions.runs.slice(before).map((r) => [r.event, r.headSha])).toEqual([["push", oid]]);
  });

  it("refuses a stale expectedHeadOid with GitHub's STALE_DATA error and changes nothing", async () => {
    await createBranch("trellis/1-a");
    const stale = "0123456789abcdef0123456789abcdef01234567";
    const res = await commit(APP_TOKEN, {
      branch: { repositoryNameWithOwner: "acme/web", branchName: "trellis/1-a" },
      expectedHeadOid: stale,
      fileChanges: { additions: [{ path: "a.txt", contents: b64("a") }] },
      message: { headline: "x" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      data: { createCommitOnBranch: null },
      errors: [
        {
          type: "STALE_DATA",
          path: ["createCommitOnBranch"],
          message: `Expected branch to point to "${stale}" but it did not.  Pull and try again.`,
        },
      ],
    });
    expect((await git("rev-parse", "refs/heads/trellis/1-a")).trim()).toBe(main);
  });

  it("is validated against GitHub's schema: a missing expectedHeadOid or message is refused before anything runs", async () => {
    await createBranch("trellis/1-a");
    const res = await commit(APP_TOKEN, {
      branch: { repositoryNameWithOwner: "acme/web", branchName: "trellis/1-a" },
      fileChanges: { additions: [{ path: "a.txt", contents: b64("a") }] },
    });
    expect(res.status).toBe(200);
    const errors = (res.body as { errors: { message: string }[] }).errors.map((e) => e.message).join("\n");
    expect(errors).toMatch(/expectedHeadOid/);
    expect(errors).toMatch(/message/);
    expect((await git("rev-parse", "refs/heads/trellis/1-a")).trim()).toBe(main);
  });

  it("refuses a read-only token, an unknown branch, and deleting a path that does not exist", async () => {
    await createBranch("trellis/1-a");
    const input = (over: Record<string, unknown>) => ({
      branch: { repositoryNameWithOwner: "acme/web", branchName: "trellis/1-a" },
      expectedHeadOid: main,
      message: { headline: "x" },
      ...over,
    });
    const typeOf = (res: { body: unknown }) =>
      (res.body as { errors?: { type?: string }[] }).errors?.[0]?.type;
    expect(typeOf(await commit(READ_ONLY_WORKFLOW_TOKEN, input({})))).toBe("FORBIDDEN");
    expect(
      typeOf(
        await commit(
          APP_TOKEN,
          input({ branch: { repositoryNameWithOwner: "acme/web", branchName: "nope" } }),
        ),
      ),
    ).toBe("NOT_FOUND");
    expect(
      typeOf(await commit(APP_TOKEN, input({ fileChanges: { deletions: [{ path: "missing.txt" }] } }))),
    ).toBe("UNPROCESSABLE");
    expect((await git("rev-parse", "refs/heads/trellis/1-a")).trim()).toBe(main);
  });
});
