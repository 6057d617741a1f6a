/**
 * The batch reducer: `(state, event) → (state, effects)` for one tracking issue's batch of tickets.
 * Pure: time comes from events, run ids from `ctx`. The planner (parse/schedule) decides what may start;
 * this module keeps the batch's state, turns ticket outcomes into the next starts, and says what the shell
 * must do (create or look up ticket issues, link them, start or abort ticket runs, refresh the status comment).
 *
 * This file routes each event to the module of its concern:
 * - types.ts: the state, events, effects and context; views.ts: read-only views of a state;
 * - step.ts: one step's effects and their keys; ticket-issues.ts: the bodies of the issues the batch creates;
 * - create.ts: a batch from its task list; refinement.ts: raw tickets refined by the refine agent;
 * - progress.ts: linking, starting tickets, their runs' results, completion; commands.ts: replan, hold, abort.
 */
import { inline } from "../render.js";
import { abort, hold, replan, unhold } from "./commands.js";
import { runUpdate, ticketIssueEvent } from "./progress.js";
import {
  refineDeadlineDue,
  refineQueued,
  refineStarted,
  ticketRefined,
  ticketRefineFailed,
} from "./refinement.js";
import { STRATEGIES, type Strategy } from "./schedule.js";
import { Step } from "./step.js";
import {
  BATCH_ACTOR,
  type BatchContext,
  type BatchEvent,
  type BatchOutput,
  type BatchState,
} from "./types.js";

export type {
  BatchContext,
  BatchEffect,
  BatchEvent,
  BatchOutput,
  BatchState,
  BatchStatus,
  BatchTicket,
  RefineSettings,
  TicketRefinement,
  TicketStatus,
} from "./types.js";
export { BATCH_ACTOR, REFINE_TIMEOUT_MINUTES } from "./types.js";
export {
  batchCost,
  batchProgress,
  blockedTickets,
  isBatchTerminal,
  plannerTickets,
  storedStatus,
} from "./views.js";
export { createBatch, type CreateBatchInput, type CreateBatchOutcome } from "./create.js";
export { refineDeadline } from "./refinement.js";

// What a human sees in the status comment; when it changes, the comment is re-rendered.
const visible = (s: BatchState): string =>
  JSON.stringify([s.status, s.held, s.reason, s.strategy, s.parallel, s.tickets]);

/**
 * While refinements trickle in, each ticket issue's creation would rewrite the status comment on its own (the issues'
 * "Part of #N" back-links already show in the tracking issue's timeline): it is rewritten once per `refine.parallel`
 * issues, and at activation.
 */
function quietCreation(s: BatchState, event: BatchEvent): boolean {
  if (event.type !== "ticket_issue" || !s.refine || s.status !== "creating") return false;
  const known = s.tickets.filter((t) => t.issueId !== undefined).length;
  return known % s.refine.parallel !== 0;
}

/** Never throws: an event that does not apply leaves the state as it was. */
export function reduceBatch(state: BatchState, event: BatchEvent, ctx: BatchContext): BatchOutput {
  const next = structuredClone(state);
  const step = new Step(next, event.at, ctx);
  try {
    switch (event.type) {
      case "ticket_issue":
        ticketIssueEvent(step, event);
        break;
      case "run_update":
        runUpdate(step, event);
        break;
      case "replan":
        replan(step, event);
        break;
      case "hold":
        hold(step, event);
        break;
      case "unhold":
        unhold(step, event);
        break;
      case "abort":
        abort(step, event);
        break;
      case "refresh":
        step.status();
        break;
      case "ticket_refined":
        ticketRefined(step, event);
        break;
      case "ticket_refine_failed":
        ticketRefineFailed(step, event);
        break;
      case "refine_queued":
        refineQueued(step, event);
        break;
      case "refine_started":
        refineStarted(step, event);
        break;
      case "refine_deadline":
        refineDeadlineDue(step, event);
        break;
    }
  } catch (error) {
    const fallback = new Step(structuredClone(state), event.at, ctx);
    fallback.audit(BATCH_ACTOR, "batch_reducer_error", {
      event: event.type,
      message: error instanceof Error ? error.message : String(error),
    });
    fallback.state.seq = fallback.seq + 1;
    return { state: fallback.state, effects: fallback.effects };
  }
  const changed = visible(next) !== visible(state);
  // A refinement's outcome is followed at once by its issue's creation, whose step renders the comment: one write.
  // A refine attempt's run being named or started is bookkeeping: the comment shows "refining" either way.
  const quiet =
    event.type === "ticket_refined" ||
    event.type === "ticket_refine_failed" ||
    event.type === "refine_deadline" ||
    event.type === "refine_queued" ||
    event.type === "refine_started" ||
    quietCreation(next, event);
  if (changed && !quiet && !step.effects.some((x) => x.type === "batch_status")) step.status();
  if (step.effects.length === 0 && !changed) return { state, effects: [] };
  next.seq = step.seq + 1;
  next.updatedAt = Math.max(state.updatedAt, event.at);
  return { state: next, effects: step.effects };
}

// ---------------------------------------------------------------------------------------------
// Helpers for the shell

export function isStrategy(s: string): s is Strategy {
  return (STRATEGIES as readonly string[]).includes(s);
}

/** The refusal reply for a task list that cannot become a batch. */
export function refusalBody(errors: readonly string[]): string {
  return [
    "Trellis can't start this batch; nothing was created. Fix the task list and label the issue again:",
    "",
    ...errors.map((e) => `- ${inline(e, 500)}`),
  ].join("\n");
}
