/** Read-only views of a batch's state, for the reducer, the status comment and the shell. */
import type { Ticket } from "./parse.js";
import { blockedBy } from "./schedule.js";
import type { BatchState, BatchTicket, TicketStatus } from "./types.js";

export const isBatchTerminal = (s: BatchState): boolean =>
  s.status === "succeeded" || s.status === "failed" || s.status === "aborted";

/** The status stored in the batches table: terminal states win over a hold. */
export const storedStatus = (s: BatchState): string => (s.held && !isBatchTerminal(s) ? "held" : s.status);

/** The tickets as the planner sees them (a checked box is done). */
export function plannerTickets(state: BatchState): Ticket[] {
  return state.tickets.map((t) => ({
    key: t.key,
    ref: t.ref,
    kind: t.kind,
    title: t.title,
    deps: t.deps,
    estimate: t.estimate,
    done: t.checked,
    line: t.line,
  }));
}

export function batchProgress(state: BatchState): { running: string[]; done: string[]; failed: string[] } {
  const of = (s: TicketStatus) => state.tickets.filter((t) => t.status === s).map((t) => t.key);
  return { running: of("running"), done: of("done"), failed: of("failed") };
}

/** Tickets that can never start because something they (transitively) depend on failed. */
export function blockedTickets(state: BatchState): Map<string, string[]> {
  return blockedBy(plannerTickets(state), batchProgress(state).failed);
}

export const batchCost = (s: BatchState): number =>
  s.tickets.reduce((sum, t) => sum + t.costUsd + (t.refine?.costUsd ?? 0), 0);

/** Whether a ticket needs an issue before the batch can run: every reference, and raw text still to do (and so
 * becomes a sub-issue of the tracking issue: parse.ts `becomesSubIssue`, the same rule). */
export const needsIssue = (t: BatchTicket): boolean => t.kind === "issue" || !t.checked;
