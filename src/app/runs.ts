/**
 * Runs in the caller's transaction: start one, or apply one event to one through the pure run reducer
 * (src/core/workflow), store the new state, and queue its effects, its audit entries, its cost and its next timer.
 */
import type { Definitions } from "../core/definitions.js";
import type { PermissionLevel, RunEvent, RunState } from "../core/model.js";
import { attemptCharge, nextWake, reduceRun } from "../core/workflow/machine.js";
import { recordCost } from "../store/costs.js";
import { insertRun, saveRun } from "../store/runs.js";
import { runAggregate, tickAggregate } from "./aggregates.js";
import { newId, repoName, type Target } from "./runtime.js";
import { enqueue, type UnitOfWork } from "./unit-of-work.js";

/** Hears of every change of a run; a batch hears of its tickets this way. */
export type RunChangeListener = (before: RunState, after: RunState) => Promise<void>;

export interface RunStep {
  target: Target;
  state: RunState;
  event: RunEvent;
  /** The run was just inserted: it is saved again only when the event changed it. */
  isNew?: boolean;
  /** Called when the event changed the run, after the save and before the run's effects are queued. */
  onChanged?: RunChangeListener;
}

/** Applies one event to a run in the caller's transaction and queues the resulting effects. */
export async function reduceAndStore(uow: UnitOfWork, step: RunStep): Promise<RunState> {
  const { deps, tx, pending } = uow;
  const { target, state, event } = step;
  const out = reduceRun(state, event, { newAttemptId: () => newId("att") });
  if (!step.isNew || out.state !== state) await saveRun(tx, out.state);
  // A batch ticket's change may let the next tickets start (not when the batch itself caused it).
  if (step.onChanged && out.state !== state) await step.onChanged(state, out.state);
  const t: Target = { ...target, runId: state.id };
  for (const effect of out.effects) {
    if (effect.type === "audit") {
      pending.audit.push({
        repo: repoName(state.repo),
        actor: effect.actor,
        action: effect.action,
        detail: effect.detail,
      });
      continue;
    }
    enqueue(pending, runAggregate(state.id), t, effect);
  }
  if (event.type === "attempt_finished") {
    const r = event.result;
    // What the run charged for the attempt (its claim capped by its grant), never the job's claim as such.
    const usd = attemptCharge(out.state, event.attemptId, r.costUsd);
    await recordCost(tx, {
      attemptId: event.attemptId,
      runId: state.id,
      repo: repoName(state.repo),
      usd,
      inputTokens: r.tokens.input,
      outputTokens: r.tokens.output,
      at: new Date(event.at),
    });
    deps.metrics.inc("trellis_stage_outcomes_total", { status: r.status });
    deps.metrics.inc("trellis_cost_usd_total", {}, usd);
  }
  const wake = nextWake(out.state);
  if (wake !== undefined)
    enqueue(
      pending,
      tickAggregate(state.id),
      t,
      { type: "tick", key: `tick:${state.id}:${wake}`, at: wake },
      new Date(wake),
    );
  return out.state;
}

export interface RunStart {
  /** The run's issue is the target's. */
  target: Target;
  /** A run just created (createRun), not stored yet. */
  run: RunState;
  actor: string;
  at: number;
  /** What the audit log says of the start besides the run's id. */
  detail: Record<string, unknown>;
  /** A batch ticket's run belongs to its batch. */
  batchId?: string;
  onChanged?: RunChangeListener;
}

/** Stores a new run, audits its start and applies its `start` event, in the caller's transaction. */
export async function startRun(uow: UnitOfWork, start: RunStart): Promise<RunState> {
  const { run, actor } = start;
  await insertRun(uow.tx, run, {
    ...(start.batchId !== undefined ? { batchId: start.batchId } : {}),
    ...(start.target.installationId !== undefined ? { installationId: start.target.installationId } : {}),
  });
  uow.pending.audit.push({
    repo: repoName(run.repo),
    actor,
    action: "run_started",
    detail: { run: run.id, ...start.detail },
  });
  return reduceAndStore(uow, {
    target: start.target,
    state: run,
    event: { type: "start", at: start.at, actor },
    isNew: true,
    ...(start.onChanged ? { onChanged: start.onChanged } : {}),
  });
}

/** Each profile's permission level, as a new run records them. */
export const profilePermissions = (defs: Definitions): Record<string, PermissionLevel> =>
  Object.fromEntries([...defs.profiles.values()].map((p) => [p.name, p.permission]));
