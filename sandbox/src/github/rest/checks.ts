import type { Annotation, Repository } from "../state.js";
import { fullName, now } from "../state.js";
import { SandboxError } from "../errors.js";
import { checkRunCompleted, createCheckRun } from "../mutations.js";
import { checkRunJson } from "../shapes.js";
import type { Ctx } from "./routing.js";
import { invalid, json, listRoute, oneOf, page, repoOf, route, str } from "./routing.js";
import { longerThan, MAX_ANNOTATIONS_PER_REQUEST, MAX_CHECK_OUTPUT_CHARS } from "./limits.js";

// Check runs

const CHECK_STATUS = ["queued", "in_progress", "completed", "waiting", "requested", "pending"] as const;
const CONCLUSIONS = [
  "action_required",
  "cancelled",
  "failure",
  "neutral",
  "success",
  "skipped",
  "stale",
  "timed_out",
] as const;

function checkOutput(ctx: Ctx) {
  const o = ctx.body["output"];
  if (o === undefined) return undefined;
  if (typeof o !== "object" || o === null) throw invalid("CheckRun", "output");
  const out = o as Record<string, unknown>;
  if (typeof out["title"] !== "string" || typeof out["summary"] !== "string")
    throw invalid("CheckRun", "output", "missing_field", "output requires title and summary");
  if (longerThan(out["summary"], MAX_CHECK_OUTPUT_CHARS))
    throw invalid(
      "CheckRun",
      "output.summary",
      "custom",
      `summary is too long (maximum is ${MAX_CHECK_OUTPUT_CHARS} characters)`,
    );
  if (typeof out["text"] === "string" && longerThan(out["text"], MAX_CHECK_OUTPUT_CHARS))
    throw invalid(
      "CheckRun",
      "output.text",
      "custom",
      `text is too long (maximum is ${MAX_CHECK_OUTPUT_CHARS} characters)`,
    );
  const annotations = (out["annotations"] ?? []) as Record<string, unknown>[];
  if (!Array.isArray(annotations)) throw invalid("CheckRun", "output.annotations");
  if (annotations.length > MAX_ANNOTATIONS_PER_REQUEST)
    throw invalid(
      "CheckRun",
      "output.annotations",
      "custom",
      `Only ${MAX_ANNOTATIONS_PER_REQUEST} annotations are allowed per request`,
    );
  for (const a of annotations)
    if (
      typeof a["path"] !== "string" ||
      typeof a["start_line"] !== "number" ||
      typeof a["end_line"] !== "number" ||
      !["notice", "warning", "failure"].includes(String(a["annotation_level"])) ||
      typeof a["message"] !== "string"
    )
      throw invalid(
        "CheckRun",
        "output.annotations",
        "invalid",
        "annotations need path, start_line, end_line, annotation_level and message",
      );
  return {
    title: out["title"],
    summary: out["summary"],
    text: typeof out["text"] === "string" ? out["text"] : null,
    annotations: annotations as unknown as Annotation[],
  };
}

route("POST /repos/{owner}/{repo}/check-runs", async (ctx) => {
  const repo = repoOf(ctx);
  if (ctx.actor.kind !== "installation")
    throw new SandboxError(403, "You must authenticate via a GitHub App.");
  const name = str(ctx, "name", "CheckRun", true) ?? "";
  const headSha = str(ctx, "head_sha", "CheckRun", true) ?? "";
  const sha = await repo.backend.resolve(headSha);
  if (!sha || sha !== headSha)
    throw invalid("CheckRun", "head_sha", "invalid", "No commit found for SHA: " + headSha);
  const conclusion = oneOf(ctx, "conclusion", "CheckRun", CONCLUSIONS) ?? null;
  const status = conclusion ? "completed" : (oneOf(ctx, "status", "CheckRun", CHECK_STATUS) ?? "queued");
  if (status === "completed" && !conclusion) throw invalid("CheckRun", "conclusion", "missing_field");
  const output = checkOutput(ctx);
  const run = createCheckRun(ctx.state, repo, {
    name,
    headSha,
    externalId: str(ctx, "external_id", "CheckRun") ?? null,
    status,
    conclusion,
    detailsUrl: str(ctx, "details_url", "CheckRun") ?? null,
    output: { title: output?.title ?? null, summary: output?.summary ?? null, text: output?.text ?? null },
    annotations: output?.annotations ?? [],
    ...(str(ctx, "started_at", "CheckRun") ? { startedAt: str(ctx, "started_at", "CheckRun") } : {}),
  });
  return json(201, checkRunJson(ctx.state, repo, run));
});

function checkRunOf(ctx: Ctx, repo: Repository) {
  const run = repo.checkRuns.get(Number(ctx.params["check_run_id"]));
  if (!run) throw new SandboxError(404, "Not Found");
  return run;
}

route("GET /repos/{owner}/{repo}/check-runs/{check_run_id}", (ctx) => {
  const repo = repoOf(ctx);
  return json(200, checkRunJson(ctx.state, repo, checkRunOf(ctx, repo)));
});

route("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", (ctx) => {
  const repo = repoOf(ctx);
  if (ctx.actor.kind !== "installation")
    throw new SandboxError(403, "You must authenticate via a GitHub App.");
  const run = checkRunOf(ctx, repo);
  const wasCompleted = run.status === "completed";
  const name = str(ctx, "name", "CheckRun");
  if (name) run.name = name;
  const details = str(ctx, "details_url", "CheckRun");
  if (details) run.detailsUrl = details;
  const externalId = str(ctx, "external_id", "CheckRun");
  if (externalId !== undefined) run.externalId = externalId;
  const conclusion = oneOf(ctx, "conclusion", "CheckRun", CONCLUSIONS);
  const status = conclusion ? "completed" : oneOf(ctx, "status", "CheckRun", CHECK_STATUS);
  if (status === "completed" && !conclusion && !run.conclusion)
    throw invalid("CheckRun", "conclusion", "missing_field");
  if (status) run.status = status;
  if (conclusion) run.conclusion = conclusion;
  if (run.status === "completed" && !run.completedAt) run.completedAt = now(ctx.state);
  const output = checkOutput(ctx);
  if (output) {
    run.output = { title: output.title, summary: output.summary, text: output.text ?? run.output.text };
    run.annotations.push(...output.annotations); // GitHub appends annotations on update
  }
  if (!wasCompleted && run.status === "completed") checkRunCompleted(ctx.state, repo, run);
  return json(200, checkRunJson(ctx.state, repo, run));
});

listRoute("GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", (ctx) => {
  const repo = repoOf(ctx);
  const run = checkRunOf(ctx, repo);
  return page(
    ctx,
    run.annotations.map((a) => ({
      path: a.path,
      start_line: a.start_line,
      end_line: a.end_line,
      start_column: a.start_column ?? null,
      end_column: a.end_column ?? null,
      annotation_level: a.annotation_level,
      title: a.title ?? null,
      message: a.message,
      raw_details: a.raw_details ?? null,
      blob_href: `${ctx.state.htmlBase}/${fullName(repo)}/blob/${run.headSha}/${a.path}`,
    })),
  );
});

listRoute("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", async (ctx) => {
  const repo = repoOf(ctx);
  const sha = await repo.backend.resolve(ctx.params["ref"] ?? "");
  if (!sha) throw new SandboxError(422, `No commit found for SHA: ${ctx.params["ref"]}`);
  const name = ctx.query.get("check_name");
  const status = ctx.query.get("status");
  const all = [...repo.checkRuns.values()]
    .filter((r) => r.headSha === sha && (!name || r.name === name) && (!status || r.status === status))
    .sort((a, b) => b.id - a.id);
  // filter=latest (the default) keeps the newest run of each name.
  const runs =
    ctx.query.get("filter") === "all"
      ? all
      : all.filter((r, i) => all.findIndex((x) => x.name === r.name) === i);
  return page(
    ctx,
    runs.map((r) => checkRunJson(ctx.state, repo, r)),
    (slice) => ({ total_count: runs.length, check_runs: slice }),
  );
});
