/**
 * The run reducer: `(state, event) → (state, effects)` for one workflow on one issue.
 * Pure: time comes from events, ids from `ctx`. It never throws; an event that does not apply leaves the
 * stages untouched and, when a human sent it, answers with a `reply` explaining why.
 *
 * This module routes each event to its handler, settles the run, and adds the effects every change carries: the
 * status comment, the board card, the audit trail. The concerns live in modules that import only from lower rows:
 *   handlers   create, attempts, tick, approvals, commands, pull-requests; settle (after every event)
 *   mechanics  commit-gates (between a proposal and the App's commit: detection, then a human's approval);
 *              reviews; then detection; then failure, success; then dispatching, cancellation; then deadlines
 *   base       command-guards, step (the working copy and its effects), views (read-only questions)
 */
import type { BoardColumn, Effect, RunEvent, RunState } from "../model.js";
import { onApprove, onReject } from "./approvals.js";
import {
  onAttemptFinished,
  onAttemptLost,
  onAttemptQueued,
  onAttemptStarted,
  onDispatchRefused,
  onProposalCommitted,
  onProposalRefused,
} from "./attempts.js";
import { onAnswer, onAbort, onAssign, onHold, onRetry, onUnhold } from "./commands.js";
import { onStart } from "./create.js";
import { onClosedByMerge, onPrClosed, onPrMerged, onPrOpened } from "./pull-requests.js";
import { settle } from "./settle.js";
import { Step, SYSTEM_ACTOR, type Handler, type ReduceContext } from "./step.js";
import { onTick } from "./tick.js";
import { boardColumn, currentStage, isTerminal } from "./views.js";

export { createRun, type CreateRunInput } from "./create.js";
export { attemptDeadline, nextWake, NOT_STARTED_LIMIT_MS } from "./deadlines.js";
export { isStagePr } from "./pull-requests.js";
export { SYSTEM_ACTOR, type ReduceContext } from "./step.js";
export {
  attemptCharge,
  boardColumn,
  chargedUsd,
  currentStage,
  isTerminal,
  stageForAttempt,
} from "./views.js";

export interface ReduceOutput {
  state: RunState;
  effects: Effect[];
}

const HANDLERS: { [K in RunEvent["type"]]: Handler<K> } = {
  start: onStart,
  attempt_queued: onAttemptQueued,
  attempt_started: onAttemptStarted,
  attempt_finished: onAttemptFinished,
  attempt_lost: onAttemptLost,
  tick: onTick,
  approve: onApprove,
  reject: onReject,
  answer: onAnswer,
  hold: onHold,
  unhold: onUnhold,
  abort: onAbort,
  retry: onRetry,
  assign: onAssign,
  pr_opened: onPrOpened,
  pr_merged: onPrMerged,
  pr_closed: onPrClosed,
  closed_by_merge: onClosedByMerge,
  dispatch_refused: onDispatchRefused,
  proposal_committed: onProposalCommitted,
  proposal_refused: onProposalRefused,
};

// What a human sees in the status comment; when it changes, the comment is re-rendered.
// (Which Actions run executes an attempt, and what budget it was granted, are bookkeeping: learning them re-renders
// nothing.)
const BOOKKEEPING = new Set(["workflowRunId", "costCapUsd"]);
const visible = (run: RunState): string =>
  JSON.stringify([run.status, run.reason, run.costUsd, run.stages], (key, value: unknown) =>
    BOOKKEEPING.has(key) ? undefined : value,
  );

export function reduceRun(state: RunState, event: RunEvent, ctx: ReduceContext): ReduceOutput {
  let run: RunState;
  try {
    run = structuredClone(state);
  } catch {
    return { state, effects: [] };
  }
  const step = new Step(run, event.at, ctx);
  try {
    const handler = HANDLERS[event.type] as Handler<RunEvent["type"]> | undefined;
    if (!handler) return { state, effects: [] };
    handler(step, event);
    settle(step);
  } catch (error) {
    // A bug must not wedge the pipeline: keep the old state and leave a trace in the audit log.
    const fallback = new Step(structuredClone(state), event.at, ctx);
    fallback.audit(SYSTEM_ACTOR, "reducer_error", {
      event: event.type,
      message: error instanceof Error ? error.message : String(error),
    });
    return { state: { ...fallback.run, seq: fallback.seq }, effects: fallback.effects };
  }
  const effects = step.effects;
  const changed = visible(run) !== visible(state);
  if (changed) {
    effects.push({ type: "status_comment", key: `status:${run.id}:${step.seq}` });
    // The card moves with the run, and its Stage/Agent/Cost fields follow the current stage.
    const card = boardCard(run);
    if (JSON.stringify(card) !== JSON.stringify(boardCard(state)))
      effects.push({ type: "board", key: `board:${run.id}:${step.seq}`, ...card });
  }
  // A human whose command changed nothing still leaves a trace in the audit log.
  // (Merges and closes of PRs that are not this run's are none of its business.)
  if (
    "actor" in event &&
    event.type !== "pr_merged" &&
    event.type !== "pr_closed" &&
    !effects.some((e) => e.type === "audit" && e.actor === event.actor)
  ) {
    const reply = effects.find((e) => e.type === "reply");
    step.audit(
      event.actor,
      `${event.type}_ignored`,
      reply?.type === "reply" ? { reply: reply.body.slice(0, 500) } : {},
    );
  }
  if (effects.length === 0 && !changed && !step.bookkept) return { state, effects };
  run.seq = step.seq;
  run.updatedAt = Math.max(state.updatedAt, event.at);
  return { state: run, effects };
}

function boardCard(run: RunState): { column: BoardColumn; stage?: string; agent?: string; costUsd: number } {
  const current = isTerminal(run) ? undefined : currentStage(run);
  return {
    column: boardColumn(run),
    ...(current ? { stage: current.id, agent: current.profile } : {}),
    costUsd: run.costUsd,
  };
}
