import type { Artifact, CheckRun, GitHubState, Repository, Workflow, WorkflowRun } from "../state.js";
import { nodeId } from "./node-ids.js";
import { appJson, githubActionsAppJson, userJson } from "./accounts.js";
import { minimalRepoJson, repoApi, repoHtml } from "./repos.js";

/** Check runs, workflows, workflow runs and artifacts as GitHub shows them. */

export function checkRunJson(state: GitHubState, r: Repository, c: CheckRun): Record<string, unknown> {
  return {
    id: c.id,
    node_id: nodeId("CR", c.id),
    head_sha: c.headSha,
    external_id: c.externalId ?? "",
    url: `${repoApi(state, r)}/check-runs/${c.id}`,
    html_url: `${repoHtml(state, r)}/runs/${c.id}`,
    details_url: c.detailsUrl ?? `${repoHtml(state, r)}/runs/${c.id}`,
    status: c.status,
    conclusion: c.conclusion,
    started_at: c.startedAt,
    completed_at: c.completedAt,
    output: {
      title: c.output.title,
      summary: c.output.summary,
      text: c.output.text,
      annotations_count: c.annotations.length,
      annotations_url: `${repoApi(state, r)}/check-runs/${c.id}/annotations`,
    },
    name: c.name,
    check_suite: {
      id: c.checkSuiteId ?? c.id + 500_000,
      node_id: nodeId("CS", c.checkSuiteId ?? c.id + 500_000),
      head_branch: null,
      head_sha: c.headSha,
      status: c.status,
      conclusion: c.conclusion,
      url: `${repoApi(state, r)}/check-suites/${c.checkSuiteId ?? c.id + 500_000}`,
      before: null,
      after: null,
      pull_requests: [],
      app: c.appId === state.app.id ? appJson(state) : githubActionsAppJson(state),
      created_at: c.startedAt ?? r.createdAt,
      updated_at: c.completedAt ?? c.startedAt ?? r.createdAt,
    },
    app: c.appId === state.app.id ? appJson(state) : githubActionsAppJson(state),
    pull_requests: [],
  };
}

export function workflowJson(state: GitHubState, r: Repository, w: Workflow): Record<string, unknown> {
  return {
    id: w.id,
    node_id: nodeId("W", w.id),
    name: w.name,
    path: w.path,
    state: "active",
    created_at: r.createdAt,
    updated_at: r.createdAt,
    url: `${repoApi(state, r)}/actions/workflows/${w.id}`,
    html_url: `${repoHtml(state, r)}/blob/${r.defaultBranch}/${w.path}`,
    badge_url: `${repoHtml(state, r)}/workflows/${encodeURIComponent(w.name)}/badge.svg`,
  };
}

export function workflowRunJson(
  state: GitHubState,
  r: Repository,
  run: WorkflowRun,
): Record<string, unknown> {
  const w = r.workflows.get(run.workflowId);
  const api = `${repoApi(state, r)}/actions/runs/${run.id}`;
  return {
    id: run.id,
    name: w?.name ?? "workflow",
    node_id: nodeId("WFR", run.id),
    head_branch: run.headBranch,
    head_sha: run.headSha,
    path: w?.path ?? "",
    display_title: run.displayTitle,
    run_number: run.runNumber,
    run_attempt: 1,
    event: run.event,
    status: run.status,
    conclusion: run.conclusion,
    workflow_id: run.workflowId,
    check_suite_id: run.checkSuiteId ?? run.id + 700_000,
    check_suite_node_id: nodeId("CS", run.checkSuiteId ?? run.id + 700_000),
    check_suite_url: `${repoApi(state, r)}/check-suites/${run.checkSuiteId ?? run.id + 700_000}`,
    previous_attempt_url: null,
    url: api,
    html_url: `${repoHtml(state, r)}/actions/runs/${run.id}`,
    pull_requests: [],
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    run_started_at: run.startedAt ?? run.createdAt,
    actor: userJson(state, run.actor),
    triggering_actor: userJson(state, run.actor),
    jobs_url: `${api}/jobs`,
    logs_url: `${api}/logs`,
    artifacts_url: `${api}/artifacts`,
    cancel_url: `${api}/cancel`,
    rerun_url: `${api}/rerun`,
    workflow_url: `${repoApi(state, r)}/actions/workflows/${run.workflowId}`,
    head_commit: {
      id: run.headSha,
      tree_id: run.headSha,
      message: "",
      timestamp: run.createdAt,
      author: { name: r.owner, email: `${r.owner}@users.noreply.github.com` },
      committer: { name: "GitHub", email: "noreply@github.com" },
    },
    repository: minimalRepoJson(state, r),
    head_repository: minimalRepoJson(state, r),
  };
}

export function artifactJson(
  state: GitHubState,
  r: Repository,
  a: Artifact,
  run: WorkflowRun | undefined,
): Record<string, unknown> {
  const url = `${repoApi(state, r)}/actions/artifacts/${a.id}`;
  return {
    id: a.id,
    node_id: nodeId("MDg6QXJ0aWZhY3Q", a.id),
    name: a.name,
    size_in_bytes: a.bytes.byteLength,
    url,
    archive_download_url: `${url}/zip`,
    expired: a.expired,
    created_at: a.createdAt,
    updated_at: a.createdAt,
    expires_at: a.createdAt.replace(/^(\d{4})/, (y) => String(Number(y) + 1)),
    digest: null,
    workflow_run: run
      ? {
          id: run.id,
          repository_id: r.id,
          head_repository_id: r.id,
          head_branch: run.headBranch,
          head_sha: run.headSha,
        }
      : null,
  };
}
