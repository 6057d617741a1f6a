/**
 * The imperative shell of batches: applies batch decisions and ticket-run changes through the pure batch
 * reducer (src/core/batch/machine.ts) in the caller's transaction, starts and aborts ticket runs there too,
 * and carries out the batch's GitHub effects (ticket issues, sub-issues and "blocked by" links, the
 * tracking issue's status comment), feeding their outcomes back as batch events.
 */
import { admitRefineDispatch } from "../core/admission.js";
import { decideBatchAction } from "../core/batch/batch-action.js";
import {
  reduceBatch,
  storedStatus,
  type BatchEffect,
  type BatchEvent,
  type BatchState,
} from "../core/batch/machine.js";
import { refineAttemptOf, refineRunEvent } from "../core/batch/refine-outcome.js";
import { ticketRunUpdate } from "../core/batch/run-view.js";
import { renderBatchStatus } from "../core/batch/render.js";
import { ticketWorkflow, workflowFromLabels } from "../core/batch/ticket-workflow.js";
import { REFINE_PROFILE, type Definitions } from "../core/definitions.js";
import { refineDispatchSpec } from "../core/dispatch-spec.js";
import type { RunState } from "../core/model.js";
import type { AgentResult } from "../core/result.js";
import { shortHash } from "../core/short-hash.js";
import type { Decision } from "../core/triggers.js";
import { createRun, isTerminal } from "../core/workflow/machine.js";
import type { WorkflowRunEvent } from "../handlers/events.js";
import { statusOf, type GitHub } from "../github/client.js";
import { upsertMarkedComment } from "../github/comments.js";
import { addBlockedBy, addSubIssue, createIssue, getIssue } from "../github/issues.js";
import { batchStatusMarker, ticketMarker } from "../github/markers.js";
import { defaultBranch } from "../github/repos.js";
import {
  findBatchByTrackingIssue,
  getBatch,
  insertBatch,
  saveBatch,
  upsertTickets,
} from "../store/batches.js";
import { recordCost } from "../store/costs.js";
import { getRun } from "../store/runs.js";
import { batchAggregate, batchSideAggregate, repoAggregate, trackingIssueAggregate } from "./aggregates.js";
import { rememberContent } from "./board.js";
import { definitionsOf } from "./definitions.js";
import { budgetFacts, sendDispatch } from "./dispatch.js";
import { profilePermissions, reduceAndStore, startRun } from "./runs.js";
import {
  newId,
  repoName,
  type AppDeps,
  type DecisionScope,
  type EffectContext,
  type ShellEffect,
  type Target,
} from "./runtime.js";
import { enqueue, runCommand, type UnitOfWork } from "./unit-of-work.js";

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

type BatchDecision = Extract<Decision, { kind: "batch" }>;

/** Where a batch change is applied, and the definitions when the caller has them (else loaded when needed). */
interface BatchScope {
  target: Target;
  defs?: Definitions;
}

/** Applies a batch decision (label, command, closed issue) in the caller's transaction. */
export async function applyBatchDecision(
  uow: UnitOfWork,
  scope: DecisionScope,
  d: BatchDecision,
): Promise<void> {
  const { deps, tx, pending } = uow;
  const { target, defs, actor, event } = scope;
  const at = deps.now();
  const t: Target = { ...target, issue: d.issue };
  const found = await findBatchByTrackingIssue<BatchState>(tx, target.repo, d.issue);
  const stored = found ? await getBatch<BatchState>(tx, found.id, { forUpdate: true }) : undefined;
  const issue = event && "issue" in event ? event.issue : undefined;
  const outcome = decideBatchAction(
    {
      action: d.action,
      repo: target.repo,
      trackingIssue: d.issue,
      ...(stored ? { batch: stored.state } : {}),
      ...(issue ? { issue } : {}),
      defs,
      actor,
      at,
    },
    { newBatchId: () => newId("bat"), newAttemptId: () => newId("att") },
  );
  switch (outcome.kind) {
    case "nothing":
      return;
    case "reply":
      enqueue(pending, trackingIssueAggregate(target.repo, d.issue), t, {
        type: "reply",
        key: `batch-reply:${repoName(target.repo)}#${d.issue}:${at}:${shortHash(outcome.body)}`,
        body: outcome.body,
      });
      if (outcome.audit) pending.audit.push({ repo: repoName(target.repo), actor, ...outcome.audit });
      return;
    case "created": {
      const state = outcome.state;
      await insertBatch(tx, {
        id: state.id,
        repo: repoName(target.repo),
        trackingIssue: d.issue,
        strategy: state.strategy,
        parallel: state.parallel,
        status: storedStatus(state),
        state,
      });
      await applyOutput(uow, { target: t, defs }, state, outcome.effects);
      return;
    }
    case "event":
      if (stored) await reduceAndApply(uow, { target: t, defs }, stored.state, outcome.event);
      return;
  }
}

async function reduceAndApply(
  uow: UnitOfWork,
  scope: BatchScope,
  state: BatchState,
  event: BatchEvent,
): Promise<void> {
  const out = reduceBatch(state, event, { newRunId: () => newId("run"), newAttemptId: () => newId("att") });
  if (out.state === state) return;
  await applyOutput(uow, scope, out.state, out.effects);
}

/** Saves the batch, applies its in-transaction effects, queues the rest, and updates the tickets table. */
async function applyOutput(
  uow: UnitOfWork,
  scope: BatchScope,
  state: BatchState,
  effects: BatchEffect[],
): Promise<void> {
  const { deps, tx, pending } = uow;
  await saveBatch(tx, {
    id: state.id,
    status: storedStatus(state),
    state,
    strategy: state.strategy,
    parallel: state.parallel,
  });
  const t: Target = { ...scope.target, issue: state.trackingIssue, batchId: state.id };
  const { batchId: _, ...runTarget } = t;
  const repo = repoName(state.repo);
  for (const effect of effects) {
    switch (effect.type) {
      case "audit":
        pending.audit.push({ repo, actor: effect.actor, action: effect.action, detail: effect.detail });
        break;
      case "start_ticket": {
        const loaded = scope.defs ?? (await definitionsOf(deps, t));
        const at = deps.now();
        const run = createRun({
          id: effect.runId,
          repo: state.repo,
          issue: effect.issue,
          issueTitle: effect.title,
          workflow: ticketWorkflow(loaded, effect.workflow),
          costCapUsd: loaded.config.budgets.per_run_usd,
          batch: state.trackingIssue,
          at,
          permissions: profilePermissions(loaded),
        });
        // The batch caused this change: it does not hear of it again.
        await startRun(uow, {
          target: { ...runTarget, issue: effect.issue },
          run,
          actor: "trellis",
          at,
          detail: { workflow: run.workflow.name, batch: state.id, ticket: effect.ticket },
          batchId: state.id,
        });
        break;
      }
      case "abort_ticket": {
        const stored = await getRun(tx, effect.runId, { forUpdate: true });
        if (!stored || isTerminal(stored.state)) break;
        await reduceAndStore(uow, {
          target: { ...runTarget, issue: stored.state.issue },
          state: stored.state,
          event: { type: "abort", at: deps.now(), actor: "trellis", reason: effect.reason },
        });
        break;
      }
      case "batch_refine_deadline":
        // An aggregate of its own: a row that waits must not hold back the batch's other effects.
        enqueue(pending, batchSideAggregate(state.id, effect.key), t, effect, new Date(effect.at));
        break;
      case "cancel_workflow_run":
        // Carried out like a stage attempt's (effects.ts); its own aggregate, so no batch effect holds it back.
        enqueue(pending, batchSideAggregate(state.id, effect.key), t, effect);
        break;
      default:
        enqueue(pending, batchAggregate(state.id), t, effect);
    }
  }
  await upsertTickets(
    tx,
    state.id,
    state.tickets.map((tk) => ({
      key: tk.key,
      title: tk.title,
      issue: tk.issue ?? null,
      runId: tk.runId ?? null,
      status: tk.status,
      dependsOn: tk.deps,
    })),
  );
}

/**
 * Called for every change of a run (in the run's transaction, under the repository lock): when the run is
 * a batch ticket and what the tracking issue shows of it changed, the batch reducer hears of it — a
 * finished ticket lets the next ones start.
 */
export async function batchRunChanged(
  uow: UnitOfWork,
  target: Target,
  before: RunState,
  after: RunState,
): Promise<void> {
  if (after.batch === undefined) return;
  const update = ticketRunUpdate(before, after, uow.deps.now());
  if (!update) return;
  const found = await findBatchByTrackingIssue<BatchState>(uow.tx, after.repo, after.batch);
  if (!found) return;
  const stored = await getBatch<BatchState>(uow.tx, found.id, { forUpdate: true });
  if (!stored) return;
  await reduceAndApply(uow, { target: { ...target, issue: after.batch } }, stored.state, update);
}

/** Feeds an effect's outcome back into a batch in its own transaction. */
export async function applyBatchEvent(
  deps: AppDeps,
  target: Target,
  batchId: string,
  event: BatchEvent,
): Promise<void> {
  await runCommand(deps, repoAggregate(target.repo), async (uow) => {
    const stored = await getBatch<BatchState>(uow.tx, batchId, { forUpdate: true });
    if (!stored) return;
    await reduceAndApply(uow, { target }, stored.state, event);
  });
}

// ---------------------------------------------------------------------------------------------
// Executors

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
      let found: { number: number; id: number; title?: string; labels: string[] };
      if (effect.create) {
        const created = await createIssue(
          octokit,
          target.repo,
          { ...effect.create, marker: ticketMarker(state.id, ticket.key) },
          { login: deps.self.slug ? `${deps.self.slug}[bot]` : undefined, appId: deps.self.id },
        );
        found = { number: created.number, id: created.id, labels: [] };
        rememberContent(deps, target.repo, created.number, { id: created.nodeId, kind: "issue" });
      } else {
        const issue = await getIssue(octokit, target.repo, ticket.issue ?? 0);
        rememberContent(deps, target.repo, issue.number, { id: issue.nodeId, kind: "issue" });
        found = { number: issue.number, id: issue.id, title: issue.title, labels: issue.labels };
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
        { login: deps.self.slug ? `${deps.self.slug}[bot]` : undefined, appId: deps.self.id },
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
  // GitHub named the attempt's Actions run: the batch keeps its id (to cancel it if the attempt is abandoned).
  if (outcome.runId !== undefined)
    await applyBatchEvent(deps, target, state.id, {
      type: "refine_queued",
      at: deps.now(),
      ticket: effect.ticket,
      attemptId: effect.attemptId,
      workflowRunId: outcome.runId,
    });
}

/**
 * A `workflow_run` event whose attempt is not a run's: when it is a batch ticket's refine attempt (the run name
 * carries the tracking issue), the core says what it means for the batch (refine-outcome.ts), applied in the
 * caller's transaction; a completed attempt's cost is charged first. Returns whether the event was a refine
 * attempt's.
 */
export async function applyRefineRun(
  uow: UnitOfWork,
  scope: { target: Target; defs: Definitions },
  event: WorkflowRunEvent,
  result: { ok: true; result: AgentResult } | { ok: false; error: string } | undefined,
): Promise<boolean> {
  const { deps, tx } = uow;
  const { target, defs } = scope;
  const refine = refineAttemptOf(event, defs.config.agent_workflow);
  if (!refine) return false;
  const { attemptId, trackingIssue: issue } = refine;
  const found = await findBatchByTrackingIssue<BatchState>(tx, event.repo, issue);
  if (!found) return false;
  const stored = await getBatch<BatchState>(tx, found.id, { forUpdate: true });
  const ticket = stored?.state.tickets.find((t) => t.refine?.attemptId === attemptId);
  if (!stored || !ticket) return false;
  const at = deps.now();
  if (event.action === "completed" && result?.ok) {
    const r = result.result;
    await recordCost(tx, {
      attemptId,
      runId: stored.id,
      repo: repoName(event.repo),
      usd: r.costUsd,
      inputTokens: r.tokens.input,
      outputTokens: r.tokens.output,
      at: new Date(at),
    });
    deps.metrics.inc("trellis_cost_usd_total", {}, r.costUsd);
  }
  const outcome = refineRunEvent({
    event,
    ticket: ticket.key,
    attemptId,
    ...(result ? { result } : {}),
    labels: defs.config.labels,
    at,
  });
  await reduceAndApply(uow, { target: { ...target, issue }, defs }, stored.state, outcome);
  return true;
}
