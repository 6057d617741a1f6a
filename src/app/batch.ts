/**
 * The imperative shell of batches: applies batch decisions, ticket-run changes and effect outcomes through the
 * core (src/core/batch: `decideBatchAction`, the batch reducer, the refine-run outcome) in the caller's
 * transaction, starts and aborts ticket runs there too, and queues the batch's effects (carried out in
 * batch-effects.ts).
 */
import { decideBatchAction } from "../core/batch/batch-action.js";
import {
  reduceBatch,
  storedStatus,
  type BatchEffect,
  type BatchEvent,
  type BatchState,
} from "../core/batch/machine.js";
import { refineAttemptOf, refineGrantUsd, refineRunEvent } from "../core/batch/refine-outcome.js";
import { ticketRunUpdate } from "../core/batch/run-view.js";
import { ticketOutsiderText, ticketWorkflow } from "../core/batch/ticket-workflow.js";
import type { Definitions } from "../core/definitions.js";
import type { RunState } from "../core/model.js";
import type { AgentResult } from "../core/result.js";
import { shortHash } from "../core/short-hash.js";
import type { Decision } from "../core/triggers.js";
import { createRun, isTerminal } from "../core/workflow/machine.js";
import type { WorkflowRunEvent } from "../handlers/events.js";
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
import { definitionsOf } from "./definitions.js";
import { profilePermissions, reduceAndStore, startRun } from "./runs.js";
import { newId, repoName, type AppDeps, type DecisionScope, type Target } from "./runtime.js";
import { enqueue, runCommand, type UnitOfWork } from "./unit-of-work.js";

type BatchDecision = Extract<Decision, { kind: "batch" }>;

const withOutsiderText = (why: string | undefined): { outsiderText?: string } =>
  why !== undefined ? { outsiderText: why } : {};

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
          ...withOutsiderText(ticketOutsiderText(loaded.config.prompt, state, effect.ticket)),
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

/**
 * A `workflow_run` event whose attempt is not a run's: when it is a batch ticket's refine attempt (the run name
 * carries the tracking issue), the core says what it means for the batch (refine-outcome.ts), applied in the
 * caller's transaction; a completed attempt's cost is charged as the core capped it. Returns whether the event was a refine
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
  const outcome = refineRunEvent({
    event,
    ticket: ticket.key,
    attemptId,
    ...(result ? { result } : {}),
    labels: defs.config.labels,
    grantedUsd: refineGrantUsd(ticket.refine, defs.config.budgets.per_run_usd),
    at,
  });
  if (event.action === "completed" && result?.ok) {
    const r = result.result;
    // What the core charged (the claim capped by the attempt's grant), never the job's claim as such.
    const usd = "costUsd" in outcome ? (outcome.costUsd ?? 0) : 0;
    await recordCost(tx, {
      attemptId,
      runId: stored.id,
      repo: repoName(event.repo),
      usd,
      inputTokens: r.tokens.input,
      outputTokens: r.tokens.output,
      at: new Date(at),
    });
    deps.metrics.inc("trellis_cost_usd_total", {}, usd);
  }
  await reduceAndApply(uow, { target: { ...target, issue }, defs }, stored.state, outcome);
  return true;
}
