/**
 * Refinement of raw tickets by the refine agent before their issues are created: dispatching attempts (at most
 * `refine.parallel` at once), their deadlines, their Actions runs, and their outcomes. A refinement that gives
 * nothing creates the ticket as written.
 */
import { NOT_STARTED_LIMIT_MS } from "../workflow/machine.js";
import type { Step } from "./step.js";
import { refinedIssue, ticketIssue } from "./ticket-issues.js";
import {
  BATCH_ACTOR,
  REFINE_TIMEOUT_MINUTES,
  type BatchEvent,
  type BatchState,
  type BatchTicket,
  type TicketRefinement,
} from "./types.js";
import { isBatchTerminal } from "./views.js";

/** Dispatches the refine agent for waiting raw tickets, at most `refine.parallel` at once. */
export function startRefines(step: Step): void {
  const s = step.state;
  if (!s.refine || isBatchTerminal(s)) return;
  let running = s.tickets.filter((t) => t.refine?.status === "running").length;
  for (const t of s.tickets) {
    if (running >= s.refine.parallel) return;
    if (t.refine?.status !== "waiting") continue;
    const attemptId = step.ctx.newAttemptId?.();
    if (!attemptId) {
      // No way to name an attempt: create the ticket as written rather than wait forever.
      refineFailed(step, t, "no attempt id for the refine agent");
      continue;
    }
    t.refine.status = "running";
    t.refine.attemptId = attemptId;
    t.refine.attempts += 1;
    t.refine.dispatchedAt = step.at;
    running += 1;
    step.effects.push({
      type: "batch_refine",
      key: `batch:${s.id}:refine:${t.key}:${attemptId}`,
      ticket: t.key,
      attemptId,
      text: t.title || t.ref,
    });
    // Until its run starts, only the not-started allowance applies; the start schedules the timeout.
    step.effects.push({
      type: "batch_refine_deadline",
      key: `batch:${s.id}:refine-deadline:${t.key}:${attemptId}`,
      ticket: t.key,
      attemptId,
      at: step.at + NOT_STARTED_LIMIT_MS,
    });
  }
}

const refineTimeoutMs = (s: BatchState): number =>
  Math.max(1, s.refine?.timeoutMinutes ?? REFINE_TIMEOUT_MINUTES) * 60_000;

/**
 * When an open refine attempt has taken too long: the refine timeout counted from its Actions run's start, or, while
 * the run has not started (waiting for a runner), the not-started allowance counted from the dispatch — the same rule
 * as a stage's attempt (workflow/machine.ts `attemptDeadline`). Undefined for an attempt stored before either was
 * kept: its deadline row was scheduled for the timeout from the dispatch, so that row coming due is the deadline.
 */
export function refineDeadline(s: BatchState, r: TicketRefinement): number | undefined {
  if (r.startedAt !== undefined) return r.startedAt + refineTimeoutMs(s);
  if (r.dispatchedAt !== undefined) return r.dispatchedAt + NOT_STARTED_LIMIT_MS;
  return undefined;
}

/** An abandoned refine attempt must not go on working (and spending): GitHub is asked to cancel its Actions run. */
export function cancelRefineRun(step: Step, t: BatchTicket): void {
  const r = t.refine;
  if (!r?.abandoned || r.workflowRunId === undefined || !r.attemptId) return;
  step.effects.push({
    type: "cancel_workflow_run",
    key: `batch:${step.state.id}:cancel:${t.key}:${r.attemptId}`,
    ticket: t.key,
    attemptId: r.attemptId,
    workflowRunId: r.workflowRunId,
  });
}

/** The ticket whose refine attempt (current or past) this is, whatever its state or the batch's. */
const refineAttempt = (s: BatchState, ticket: string, attemptId: string): BatchTicket | undefined =>
  s.tickets.find((x) => x.key === ticket && x.refine?.attemptId === attemptId);

/** Records the attempt's Actions run the first time GitHub names it; an attempt already abandoned has it cancelled. */
function learnRefineRun(step: Step, t: BatchTicket, workflowRunId: number | undefined): void {
  if (workflowRunId === undefined || !t.refine || t.refine.workflowRunId !== undefined) return;
  t.refine.workflowRunId = workflowRunId;
  cancelRefineRun(step, t);
}

export function refineQueued(step: Step, e: Extract<BatchEvent, { type: "refine_queued" }>): void {
  const t = refineAttempt(step.state, e.ticket, e.attemptId);
  if (!t?.refine) return;
  // The dispatch's grant, kept once: the attempt's result is charged at most this (refine-outcome.ts).
  if (e.costCapUsd !== undefined && t.refine.costCapUsd === undefined && Number.isFinite(e.costCapUsd))
    t.refine.costCapUsd = Math.max(0, e.costCapUsd);
  learnRefineRun(step, t, e.workflowRunId);
}

/** A refine attempt's claim above its grant was charged only the grant: the audit log says so. */
function auditCostCap(
  step: Step,
  t: BatchTicket,
  e: { attemptId: string; costUsd?: number; claimedUsd?: number },
): void {
  if (e.claimedUsd === undefined) return;
  step.audit(BATCH_ACTOR, "refine_cost_capped", {
    ticket: t.key,
    attemptId: e.attemptId,
    claimedUsd: e.claimedUsd,
    chargedUsd: e.costUsd ?? 0,
  });
}

export function refineStarted(step: Step, e: Extract<BatchEvent, { type: "refine_started" }>): void {
  const t = refineAttempt(step.state, e.ticket, e.attemptId);
  if (!t?.refine) return;
  learnRefineRun(step, t, e.workflowRunId);
  if (t.refine.startedAt !== undefined || refining(step, e.ticket, e.attemptId) === undefined) return;
  t.refine.startedAt = e.at;
  // The timeout now counts from this start; the row scheduled at dispatch finds it not yet due and does nothing.
  step.effects.push({
    type: "batch_refine_deadline",
    key: `batch:${step.state.id}:refine-deadline:${t.key}:${e.attemptId}:started`,
    ticket: t.key,
    attemptId: e.attemptId,
    at: e.at + refineTimeoutMs(step.state),
  });
}

export function refineDeadlineDue(step: Step, e: Extract<BatchEvent, { type: "refine_deadline" }>): void {
  const t = refining(step, e.ticket, e.attemptId);
  if (!t?.refine) return;
  const deadline = refineDeadline(step.state, t.refine);
  if (deadline !== undefined && e.at < deadline) return;
  const reason =
    t.refine.startedAt !== undefined || deadline === undefined
      ? `the refine agent gave no result within ${refineTimeoutMs(step.state) / 60_000} minutes`
      : `its Actions run did not start within ${NOT_STARTED_LIMIT_MS / 60_000} minutes (no runner picked it up)`;
  t.refine.abandoned = true;
  cancelRefineRun(step, t);
  refineFailed(step, t, reason);
  startRefines(step);
}

/** The refinement gave nothing: the ticket's issue is created verbatim, saying why (nothing is lost). */
function refineFailed(step: Step, t: BatchTicket, reason: string): void {
  const s = step.state;
  t.refine = { ...(t.refine ?? { attempts: 0, costUsd: 0 }), status: "failed", reason };
  step.audit(BATCH_ACTOR, "ticket_refine_failed", { ticket: t.key, reason });
  step.effects.push({
    type: "batch_issue",
    key: `batch:${s.id}:issue:${t.key}`,
    ticket: t.key,
    create: ticketIssue(s, t, reason),
  });
}

/** The refine attempt this event answers, when it is the ticket's current one and still open. */
function refining(step: Step, ticket: string, attemptId: string): BatchTicket | undefined {
  const s = step.state;
  const t = s.tickets.find((x) => x.key === ticket);
  if (!t?.refine || t.refine.status !== "running" || t.refine.attemptId !== attemptId) return undefined;
  if (isBatchTerminal(s)) return undefined;
  return t;
}

export function ticketRefined(step: Step, e: Extract<BatchEvent, { type: "ticket_refined" }>): void {
  const t = refining(step, e.ticket, e.attemptId);
  if (!t?.refine) return;
  const s = step.state;
  t.refine.status = "done";
  t.refine.costUsd = e.costUsd;
  auditCostCap(step, t, e);
  t.refine.source = t.title;
  t.title = e.refined.title;
  if (e.refined.estimate !== undefined) t.estimate = e.refined.estimate;
  step.audit(BATCH_ACTOR, "ticket_refined", {
    ticket: t.key,
    attempt: e.attemptId,
    title: e.refined.title,
    estimate: t.estimate,
    labels: e.refined.labels,
    ...(e.notes && e.notes.length > 0 ? { notes: e.notes.slice(0, 20) } : {}),
  });
  step.effects.push({
    type: "batch_issue",
    key: `batch:${s.id}:issue:${t.key}`,
    ticket: t.key,
    create: refinedIssue(s, t, e.refined),
  });
  startRefines(step);
}

export function ticketRefineFailed(
  step: Step,
  e: Extract<BatchEvent, { type: "ticket_refine_failed" }>,
): void {
  const t = refining(step, e.ticket, e.attemptId);
  if (!t?.refine) return;
  if (e.costUsd !== undefined) t.refine.costUsd = e.costUsd;
  auditCostCap(step, t, e);
  refineFailed(step, t, e.reason);
  startRefines(step);
}
