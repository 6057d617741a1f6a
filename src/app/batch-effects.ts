/**
 * The batch's GitHub effects, carried out by the worker: ticket issues (created, or read when the ticket is an
 * issue already), sub-issues and "blocked by" links, the tracking issue's status comment, and the refine agent's
 * dispatch. Their outcomes go back into the batch as events (batch.ts `applyBatchEvent`).
 */
import { admitRefineDispatch } from "../core/admission.js";
import type { BatchEffect, BatchState } from "../core/batch/machine.js";
import { renderBatchStatus } from "../core/batch/render.js";
import { workflowFromLabels } from "../core/batch/ticket-workflow.js";
import { REFINE_PROFILE } from "../core/definitions.js";
import { refineDispatchSpec } from "../core/dispatch-spec.js";
import { statusOf, type GitHub } from "../github/client.js";
import { upsertMarkedComment } from "../github/comments.js";
import { addBlockedBy, addSubIssue, createIssue, getIssue, type IssueSummary } from "../github/issues.js";
import { batchStatusMarker, ticketMarker } from "../core/markers.js";
import { defaultBranch } from "../github/repos.js";
import { getBatch } from "../store/batches.js";
import { applyBatchEvent } from "./batch.js";
import { rememberContent } from "./board.js";
import { definitionsOf } from "./definitions.js";
import { budgetFacts, sendDispatch } from "./dispatch.js";
import { selfIdentity, type AppDeps, type EffectContext, type ShellEffect, type Target } from "./runtime.js";

/** Batch effects the worker carries out (the others are applied in the reducer's transaction). */
export type BatchShellEffect = Extract<
  BatchEffect,
  { type: "batch_issue" | "batch_link" | "batch_status" | "batch_refine" | "batch_refine_deadline" }
>;

export const isBatchShellEffect = (e: ShellEffect): e is BatchShellEffect =>
  e.type === "batch_issue" ||
  e.type === "batch_link" ||
  e.type === "batch_status" ||
  e.type === "batch_refine" ||
  e.type === "batch_refine_deadline";

export async function executeBatchEffect(
  deps: AppDeps,
  octokit: GitHub,
  target: Target,
  effect: BatchShellEffect,
): Promise<void> {
  const batch = target.batchId ? await getBatch<BatchState>(deps.db, target.batchId) : undefined;
  if (!batch) {
    deps.log.warn({ effect: effect.key }, "effect for a batch that no longer exists; skipped");
    return;
  }
  const state = batch.state;
  switch (effect.type) {
    case "batch_issue": {
      const ticket = state.tickets.find((t) => t.key === effect.ticket);
      if (!ticket) return;
      const defs = await definitionsOf(deps, target);
      let found: {
        number: number;
        id: number;
        title?: string;
        labels: string[];
        author?: IssueSummary["author"];
      };
      if (effect.create) {
        const created = await createIssue(
          octokit,
          target.repo,
          { ...effect.create, marker: ticketMarker(state.id, ticket.key) },
          selfIdentity(deps),
        );
        found = { number: created.number, id: created.id, labels: [] };
        rememberContent(deps, target.repo, created.number, { id: created.nodeId, kind: "issue" });
      } else {
        const issue = await getIssue(octokit, target.repo, ticket.issue ?? 0);
        rememberContent(deps, target.repo, issue.number, { id: issue.nodeId, kind: "issue" });
        found = {
          number: issue.number,
          id: issue.id,
          title: issue.title,
          labels: issue.labels,
          author: issue.author,
        };
      }
      const workflow = workflowFromLabels(found.labels, defs);
      await applyBatchEvent(deps, target, state.id, {
        type: "ticket_issue",
        at: deps.now(),
        ticket: ticket.key,
        issue: found.number,
        issueId: found.id,
        ...(found.title ? { title: found.title } : {}),
        ...(workflow ? { workflow } : {}),
        ...(found.author ? { author: found.author } : {}),
      });
      return;
    }
    case "batch_link": {
      // An issue can have one parent only; one already placed elsewhere stays there (not worth failing for).
      await tolerate(deps, effect.key, () =>
        addSubIssue(octokit, target.repo, state.trackingIssue, effect.issue.id),
      );
      for (const blocker of effect.blockedBy)
        await tolerate(deps, effect.key, () =>
          addBlockedBy(octokit, target.repo, effect.issue.number, blocker.id),
        );
      return;
    }
    case "batch_refine":
      return dispatchRefine({ deps, octokit, target }, state, effect);
    case "batch_refine_deadline":
      // Claimed when its time came on the App's clock (the outbox's due times are the App's). The reducer decides:
      // nothing when the attempt has answered since, or its run started and the timeout from that start is later.
      return applyBatchEvent(deps, target, state.id, {
        type: "refine_deadline",
        at: deps.now(),
        ticket: effect.ticket,
        attemptId: effect.attemptId,
      });
    case "batch_status":
      // A later step asked again and will render the same (latest) state: one comment write, not many.
      if (state.statusSeq !== undefined && effect.seq < state.statusSeq) return;
      await upsertMarkedComment(
        octokit,
        target.repo,
        state.trackingIssue,
        batchStatusMarker(state.id),
        renderBatchStatus(state, { marker: batchStatusMarker(state.id), now: deps.now() }),
        selfIdentity(deps),
      );
      return;
  }
}

/** GitHub's 422 (already linked elsewhere, limits reached) is logged, not retried. */
async function tolerate(deps: AppDeps, key: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (statusOf(error) !== 422) throw error;
    deps.log.warn({ effect: key, err: String(error) }, "GitHub refused a batch link; left as it is");
  }
}

// ---------------------------------------------------------------------------------------------
// Refinement: the refine profile dispatched for a raw ticket, its result routed back to the batch

type RefineEffect = Extract<BatchEffect, { type: "batch_refine" }>;

/** Only 4xx answers other than rate limits are final; the rest the worker retries. */
const isRefusal = (status: number | undefined): boolean =>
  status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 403;

/**
 * Dispatches the refine profile for one raw ticket, like a stage's dispatch (same workflow, inputs and budget check)
 * but with the ticket as the task and the tracking issue as the issue. Whatever stops it (no profile, dry run, budget,
 * GitHub refusing) falls back to creating the ticket as written.
 */
async function dispatchRefine(ctx: EffectContext, state: BatchState, effect: RefineEffect): Promise<void> {
  const { deps, octokit, target } = ctx;
  const ticket = state.tickets.find((t) => t.key === effect.ticket);
  // Already answered (a retry of this effect after the result came back), or superseded.
  if (ticket?.refine?.status !== "running" || ticket.refine.attemptId !== effect.attemptId) return;
  const refine = ticket.refine;
  const fail = (reason: string): Promise<void> =>
    applyBatchEvent(deps, target, state.id, {
      type: "ticket_refine_failed",
      at: deps.now(),
      ticket: effect.ticket,
      attemptId: effect.attemptId,
      reason,
    });
  const defs = await definitionsOf(deps, target);
  const admission = admitRefineDispatch({
    budget: await budgetFacts(deps, defs, target, { costUsd: 0, capUsd: defs.config.budgets.per_run_usd }),
    hasRefineProfile: defs.profiles.has(REFINE_PROFILE),
    refineProfile: REFINE_PROFILE,
    dryRun: defs.config.dry_run,
  });
  if (admission.kind === "fail") return fail(admission.reason);
  const spec = refineDispatchSpec(state, { ...ticket, refine }, effect, defs, {
    repo: target.repo,
    baseRef: await defaultBranch(octokit, target.repo),
    remainingUsd: admission.remainingUsd,
  });
  let outcome: Awaited<ReturnType<typeof sendDispatch>>;
  try {
    outcome = await sendDispatch(ctx, defs, spec);
  } catch (error) {
    if (!isRefusal(statusOf(error))) throw error;
    return fail(`GitHub refused the dispatch (HTTP ${statusOf(error)})`);
  }
  // The batch keeps the budget the attempt was granted (its result is charged at most that) and, when GitHub named
  // it, its Actions run (to cancel it if the attempt is abandoned).
  await applyBatchEvent(deps, target, state.id, {
    type: "refine_queued",
    at: deps.now(),
    ticket: effect.ticket,
    attemptId: effect.attemptId,
    costCapUsd: spec.costCapUsd,
    ...(outcome.runId !== undefined ? { workflowRunId: outcome.runId } : {}),
  });
}
