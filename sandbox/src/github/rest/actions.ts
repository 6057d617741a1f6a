import type { GitHubState, Repository } from "../state.js";
import { fullName } from "../state.js";
import { SandboxError } from "../errors.js";
import { cancelWorkflowRun, dispatchWorkflow } from "../mutations.js";
import { artifactJson, workflowJson, workflowRunJson } from "../shapes.js";
import { workflowConcurrency } from "../concurrency.js";
import type { SandboxResponse } from "./routing.js";
import { invalid, json, listRoute, notFound, page, repoOf, route, str } from "./routing.js";

// Actions: workflows, dispatch, runs, artifacts

function workflowOf(repo: Repository, id: string) {
  for (const w of repo.workflows.values())
    if (String(w.id) === id || w.path === id || w.path.endsWith(`/${id}`)) return w;
  throw new SandboxError(404, "Not Found");
}

listRoute("GET /repos/{owner}/{repo}/actions/workflows", (ctx) => {
  const repo = repoOf(ctx);
  const list = [...repo.workflows.values()].map((w) => workflowJson(ctx.state, repo, w));
  return page(ctx, list, (slice) => ({ total_count: list.length, workflows: slice }));
});

route("GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}", (ctx) => {
  const repo = repoOf(ctx);
  return json(200, workflowJson(ctx.state, repo, workflowOf(repo, ctx.params["workflow_id"] ?? "")));
});

route("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", async (ctx) => {
  const repo = repoOf(ctx);
  const workflow = workflowOf(repo, ctx.params["workflow_id"] ?? "");
  const ref = str(ctx, "ref", "Workflow", true) ?? "";
  const sha = await repo.backend.resolve(ref);
  if (!sha) throw new SandboxError(422, `No ref found for: ${ref}`);
  const inputs = ctx.body["inputs"] ?? {};
  if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs))
    throw invalid("Workflow", "inputs");
  const entries = Object.entries(inputs as Record<string, unknown>);
  if (entries.length > 25)
    throw new SandboxError(422, "you may only define up to 25 `inputs` for a `workflow_dispatch` event");
  const values: Record<string, string> = {};
  for (const [k, v] of entries) values[k] = typeof v === "string" ? v : JSON.stringify(v);
  if (JSON.stringify(values).length > 65_535) throw new SandboxError(422, "inputs are too large");
  // The run uses the workflow file as it is at the dispatched ref, its `concurrency` key included.
  const file = await repo.backend.read(sha, workflow.path);
  const concurrency =
    file?.type === "file"
      ? workflowConcurrency(file.content.toString("utf8"), {
          inputs: values,
          github: {
            workflow: workflow.name,
            ref: ref.startsWith("refs/") ? ref : `refs/heads/${ref}`,
            ref_name: ref.replace(/^refs\/(heads|tags)\//, ""),
            repository: fullName(repo),
            repository_owner: repo.owner,
            event_name: "workflow_dispatch",
            actor: ctx.login,
            sha,
            event: { inputs: values },
          },
        })
      : undefined;
  const run = dispatchWorkflow(ctx.state, repo, workflow.id, {
    ref,
    sha,
    inputs: values,
    actor: ctx.login,
    ...(concurrency ? { concurrency } : {}),
  });
  if (ctx.body["return_run_details"] === true)
    return json(200, {
      workflow_run_id: run.id,
      run_url: `${ctx.state.apiBase}/repos/${fullName(repo)}/actions/runs/${run.id}`,
      html_url: `${ctx.state.htmlBase}/${fullName(repo)}/actions/runs/${run.id}`,
    });
  return { status: 204, headers: {}, body: undefined };
});

/**
 * GitHub Docs, "REST API endpoints for workflow runs" (List workflow runs for a repository / for a workflow): newest
 * first, filtered by `event`, `status` (a status or a conclusion), `head_sha` and `created` (a date with `>=`, `>`,
 * `<=`, `<`, or a `from..to` range: "Only searching for dates"), and for a workflow by its id or file name.
 */
function listRuns(ctx: Parameters<Parameters<typeof listRoute>[1]>[0], workflowId?: number) {
  const repo = repoOf(ctx);
  const status = ctx.query.get("status");
  const event = ctx.query.get("event");
  const headSha = ctx.query.get("head_sha");
  const created = createdFilter(ctx.query.get("created"));
  const list = [...repo.workflowRuns.values()]
    .filter(
      (r) =>
        (workflowId === undefined || r.workflowId === workflowId) &&
        (!status || r.status === status || r.conclusion === status) &&
        (!event || r.event === event) &&
        (!headSha || r.headSha === headSha) &&
        created(Date.parse(r.createdAt)),
    )
    .sort((a, b) => b.id - a.id)
    .map((r) => workflowRunJson(ctx.state, repo, r));
  return page(ctx, list, (slice) => ({ total_count: list.length, workflow_runs: slice }));
}

function createdFilter(query: string | null): (at: number) => boolean {
  if (!query) return () => true;
  const range = /^(.+)\.\.(.+)$/.exec(query);
  if (range) {
    const [from, to] = [Date.parse(range[1]!), Date.parse(range[2]!)];
    if (Number.isNaN(from) || Number.isNaN(to))
      throw invalid("WorkflowRun", "created", "invalid", "is not a date range");
    return (at) => at >= from && at <= to;
  }
  const m = /^(>=|<=|>|<)?(.+)$/.exec(query)!;
  const when = Date.parse(m[2]!);
  if (Number.isNaN(when)) throw invalid("WorkflowRun", "created", "invalid", "is not a date");
  switch (m[1]) {
    case ">=":
      return (at) => at >= when;
    case ">":
      return (at) => at > when;
    case "<=":
      return (at) => at <= when;
    case "<":
      return (at) => at < when;
    default:
      // A bare date is that day (UTC).
      return (at) => at >= when && at < when + 86_400_000;
  }
}

listRoute("GET /repos/{owner}/{repo}/actions/runs", (ctx) => listRuns(ctx));

listRoute("GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", (ctx) =>
  listRuns(ctx, workflowOf(repoOf(ctx), ctx.params["workflow_id"] ?? "").id),
);

route("GET /repos/{owner}/{repo}/actions/runs/{run_id}", (ctx) => {
  const repo = repoOf(ctx);
  const run = repo.workflowRuns.get(Number(ctx.params["run_id"]));
  return run ? json(200, workflowRunJson(ctx.state, repo, run)) : notFound();
});

route("POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel", (ctx) => {
  const repo = repoOf(ctx);
  cancelWorkflowRun(ctx.state, repo, Number(ctx.params["run_id"]));
  return json(202, {});
});

listRoute("GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts", (ctx) => {
  const repo = repoOf(ctx);
  const run = repo.workflowRuns.get(Number(ctx.params["run_id"]));
  if (!run) throw new SandboxError(404, "Not Found");
  const name = ctx.query.get("name");
  const list = run.artifacts.flatMap((id) => {
    const a = repo.artifacts.get(id);
    return a && (!name || a.name === name) ? [artifactJson(ctx.state, repo, a, run)] : [];
  });
  return page(ctx, list, (slice) => ({ total_count: list.length, artifacts: slice }));
});

route("GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}", (ctx) => {
  const repo = repoOf(ctx);
  const a = repo.artifacts.get(Number(ctx.params["artifact_id"]));
  if (!a) throw new SandboxError(404, "Not Found");
  const run = [...repo.workflowRuns.values()].find((r) => r.artifacts.includes(a.id));
  return json(200, artifactJson(ctx.state, repo, a, run));
});

// GitHub answers a download with a redirect to short-lived blob storage.
route("GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}", (ctx) => {
  const repo = repoOf(ctx);
  if (ctx.params["archive_format"] !== "zip") throw new SandboxError(404, "Not Found");
  const a = repo.artifacts.get(Number(ctx.params["artifact_id"]));
  if (!a) throw new SandboxError(404, "Not Found");
  if (a.expired) throw new SandboxError(410, "Artifact has expired");
  const root = ctx.base.replace(/\/api\/v3$/, "");
  return { status: 302, headers: { location: `${root}/_sandbox/artifacts/${a.id}.zip` }, body: undefined };
});

export function downloadBlob(state: GitHubState, id: number): SandboxResponse {
  for (const repo of state.repos.values()) {
    const a = repo.artifacts.get(id);
    if (a) return { status: 200, headers: { "content-type": "application/zip" }, body: a.bytes };
  }
  return { status: 404, headers: { "content-type": "text/plain" }, body: "BlobNotFound" };
}
