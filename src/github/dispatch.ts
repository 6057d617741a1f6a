import { attemptIdFromRunName, type DispatchInputs } from "../core/dispatch.js";
import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { repoParams } from "./client.js";

export interface DispatchRequest {
  /** The workflow file name (`trellis-agent.yml`) or its numeric id. */
  workflowFile: string | number;
  /** The branch or tag the workflow runs on (the default branch: never a fork's code). */
  ref: string;
  inputs: DispatchInputs;
  /** Ask GitHub to answer with the new run's id and URLs (github.com only). */
  returnRunDetails?: boolean;
}

export interface DispatchOutcome {
  runId?: number;
  runUrl?: string;
  htmlUrl?: string;
}

/** `workflow_dispatch` of the agent workflow. GitHub caps inputs at 25 keys; DispatchInputs has 5. */
export async function dispatchWorkflow(
  octokit: GitHub,
  repo: RepoRef,
  request: DispatchRequest,
): Promise<DispatchOutcome> {
  // Defence in depth: pull request refs may carry a fork's code, and agents run with the App's secrets.
  if (/^(refs\/)?pull\//.test(request.ref))
    throw new Error(
      `refusing to dispatch on pull request ref "${request.ref}": agents never run a fork's code`,
    );
  const send = (details: boolean) =>
    octokit.request("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", {
      ...repoParams(repo),
      workflow_id: request.workflowFile,
      ref: request.ref,
      inputs: { ...request.inputs },
      ...(details ? { return_run_details: true } : {}),
    });
  let response: Awaited<ReturnType<typeof send>>;
  try {
    response = await send(request.returnRunDetails === true);
  } catch (error) {
    // `return_run_details` is from February 2026 (https://github.blog/changelog/2026-02-19-workflow-dispatch-api-now-returns-run-ids);
    // a GitHub Enterprise Server without it refuses the parameter: dispatch without, the run is then named by its
    // workflow_run events.
    if (!request.returnRunDetails || !refusesRunDetails(error)) throw error;
    response = await send(false);
  }
  const data = response.data as { workflow_run_id?: number; run_url?: string; html_url?: string } | undefined;
  if (!data || typeof data !== "object") return {};
  return {
    ...(data.workflow_run_id !== undefined ? { runId: data.workflow_run_id } : {}),
    ...(data.run_url ? { runUrl: data.run_url } : {}),
    ...(data.html_url ? { htmlUrl: data.html_url } : {}),
  };
}

function refusesRunDetails(error: unknown): boolean {
  const e = error as { status?: number; message?: string } | undefined;
  return (e?.status === 400 || e?.status === 422) && /return_run_details/.test(e.message ?? "");
}

/**
 * Cancels an Actions run ("Cancel a workflow run", https://docs.github.com/rest/actions/workflow-runs#cancel-a-workflow-run).
 * GitHub answers 202; a run already completed answers 409, which is what we wanted anyway.
 */
export async function cancelWorkflowRun(
  octokit: GitHub,
  repo: RepoRef,
  runId: number,
): Promise<"cancelled" | "completed"> {
  try {
    await octokit.request("POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel", {
      ...repoParams(repo),
      run_id: runId,
    });
    return "cancelled";
  } catch (error) {
    if ((error as { status?: number }).status === 409) return "completed";
    throw error;
  }
}

/**
 * The Actions run an earlier try of this dispatch already started, found by the attempt id in its run name: a
 * dispatch retried after a crash or a lost answer must not start the same attempt twice (two agents, two bills).
 * Only the agent workflow's `workflow_dispatch` runs created since `since` are read (one page of 100, newest first).
 */
export async function findDispatchedRun(
  octokit: GitHub,
  repo: RepoRef,
  request: { workflowFile: string | number; attemptId: string; since: Date },
): Promise<{ runId: number; htmlUrl?: string } | undefined> {
  const { data } = await octokit.request("GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", {
    ...repoParams(repo),
    workflow_id: request.workflowFile,
    event: "workflow_dispatch",
    created: `>=${request.since.toISOString()}`,
    per_page: 100,
  });
  const run = data.workflow_runs.find((r) => attemptIdFromRunName(r.display_title) === request.attemptId);
  return run ? { runId: Number(run.id), ...(run.html_url ? { htmlUrl: run.html_url } : {}) } : undefined;
}

/**
 * Reads an Actions run ("Get a workflow run", https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run):
 * its status, conclusion and the fields a `workflow_run` webhook carries.
 */
export async function getWorkflowRun(octokit: GitHub, repo: RepoRef, runId: number) {
  const { data } = await octokit.request("GET /repos/{owner}/{repo}/actions/runs/{run_id}", {
    ...repoParams(repo),
    run_id: runId,
  });
  return data;
}

export type WorkflowRunData = Awaited<ReturnType<typeof getWorkflowRun>>;
