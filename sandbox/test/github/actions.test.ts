/**
 * Actions runs in the stand-in as GitHub runs them: concurrency groups ("Control the concurrency of workflows and
 * jobs") and the cancel API ("Cancel a workflow run").
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import type { GitHubState, StateEvent, WorkflowRun } from "../../src/github/index.js";
import {
  completeWorkflowRun,
  createGitHubState,
  handleRequest,
  onStateEvent,
  startWorkflowRun,
} from "../../src/github/index.js";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const AGENT_WORKFLOW = readFileSync(join(REPO_ROOT, "workflow-templates", "trellis-agent.yml"), "utf8");

let state: GitHubState;
let events: StateEvent[];
/** Runs handed to a runner, and runs whose job a runner was told to stop. */
let queued: number[];
let stopped: number[];

/** A workflow grouped by issue, as `trellis-agent.yml` once was. */
const GROUPED = (cancelInProgress: boolean): string =>
  [
    "name: grouped",
    "on:",
    "  workflow_dispatch:",
    "    inputs:",
    "      issue: { type: string, required: true }",
    "concurrency:",
    "  group: Issue-${{ inputs.issue }}",
    `  cancel-in-progress: ${cancelInProgress}`,
    "jobs:",
    "  a: { runs-on: ubuntu-latest, steps: [{ run: 'true' }] }",
    "",
  ].join("\n");

function seed(): GitHubState {
  return createGitHubState({
    users: [{ login: "acme", type: "Organization" }],
    repos: [
      {
        owner: "acme",
        name: "web",
        files: {
          "README.md": "# web\n",
          ".github/workflows/grouped.yml": GROUPED(false),
          ".github/workflows/lower.yml": GROUPED(false).replace("Issue-", "issue-"),
          ".github/workflows/replace.yml": GROUPED(true),
          ".github/workflows/trellis-agent.yml": AGENT_WORKFLOW,
        },
        workflows: [
          { path: ".github/workflows/grouped.yml", name: "grouped" },
          { path: ".github/workflows/lower.yml", name: "lower" },
          { path: ".github/workflows/replace.yml", name: "replace" },
          { path: ".github/workflows/trellis-agent.yml", name: "Trellis agent" },
        ],
      },
    ],
  });
}

let token: Record<string, string>;

async function call(method: string, path: string, body?: unknown) {
  return handleRequest(state, { method, path, headers: token, body });
}

beforeEach(async () => {
  state = seed();
  events = [];
  queued = [];
  stopped = [];
  onStateEvent(state, (e) => events.push(e));
  state.dispatchHandlers.add((run) => queued.push(run.id));
  state.cancelHandlers.add((run) => stopped.push(run.id));
  const [installation] = [...state.installations.values()];
  const res = await handleRequest(state, {
    method: "POST",
    path: `/app/installations/${installation?.id}/access_tokens`,
    headers: { authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln", host: "h" },
  });
  token = { authorization: `token ${(res.body as { token: string }).token}`, host: "127.0.0.1:9" };
});

const repo = () => state.repos.get("acme/web")!;
const run = (id: number): WorkflowRun => repo().workflowRuns.get(id)!;

async function dispatch(workflow: string, inputs: Record<string, string>): Promise<number> {
  const res = await call("POST", `/repos/acme/web/actions/workflows/${workflow}/dispatches`, {
    ref: "main",
    inputs,
    return_run_details: true,
  });
  expect(res.status).toBe(200);
  return (res.body as { workflow_run_id: number }).workflow_run_id;
}

const completions = () =>
  events
    .filter((e) => e.name === "workflow_run" && e.action === "completed")
    .map((e) => {
      const r = e.fields["workflow_run"] as { id: number; conclusion: string };
      return { id: r.id, conclusion: r.conclusion };
    });

describe("concurrency groups", () => {
  it("runs one, keeps one pending, and cancels the older pending run when another is queued", async () => {
    const first = await dispatch("grouped.yml", { issue: "7" });
    const second = await dispatch("grouped.yml", { issue: "7" });
    expect(queued).toEqual([first]);
    expect(run(second).status).toBe("pending");
    startWorkflowRun(state, repo(), first);

    // Group names are case insensitive: "issue-7" is the same group as "Issue-7".
    const third = await dispatch("lower.yml", { issue: "7" });
    expect(run(second)).toMatchObject({ status: "completed", conclusion: "cancelled" });
    expect(completions()).toEqual([{ id: second, conclusion: "cancelled" }]);
    expect(run(third).status).toBe("pending");
    expect(run(first).status).toBe("in_progress");
    expect(stopped).toEqual([]); // a pending run has no job to stop

    // Another group is not held up.
    const other = await dispatch("grouped.yml", { issue: "8" });
    expect(queued).toEqual([first, other]);

    // The running run finishes: the pending one is queued for a runner.
    completeWorkflowRun(state, repo(), first, { conclusion: "success" });
    expect(queued).toEqual([first, other, third]);
    expect(run(third).status).toBe("queued");
    const listed = await call("GET", `/repos/acme/web/actions/runs/${second}`);
    expect(listed.body).toMatchObject({ status: "completed", conclusion: "cancelled" });
  });

  it("with cancel-in-progress cancels the running run and stops its job", async () => {
    const first = await dispatch("replace.yml", { issue: "7" });
    startWorkflowRun(state, repo(), first);
    const second = await dispatch("replace.yml", { issue: "7" });
    expect(run(first)).toMatchObject({ status: "completed", conclusion: "cancelled" });
    expect(stopped).toEqual([first]);
    expect(queued).toEqual([first, second]);
    expect(completions()).toEqual([{ id: first, conclusion: "cancelled" }]);
    // The stopped job's late report changes nothing.
    completeWorkflowRun(state, repo(), first, { conclusion: "success" });
    expect(run(first).conclusion).toBe("cancelled");
  });

  it("never cancels a Trellis attempt: five refine attempts of one tracking issue all run", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        await dispatch("trellis-agent.yml", {
          attempt_id: `att_refine${i}`,
          issue: "42",
          stage: "refine",
          profile: "refiner",
          spec: "{}",
        }),
      );
    expect(queued).toEqual(ids);
    expect(ids.map((id) => run(id).status)).toEqual(ids.map(() => "queued"));
    for (const id of ids) completeWorkflowRun(state, repo(), id, { conclusion: "success" });
    expect(completions()).toEqual(ids.map((id) => ({ id, conclusion: "success" })));
  });
});

describe("cancel a workflow run", () => {
  it("cancels a queued or running run (202, workflow_run.completed cancelled), refuses a completed one (409)", async () => {
    const running = await dispatch("trellis-agent.yml", {
      attempt_id: "att_a",
      issue: "1",
      stage: "dev",
      profile: "dev",
      spec: "{}",
    });
    startWorkflowRun(state, repo(), running);
    const res = await call("POST", `/repos/acme/web/actions/runs/${running}/cancel`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({});
    expect(run(running)).toMatchObject({ status: "completed", conclusion: "cancelled" });
    expect(stopped).toEqual([running]);
    expect(completions()).toEqual([{ id: running, conclusion: "cancelled" }]);

    const again = await call("POST", `/repos/acme/web/actions/runs/${running}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ message: "Cannot cancel a workflow run that is completed." });
    expect((await call("POST", "/repos/acme/web/actions/runs/999999/cancel")).status).toBe(404);

    // A pending run is cancelled without a job to stop; the group's holder is not affected.
    const holder = await dispatch("grouped.yml", { issue: "3" });
    const pending = await dispatch("grouped.yml", { issue: "3" });
    expect((await call("POST", `/repos/acme/web/actions/runs/${pending}/cancel`)).status).toBe(202);
    expect(stopped).toEqual([running]);
    expect(run(holder).status).toBe("queued");
    // The cancelled holder frees the group; nothing is left pending in it.
    expect((await call("POST", `/repos/acme/web/actions/runs/${holder}/cancel`)).status).toBe(202);
    expect(stopped).toEqual([running, holder]);
    expect(queued).toEqual([running, holder]);
  });
});
