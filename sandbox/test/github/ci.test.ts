import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { webhookProblems } from "../../src/github/schemas.js";
import type { Actions, CiExecution, GitHubServer, GitHubState, StateEvent } from "../../src/github/index.js";
import {
  buildPayload,
  createGitHubServer,
  createGitHubState,
  createRepoOnDisk,
  GITHUB_ACTIONS_APP,
  handleRequest,
  onStateEvent,
  parseWorkflowFile,
  startActions,
  triggers,
} from "../../src/github/index.js";

/**
 * GitHub Actions in the stand-in: pushes (over git's smart HTTP, authenticated by token) and pull requests start the
 * repository's `on: [push, pull_request]` workflow, with a check suite and check run of the GitHub Actions App on the
 * head sha — unless the workflow's GITHUB_TOKEN caused them; `workflow_dispatch` runs whoever dispatches.
 */

const CI = [
  "name: CI",
  "on: [push, pull_request]",
  "jobs:",
  "  test:",
  "    runs-on: ubuntu-latest",
  "    steps:",
  "      - uses: actions/checkout@v4",
  "      - run: npm test",
  "",
].join("\n");
const AGENT =
  "name: Agent\non:\n  workflow_dispatch:\n    inputs: {}\njobs:\n  agent:\n    steps:\n      - run: true\n";

const WORKFLOW_TOKEN = "ghs_workflowToken";
const READ_ONLY_WORKFLOW_TOKEN = "ghs_readOnlyWorkflowToken";
const APP_TOKEN = "ghs_installationToken";

let root: string;
let state: GitHubState;
let server: GitHubServer;
let actions: Actions;
let events: StateEvent[];
let executed: CiExecution[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sandbox-ci-"));
  const backend = await createRepoOnDisk(join(root, "web.git"), {
    files: { "README.md": "# web\n", ".github/workflows/ci.yml": CI, ".github/workflows/agent.yml": AGENT },
  });
  state = createGitHubState({
    users: [{ login: "acme", type: "Organization" }, "octocat"],
    repos: [
      {
        owner: "acme",
        name: "web",
        backend,
        collaborators: { octocat: "admin" },
        workflows: [{ path: ".github/workflows/agent.yml", name: "Agent" }],
      },
    ],
    userTokens: {
      [WORKFLOW_TOKEN]: "github-actions[bot]",
      [READ_ONLY_WORKFLOW_TOKEN]: { login: "github-actions[bot]", contents: "read" },
      ghp_octocat: "octocat",
    },
  });
  const [installation] = [...state.installations.values()];
  state.tokens.set(APP_TOKEN, { kind: "installation", installationId: installation!.id });
  events = [];
  onStateEvent(state, (e) => events.push(e));
  server = await createGitHubServer(state);
  executed = [];
  actions = startActions(state, {
    execute: (execution) => {
      executed.push(execution);
      return Promise.resolve({ conclusion: "success", summary: "1 passing" });
    },
  });
});

afterEach(async () => {
  // Every delivery these pushes, PRs and runs cause fits GitHub's webhook schemas.
  for (const e of events) expect(webhookProblems(e.name, buildPayload(state, e)), e.name).toEqual([]);
  actions.stop();
  await server.close();
  await rm(root, { recursive: true, force: true });
});

const remote = (token?: string) =>
  `http://${token ? `x-access-token:${token}@` : ""}127.0.0.1:${server.port}/_sandbox/web/acme/web.git`;

const gitEnv = { GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", HOME: tmpdir() };

/** Clones over HTTP with `token`, commits `file` on `branch` and pushes it; returns the pushed sha. */
async function push(token: string | undefined, branch: string, file: string): Promise<string> {
  const work = await mkdtemp(join(root, "work-"));
  const git = (...args: string[]) => execa("git", args, { cwd: work, env: gitEnv });
  await execa("git", ["clone", "--quiet", remote(token), work], { env: gitEnv });
  const exists = (await git("ls-remote", "--heads", "origin", branch)).stdout.trim() !== "";
  if (exists) await git("checkout", "--quiet", branch);
  else await git("checkout", "--quiet", "-b", branch);
  await writeFile(join(work, file), `${file}\n`);
  await git("add", "-A");
  await git(
    "-c",
    "user.name=Agent",
    "-c",
    "user.email=agent@example.com",
    "commit",
    "--quiet",
    "-m",
    `add ${file}`,
  );
  await git("push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
  return (await git("rev-parse", "HEAD")).stdout.trim();
}

const call = (token: string, method: string, path: string, body?: unknown) =>
  handleRequest(state, { method, path, headers: { authorization: `token ${token}` }, body });

async function checkRunsOn(sha: string) {
  const res = await call(APP_TOKEN, "GET", `/repos/acme/web/commits/${sha}/check-runs`);
  return (
    res.body as {
      check_runs: {
        name: string;
        status: string;
        conclusion: string;
        app: { slug: string };
        check_suite: { id: number };
      }[];
    }
  ).check_runs;
}

const named = (name: string, action?: string) =>
  events.filter((e) => e.name === name && (action === undefined || e.action === action));

describe("GitHub Actions on pushes and pull requests", () => {
  it("a push with the App's installation token starts the CI workflow; its check run appears on the head sha", async () => {
    const sha = await push(APP_TOKEN, "feature", "a.txt");
    await actions.idle();

    expect(named("push")).toMatchObject([
      {
        sender: "trellis[bot]",
        fields: {
          ref: "refs/heads/feature",
          after: sha,
          created: true,
          head_commit: { id: sha, added: ["a.txt"] },
        },
      },
    ]);
    const [run, ...others] = actions.runs;
    expect(others).toEqual([]);
    expect(run).toMatchObject({ event: "push", headSha: sha, headBranch: "feature", actor: "trellis[bot]" });
    expect(run).toMatchObject({ status: "completed", conclusion: "success", displayTitle: "add a.txt" });
    expect(executed.map((e) => [e.workflow.path, e.job.key])).toEqual([[".github/workflows/ci.yml", "test"]]);
    expect(await checkRunsOn(sha)).toMatchObject([
      {
        name: "test",
        status: "completed",
        conclusion: "success",
        app: { slug: "github-actions", id: GITHUB_ACTIONS_APP.id },
        check_suite: { id: run!.checkSuiteId },
      },
    ]);
    expect(named("workflow_run").map((e) => e.action)).toEqual(["requested", "in_progress", "completed"]);
    expect(named("check_run").map((e) => e.action)).toEqual(["created", "completed"]);
    expect(named("check_suite", "completed")).toMatchObject([
      { fields: { check_suite: { id: run!.checkSuiteId, head_sha: sha, conclusion: "success" } } },
    ]);
    // The run's workflow is now one of the repository's, as GitHub lists it.
    const list = await call(APP_TOKEN, "GET", "/repos/acme/web/actions/workflows");
    expect((list.body as { workflows: { path: string }[] }).workflows.map((w) => w.path)).toContain(
      ".github/workflows/ci.yml",
    );
  });

  it("the same push with the workflow's GITHUB_TOKEN is announced but starts no workflow", async () => {
    const sha = await push(WORKFLOW_TOKEN, "feature", "a.txt");
    await actions.idle();
    expect(named("push")).toMatchObject([{ sender: "github-actions[bot]", fields: { after: sha } }]);
    expect(actions.runs).toEqual([]);
    expect(await checkRunsOn(sha)).toEqual([]);
    expect(named("workflow_run")).toEqual([]);
  });

  it("a GITHUB_TOKEN whose workflow grants `contents: read` (the agent workflow) clones but cannot push: 403", async () => {
    await expect(push(READ_ONLY_WORKFLOW_TOKEN, "trellis/1-a", "a.txt")).rejects.toThrow(
      /Permission to acme\/web\.git denied to github-actions\[bot\]|403/,
    );
    expect(named("push")).toEqual([]);
    const heads = await execa("git", ["for-each-ref", "refs/heads"], { cwd: join(root, "web.git") });
    expect(heads.stdout).not.toContain("trellis/1-a");
  });

  it("a pull request opened by the App gets the CI check run on its head; GITHUB_TOKEN pushes to it do not", async () => {
    // The agent pushes with the workflow's token (no run), then the App opens the PR with its own.
    const first = await push(WORKFLOW_TOKEN, "trellis/1-a", "a.txt");
    const opened = await call(APP_TOKEN, "POST", "/repos/acme/web/pulls", {
      head: "trellis/1-a",
      base: "main",
      title: "Add a",
    });
    expect(opened.status).toBe(201);
    await actions.idle();
    expect(actions.runs).toMatchObject([
      { event: "pull_request", headSha: first, headBranch: "trellis/1-a", displayTitle: "Add a" },
    ]);
    expect(await checkRunsOn(first)).toMatchObject([
      { name: "test", conclusion: "success", app: { slug: "github-actions" } },
    ]);

    // A retry pushes again with the workflow's token: the PR is synchronized, and nothing runs.
    const second = await push(WORKFLOW_TOKEN, "trellis/1-a", "b.txt");
    await actions.idle();
    expect(named("pull_request", "synchronize")).toMatchObject([
      {
        sender: "github-actions[bot]",
        fields: { before: first, after: second, pull_request: { head: { sha: second } } },
      },
    ]);
    expect(actions.runs).toHaveLength(1);
    expect(await checkRunsOn(second)).toEqual([]);

    // A person's push to the same branch runs CI for the push and for the pull request.
    const third = await push("ghp_octocat", "trellis/1-a", "c.txt");
    await actions.idle();
    expect(actions.runs.slice(1).map((r) => [r.event, r.headSha])).toEqual([
      ["push", third],
      ["pull_request", third],
    ]);
  });

  it("a workflow_dispatch made with the GITHUB_TOKEN still runs", async () => {
    const dispatched: number[] = [];
    server.onWorkflowDispatch((run) => dispatched.push(run.id));
    const res = await call(WORKFLOW_TOKEN, "POST", "/repos/acme/web/actions/workflows/agent.yml/dispatches", {
      ref: "main",
      inputs: {},
    });
    expect(res.status).toBe(204);
    const [run] = [...state.repos.values()][0]!.workflowRuns.values();
    expect(run).toMatchObject({ event: "workflow_dispatch", actor: "github-actions[bot]" });
    expect(dispatched).toEqual([run!.id]);
  });

  it("git over HTTP asks for a token to push and refuses one without write access", async () => {
    await expect(push(undefined, "x", "x.txt")).rejects.toThrow(
      /Authentication failed|could not read Username/,
    );
    state.tokens.set("ghp_reader", { kind: "user", login: "mallory" });
    await expect(push("ghp_reader", "x", "x.txt")).rejects.toThrow(/403|denied/);
    expect(named("push")).toEqual([]);
  });
});

describe("workflow triggers", () => {
  const wf = (on: string) => parseWorkflowFile(".github/workflows/x.yml", `on: ${on}\njobs: {}\n`)!;

  it("reads `on` as a name, a list or a map with activity types and branch filters", () => {
    expect(triggers(wf("push"), "push", "main")).toBe(true);
    expect(triggers(wf("[push, pull_request]"), "pull_request", "main", "opened")).toBe(true);
    expect(triggers(wf("workflow_dispatch"), "push", "main")).toBe(false);
    // pull_request without types: opened, synchronize, reopened only.
    expect(triggers(wf("pull_request"), "pull_request", "main", "closed")).toBe(false);
    expect(triggers(wf("{pull_request: {types: [closed]}}"), "pull_request", "main", "closed")).toBe(true);
    expect(triggers(wf("{push: {branches: [main, 'release/**']}}"), "push", "release/1/2")).toBe(true);
    expect(triggers(wf("{push: {branches: [main]}}"), "push", "trellis/1-a")).toBe(false);
  });
});
