/**
 * Carries one effect out against GitHub. Every executor is idempotent (stable keys, hidden markers,
 * lookups before creates), so a retry after a crash or a transient failure never duplicates anything.
 * Outcomes GitHub tells us (a PR number, a refused dispatch) go back into the run as events.
 */
import { admitStageDispatch } from "../core/admission.js";
import type { Definitions } from "../core/definitions.js";
import { stageDispatchSpec } from "../core/dispatch-spec.js";
import type { Effect, RunState } from "../core/model.js";
import { annotationsFor, renderCheckRunSummary, renderStatusComment } from "../core/render.js";
import { checkRunKey } from "../core/triggers.js";
import { defaultBranch, defaultBranchSha } from "../github/repos.js";
import { checkRunName, upsertCheckRun } from "../github/check-runs.js";
import { addReaction, reply, upsertMarkedComment } from "../github/comments.js";
import type { GitHub } from "../github/client.js";
import { cancelWorkflowRun, findDispatchedRun } from "../github/dispatch.js";
import { replyMarker, statusMarker } from "../core/markers.js";
import { openPullRequest } from "../github/pull-requests.js";
import { inFlightAttemptsByProfile } from "../store/attempts.js";
import { getRun } from "../store/runs.js";
import { budgetShare, reservedUsd } from "../core/workflow/views.js";
import { issueAggregate, repoAggregate } from "./aggregates.js";
import { executeBatchEffect, isBatchShellEffect } from "./batch-effects.js";
import { executeBoardEffect, rememberContent } from "./board.js";
import { commitProposal } from "./proposals.js";
import { applyRunEvent } from "./decisions.js";
import { definitionsOf } from "./definitions.js";
import { budgetFacts, sendDispatch } from "./dispatch.js";
import {
  selfIdentity,
  type AppDeps,
  type EffectContext,
  type EffectRetry,
  type ShellEffect,
  type Target,
} from "./runtime.js";
import { enqueue, runCommand } from "./unit-of-work.js";

/** Thrown to put an effect back for later without counting it as a failure (e.g. no capacity now). */
export class Deferred extends Error {
  constructor(
    readonly delayMs: number,
    why: string,
  ) {
    super(why);
    this.name = "Deferred";
  }
}

export async function executeEffect(
  deps: AppDeps,
  target: Target,
  effect: ShellEffect,
  retry?: EffectRetry,
): Promise<void> {
  const octokit = await deps.github(target.installationId);
  if (isBatchShellEffect(effect)) return executeBatchEffect(deps, octokit, target, effect);
  switch (effect.type) {
    case "reply":
      await reply(octokit, target.repo, target.issue, effect.body, {
        marker: replyMarker(effect.key),
        self: selfIdentity(deps),
        ...(retry ? { retrySince: retry.since } : {}),
      });
      return;
    case "reaction":
      await addReaction(octokit, target.repo, effect.commentId, effect.content);
      return;
    case "tick":
      if (target.runId) await applyRunEvent(deps, target, target.runId, { type: "tick", at: deps.now() });
      return;
    case "audit":
      return; // written in the reducer's transaction
    case "board":
      return executeBoardEffect(deps, octokit, target);
    case "cancel_workflow_run":
      await cancelWorkflowRun(octokit, target.repo, effect.workflowRunId);
      return;
    default:
      break;
  }
  const run = target.runId ? (await getRun(deps.db, target.runId))?.state : undefined;
  if (!run) {
    deps.log.warn({ effect: effect.key }, "effect for a run that no longer exists; skipped");
    return;
  }
  switch (effect.type) {
    case "dispatch":
      return dispatch({ deps, octokit, target, ...(retry ? { retry } : {}) }, run, effect);
    case "check_run":
      return checkRun(octokit, target, run, effect);
    case "commit_proposal":
      return commitProposal({ deps, octokit, target }, run, effect);
    case "status_comment":
      await upsertMarkedComment(
        octokit,
        target.repo,
        run.issue,
        statusMarker(run.id),
        renderStatusComment(run, { marker: statusMarker(run.id) }),
        selfIdentity(deps),
      );
      return;
    case "open_pr": {
      const base = await defaultBranch(octokit, target.repo);
      const pr = await openPullRequest(octokit, target.repo, {
        head: effect.branch,
        base,
        title: effect.title,
        body: `Trellis opened this pull request for stage \`${effect.stage}\` of run \`${run.id}\`.`,
        issue: run.issue,
        runId: run.id,
      });
      rememberContent(deps, target.repo, pr.number, { id: pr.nodeId, kind: "pull_request" });
      await applyRunEvent(deps, target, run.id, {
        type: "pr_opened",
        at: deps.now(),
        stage: effect.stage,
        prNumber: pr.number,
        nodeId: pr.nodeId,
      });
      return;
    }
  }
}

/** A stage's dispatch: the core admits it (budget, capacity, dry run) on the facts loaded here, then GitHub is asked. */
async function dispatch(
  ctx: EffectContext,
  run: RunState,
  effect: Extract<Effect, { type: "dispatch" }>,
): Promise<void> {
  const { deps, octokit, target } = ctx;
  const defs: Definitions = await definitionsOf(deps, target);
  const profile = defs.profiles.get(effect.profile);
  const admission = admitStageDispatch({
    budget: await budgetFacts(deps, defs, target, {
      costUsd: run.costUsd,
      capUsd: run.costCapUsd,
      reservedUsd: reservedUsd(run),
    }),
    share: budgetShare(run, effect.stage, effect.attemptId),
    stage: effect.stage,
    profile: effect.profile,
    // Only attempts GitHub has already been asked to run count; this one's own row is still running.
    inFlight: (await inFlightAttemptsByProfile(deps.db, target.installationId))[effect.profile] ?? 0,
    ...(profile ? { maxParallel: profile.maxParallel } : {}),
    dryRun: defs.config.dry_run,
    agentWorkflow: defs.config.agent_workflow,
  });
  switch (admission.kind) {
    case "refuse":
      await applyRunEvent(deps, target, run.id, {
        type: "dispatch_refused",
        at: deps.now(),
        attemptId: effect.attemptId,
        reason: admission.reason,
      });
      return;
    case "defer":
      throw new Deferred(admission.delayMs, admission.why);
    case "reply": {
      // Dry run: the answer is an effect of its own, stored and then posted like any reply (once, by its key).
      const { runId: _, ...onIssue } = { ...target, issue: run.issue };
      await runCommand(deps, repoAggregate(target.repo), async ({ pending }) =>
        enqueue(pending, issueAggregate(onIssue), onIssue, {
          type: "reply",
          key: `dry-run:${run.id}:${effect.attemptId}`,
          body: admission.body,
        }),
      );
      return;
    }
    case "dispatch":
      break;
  }
  const spec = stageDispatchSpec(run, effect, {
    repo: target.repo,
    baseRef: await defaultBranch(octokit, target.repo),
    remainingUsd: admission.remainingUsd,
  });
  // A retry: the earlier try may have started the run before its answer was lost. Start it once.
  const earlier = ctx.retry
    ? await findDispatchedRun(octokit, target.repo, {
        workflowFile: defs.config.agent_workflow,
        attemptId: effect.attemptId,
        since: ctx.retry.since,
      })
    : undefined;
  if (earlier) {
    await applyRunEvent(deps, target, run.id, {
      type: "attempt_queued",
      at: deps.now(),
      attemptId: effect.attemptId,
      costCapUsd: spec.costCapUsd,
      workflowRunId: earlier.runId,
    });
    return;
  }
  const outcome = await sendDispatch(ctx, defs, spec);
  // The attempt keeps the budget it was granted (its result is charged at most that) and, when GitHub named it, its
  // Actions run (to cancel it if the attempt is abandoned).
  await applyRunEvent(deps, target, run.id, {
    type: "attempt_queued",
    at: deps.now(),
    attemptId: effect.attemptId,
    costCapUsd: spec.costCapUsd,
    ...(outcome.runId !== undefined ? { workflowRunId: outcome.runId } : {}),
  });
}

async function checkRun(
  octokit: GitHub,
  target: Target,
  run: RunState,
  effect: Extract<Effect, { type: "check_run" }>,
): Promise<void> {
  const stage = run.stages[effect.stage];
  const attempt = stage?.attempts.find((a) => a.id === effect.attemptId);
  const base = await stageBaseSha(octokit, target, run.id, effect.stage);
  let output = { title: effect.title, summary: effect.summary } as {
    title: string;
    summary: string;
    text?: string;
    annotations?: NonNullable<NonNullable<typeof attempt>["result"]>["annotations"];
  };
  if (effect.status === "completed" && stage && attempt?.result) {
    const def = run.workflow.stages.find((s) => s.id === stage.id);
    const rendered = renderCheckRunSummary(stage, attempt, def ? { def } : {});
    // Failing tests and scenarios become annotations too; the executor sends them 50 per request.
    output = { ...rendered, title: effect.title, annotations: annotationsFor(attempt.result).flat() };
  }
  const fields = {
    name: checkRunName(effect.stage),
    externalId: checkRunKey(run.id, effect.stage),
    status: effect.status,
    ...(effect.conclusion ? { conclusion: effect.conclusion } : {}),
    ...(effect.detailsUrl ? { detailsUrl: effect.detailsUrl } : {}),
    output,
  };
  await upsertCheckRun(octokit, target.repo, { ...fields, headSha: base });
  // The finished result also goes on the App's commit of the agent's work, where the pull request shows it.
  const head = attempt?.commit?.headSha;
  if (effect.status === "completed" && head && head !== base)
    await upsertCheckRun(octokit, target.repo, { ...fields, headSha: head });
}

/**
 * The default branch's sha a stage's check run sits on, looked up once per run + stage and then remembered per
 * Octokit (one per installation): it saves a branch lookup per check-run update, and keeps queued → in progress →
 * completed on one check run even when other tickets' merges move the branch meanwhile. After a restart the lookup
 * happens again (the external-id search then finds or creates the check run on that sha).
 */
const baseShas = new WeakMap<object, Map<string, string>>();
const MAX_REMEMBERED_SHAS = 10_000;

export async function stageBaseSha(
  octokit: GitHub,
  target: Target,
  runId: string,
  stage: string,
): Promise<string> {
  let memo = baseShas.get(octokit);
  if (!memo) baseShas.set(octokit, (memo = new Map()));
  const key = `${target.repo.owner}/${target.repo.name}\n${runId}\n${stage}`.toLowerCase();
  const known = memo.get(key);
  if (known) return known;
  const sha = await defaultBranchSha(octokit, target.repo);
  // Oldest first out: runs that long finished are the ones forgotten.
  if (memo.size >= MAX_REMEMBERED_SHAS) memo.delete(memo.keys().next().value ?? "");
  memo.set(key, sha);
  return sha;
}
