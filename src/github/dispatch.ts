import type { DispatchInputs } from "../core/dispatch.js";
import type { GitHub, Repo } from "./client.js";
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
  repo: Repo,
  request: DispatchRequest,
): Promise<DispatchOutcome> {
  // Defence in depth: pull request refs may carry a fork's code, and agents run with the App's secrets.
  if (/^(refs\/)?pull\//.test(request.ref))
    throw new Error(
      `refusing to dispatch on pull request ref "${request.ref}": agents never run a fork's code`,
    );
  const response = await octokit.request(
    "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
    {
      ...repoParams(repo),
      workflow_id: request.workflowFile,
      ref: request.ref,
      inputs: { ...request.inputs },
      ...(request.returnRunDetails ? { return_run_details: true } : {}),
    },
  );
  const data = response.data as { workflow_run_id?: number; run_url?: string; html_url?: string } | undefined;
  if (!data || typeof data !== "object") return {};
  return {
    ...(data.workflow_run_id !== undefined ? { runId: data.workflow_run_id } : {}),
    ...(data.run_url ? { runUrl: data.run_url } : {}),
    ...(data.html_url ? { htmlUrl: data.html_url } : {}),
  };
}
