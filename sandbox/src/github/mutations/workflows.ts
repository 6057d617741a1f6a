import type { Artifact, GitHubState, Repository, WorkflowRun } from "../state.js";
import { emit, newId, now } from "../state.js";
import { SandboxError } from "../errors.js";
import { workflowJson, workflowRunJson } from "../shapes.js";

/** Workflow runs: dispatched, queued by concurrency group, started, completed and cancelled. */

/** `${{ inputs.x }}` and `${{ github.event.inputs.x }}` substituted, as GitHub renders `run-name`. */
export function renderRunName(template: string, inputs: Record<string, string>, fallback: string): string {
  const rendered = template.replace(
    /\$\{\{\s*(?:github\.event\.)?inputs\.([A-Za-z0-9_-]+)\s*\}\}/g,
    (_m, key: string) => inputs[key] ?? "",
  );
  return /\$\{\{/.test(rendered) ? fallback : rendered;
}

export function dispatchWorkflow(
  state: GitHubState,
  repo: Repository,
  workflowId: number,
  input: {
    ref: string;
    sha: string;
    inputs: Record<string, string>;
    actor: string;
    concurrency?: WorkflowRun["concurrency"];
  },
): WorkflowRun {
  const workflow = repo.workflows.get(workflowId);
  if (!workflow) throw new SandboxError(404, "Not Found");
  const t = now(state);
  const run: WorkflowRun = {
    id: newId(state),
    workflowId,
    displayTitle: workflow.runName
      ? renderRunName(workflow.runName, input.inputs, workflow.name)
      : workflow.name,
    headBranch: input.ref.replace(/^refs\/heads\//, ""),
    headSha: input.sha,
    event: "workflow_dispatch",
    status: "queued",
    conclusion: null,
    inputs: input.inputs,
    ...(input.concurrency ? { concurrency: input.concurrency } : {}),
    actor: input.actor,
    runNumber: [...repo.workflowRuns.values()].filter((r) => r.workflowId === workflowId).length + 1,
    createdAt: t,
    updatedAt: t,
    artifacts: [],
  };
  const group = input.concurrency ? groupOf(repo, input.concurrency.group) : [];
  const holder = group.find((r) => r.status !== "pending");
  const waiting = group.filter((r) => r.status === "pending");
  // https://docs.github.com/actions/how-tos/write-workflows/choose-when-workflows-run/control-workflow-concurrency :
  // at most one running and one pending run per group; a run queued while another of its group is in progress is
  // pending, and any pending run of the group is cancelled, the new one taking its place. With
  // `cancel-in-progress: true` the running one is cancelled too.
  const cancelRunning = input.concurrency?.cancelInProgress === true;
  if (holder && !cancelRunning) run.status = "pending";
  repo.workflowRuns.set(run.id, run);
  workflowRunEvent(state, repo, run, "requested");
  for (const older of waiting) finishCancelled(state, repo, older);
  if (holder && cancelRunning) finishCancelled(state, repo, holder);
  if (run.status === "queued") queueForRunner(state, repo, run);
  return run;
}

/** The runs of a concurrency group (case insensitive) that have not completed, oldest first. */
function groupOf(repo: Repository, group: string): WorkflowRun[] {
  return [...repo.workflowRuns.values()]
    .filter((r) => r.status !== "completed" && r.concurrency?.group === group.toLowerCase())
    .sort((a, b) => a.id - b.id);
}

function queueForRunner(state: GitHubState, repo: Repository, run: WorkflowRun): void {
  for (const handler of state.dispatchHandlers) handler(run, repo);
}

/** A run left its group: the group's pending run (if any) is queued for a runner. */
function releaseGroup(state: GitHubState, repo: Repository, run: WorkflowRun): void {
  if (!run.concurrency) return;
  const group = groupOf(repo, run.concurrency.group);
  const next = group.find((r) => r.status === "pending");
  if (!next || group.some((r) => r.status !== "pending")) return;
  next.status = "queued";
  next.updatedAt = now(state);
  queueForRunner(state, repo, next);
}

/** Completed with conclusion `cancelled`, without starting, and announced with `workflow_run.completed`. */
function finishCancelled(state: GitHubState, repo: Repository, run: WorkflowRun): void {
  const wasActive = run.status !== "pending";
  run.status = "completed";
  run.conclusion = "cancelled";
  run.updatedAt = now(state);
  workflowRunEvent(state, repo, run, "completed");
  if (wasActive) for (const handler of state.cancelHandlers) handler(run, repo);
  releaseGroup(state, repo, run);
}

/**
 * `POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel` ("Cancel a workflow run",
 * https://docs.github.com/rest/actions/workflow-runs#cancel-a-workflow-run): 202 for a run not yet completed, which
 * ends `cancelled` (its runner is told to stop the job); 409 for a completed one.
 */
export function cancelWorkflowRun(state: GitHubState, repo: Repository, runId: number): WorkflowRun {
  const run = repo.workflowRuns.get(runId);
  if (!run) throw new SandboxError(404, "Not Found");
  if (run.status === "completed")
    throw new SandboxError(409, "Cannot cancel a workflow run that is completed.");
  finishCancelled(state, repo, run);
  return run;
}

/** A `workflow_run` webhook for `run` (requested, in_progress, completed), as its repository's Actions send it. */
export function workflowRunEvent(
  state: GitHubState,
  repo: Repository,
  run: WorkflowRun,
  action: string,
): void {
  const w = repo.workflows.get(run.workflowId);
  emit(state, {
    name: "workflow_run",
    action,
    repo,
    sender: run.actor,
    fields: {
      workflow_run: workflowRunJson(state, repo, run),
      workflow: w ? workflowJson(state, repo, w) : null,
    },
  });
}

export function startWorkflowRun(state: GitHubState, repo: Repository, runId: number): WorkflowRun {
  const run = repo.workflowRuns.get(runId);
  if (!run) throw new SandboxError(404, "Not Found");
  // A run already started, or cancelled before a runner picked it up, stays as it is.
  if (run.status === "in_progress" || run.status === "completed") return run;
  run.status = "in_progress";
  run.updatedAt = now(state);
  run.startedAt = run.updatedAt;
  workflowRunEvent(state, repo, run, "in_progress");
  return run;
}

export function completeWorkflowRun(
  state: GitHubState,
  repo: Repository,
  runId: number,
  result: {
    conclusion: "success" | "failure" | "cancelled" | "timed_out";
    artifacts?: { name: string; zip: Uint8Array }[];
  },
): WorkflowRun {
  const run = repo.workflowRuns.get(runId);
  if (!run) throw new SandboxError(404, "Not Found");
  // A cancelled run keeps its conclusion: what its job still did after the cancel is not reported.
  if (run.status === "completed") return run;
  if (run.status !== "in_progress") startWorkflowRun(state, repo, runId);
  for (const a of result.artifacts ?? []) {
    const artifact: Artifact = {
      id: newId(state),
      name: a.name,
      bytes: a.zip,
      createdAt: now(state),
      expired: false,
    };
    repo.artifacts.set(artifact.id, artifact);
    run.artifacts.push(artifact.id);
  }
  run.status = "completed";
  run.conclusion = result.conclusion;
  run.updatedAt = now(state);
  workflowRunEvent(state, repo, run, "completed");
  releaseGroup(state, repo, run);
  return run;
}
