/**
 * The batch reducer: `(state, event) → (state, effects)` for one tracking issue's batch of tickets.
 * Pure: time comes from events, run ids from `ctx`. The planner (parse/schedule) decides what may start;
 * this module keeps the batch's state, turns ticket outcomes into the next starts, and says what the shell
 * must do (create or look up ticket issues, link them, start or abort ticket runs, refresh the status comment).
 */
import type { RunStatus } from "../model.js";
import { inline } from "../render.js";
import { NOT_STARTED_LIMIT_MS } from "../workflow/machine.js";
import {
  displayTicket,
  parseTaskList,
  subIssueLimitError,
  validateBatch,
  type IssueRef,
  type Ticket,
} from "./parse.js";
import type { RefinedTicket } from "./refined.js";
import { blockedBy, nextToStart, STRATEGIES, type Strategy } from "./schedule.js";

export type TicketStatus = "waiting" | "running" | "done" | "failed";

/** A raw ticket's refinement by the refine agent, before its issue is created. */
export interface TicketRefinement {
  status: "waiting" | "running" | "done" | "failed";
  /** The attempt dispatched for it (its id travels in the workflow run's name). */
  attemptId?: string;
  attempts: number;
  costUsd: number;
  /** Why it failed (the ticket was then created verbatim). */
  reason?: string;
  /** The ticket line as written, before the refined title replaced it. */
  source?: string;
  /** When the attempt was dispatched (the not-started allowance counts from here). */
  dispatchedAt?: number;
  /** When its Actions run started (`workflow_run.in_progress`): the refine timeout counts from here. */
  startedAt?: number;
  /** The attempt's Actions run, once GitHub names it (the dispatch's answer or a `workflow_run` event). */
  workflowRunId?: number;
  /** Closed by the App (deadline passed, batch aborted), not by its run's end: its Actions run is cancelled. */
  abandoned?: boolean;
}

export interface BatchTicket {
  key: string;
  /** As written: "#12", the bracket key, or for plain text the key "t<line>". */
  ref: string;
  kind: "issue" | "keyed" | "text";
  title: string;
  deps: string[];
  estimate: number;
  line: number;
  /** The box was checked in the task list: done from the start. */
  checked: boolean;
  /** The issue the ticket is (a reference) or became (raw text); set once known. */
  issue?: number;
  /** Its REST id (sub-issues and "blocked by" take it). */
  issueId?: number;
  /** The ticket issue's own `workflow:` template, when it has one the repository knows. */
  workflow?: string;
  status: TicketStatus;
  runId?: string;
  /** A view of the ticket's run, for the status comment. */
  stage?: string;
  agent?: string;
  prNumber?: number;
  check?: string;
  costUsd: number;
  startedAt?: number;
  finishedAt?: number;
  reason?: string;
  /** Set for raw tickets of a batch that refines them. */
  refine?: TicketRefinement;
}

export type BatchStatus = "creating" | "active" | "succeeded" | "failed" | "aborted";

export interface BatchState {
  id: string;
  repo: { owner: string; name: string };
  trackingIssue: number;
  title: string;
  status: BatchStatus;
  /** Paused by `/hold` or by removing the batch label: running tickets go on, nothing new starts. */
  held: boolean;
  strategy: Strategy;
  parallel: number;
  batchSize: number;
  tickets: BatchTicket[];
  createdAt: number;
  updatedAt: number;
  reason?: string;
  /** Count of reducer steps that emitted effects; effect keys derive from it so none repeats. */
  seq: number;
  /** The last step that asked for the status comment (older asks are coalesced into it). */
  statusSeq?: number;
  /** Raw tickets are refined by the refine profile first, at most `parallel` at once (its max_parallel). */
  refine?: RefineSettings;
}

export interface RefineSettings {
  parallel: number;
  /** An attempt with no outcome after this long counts as failed (the ticket is created as written). */
  timeoutMinutes?: number;
}

/** The refine attempt's limit when the batch does not say (the Action's own default for the refine profile). */
export const REFINE_TIMEOUT_MINUTES = 15;

export type BatchEvent =
  /** The ticket's issue was created (raw text) or looked up (a reference). */
  | {
      type: "ticket_issue";
      at: number;
      ticket: string;
      issue: number;
      issueId: number;
      title?: string;
      workflow?: string;
    }
  /** A ticket's run changed: its status and what a human would want to see of it. */
  | {
      type: "run_update";
      at: number;
      runId: string;
      status: RunStatus;
      stage?: string;
      agent?: string;
      prNumber?: number;
      check?: string;
      costUsd: number;
      reason?: string;
    }
  | { type: "replan"; at: number; actor: string; strategy?: Strategy; parallel?: number }
  | { type: "hold"; at: number; actor: string; reason?: string }
  | { type: "unhold"; at: number; actor: string }
  | { type: "abort"; at: number; actor: string; reason: string }
  /** `/status`: re-render the status comment. */
  | { type: "refresh"; at: number; actor: string }
  /** The refine agent wrote a readable refined.md for a raw ticket (parsed by parseRefined). */
  | {
      type: "ticket_refined";
      at: number;
      ticket: string;
      attemptId: string;
      refined: RefinedTicket;
      costUsd: number;
      /** What the parser dropped or cut. */
      notes?: string[];
    }
  /** GitHub named the refine attempt's Actions run (the dispatch's answer, or `workflow_run.requested`). */
  | { type: "refine_queued"; at: number; ticket: string; attemptId: string; workflowRunId: number }
  /** The refine attempt's Actions run started (`workflow_run.in_progress`): its timeout counts from here. */
  | { type: "refine_started"; at: number; ticket: string; attemptId: string; workflowRunId?: number }
  /** A scheduled `batch_refine_deadline` came due (on the App's clock): the reducer decides whether it has passed. */
  | { type: "refine_deadline"; at: number; ticket: string; attemptId: string }
  /** The refinement did not give a ticket (agent failed or asked, file missing or unreadable, dispatch refused). */
  | {
      type: "ticket_refine_failed";
      at: number;
      ticket: string;
      attemptId: string;
      reason: string;
      costUsd?: number;
    };

export type BatchEffect =
  /** Find the ticket's issue (a reference: GET it; raw text: create it, unless one carries its marker). */
  | {
      type: "batch_issue";
      key: string;
      ticket: string;
      create?: { title: string; body: string; labels?: string[] };
    }
  /** Dispatch the refine profile for a raw ticket (its text is the task; the tracking issue is the context). */
  | { type: "batch_refine"; key: string; ticket: string; attemptId: string; text: string }
  /** At `at`, ask the reducer whether the refine attempt, if still open, is past its deadline (`refine_deadline`). */
  | {
      type: "batch_refine_deadline";
      key: string;
      ticket: string;
      attemptId: string;
      at: number;
    }
  /** Stop the Actions run of a refine attempt the batch abandoned (deadline passed, batch aborted). */
  | { type: "cancel_workflow_run"; key: string; ticket: string; attemptId: string; workflowRunId: number }
  /** Make the ticket a sub-issue of the tracking issue and record its "blocked by" relations. */
  | {
      type: "batch_link";
      key: string;
      ticket: string;
      issue: { number: number; id: number };
      blockedBy: { number: number; id: number }[];
    }
  /** Start a run of the ticket's workflow on its issue (applied by the shell in the same transaction). */
  | {
      type: "start_ticket";
      key: string;
      ticket: string;
      runId: string;
      issue: number;
      title: string;
      workflow?: string;
    }
  /** Abort a ticket's run (applied by the shell in the same transaction). */
  | { type: "abort_ticket"; key: string; ticket: string; runId: string; reason: string }
  /** Re-render and upsert the tracking issue's status comment. */
  /** `seq`: the step that asked; the shell skips it when a later step asked again (that one renders the same). */
  | { type: "batch_status"; key: string; seq: number }
  | { type: "reply"; key: string; body: string }
  | { type: "audit"; key: string; actor: string; action: string; detail: Record<string, unknown> };

export interface BatchContext {
  newRunId: () => string;
  /** Ids of refine attempts (`att_…`); only needed by batches that refine. */
  newAttemptId?: () => string;
}

export interface BatchOutput {
  state: BatchState;
  effects: BatchEffect[];
}

export const BATCH_ACTOR = "trellis";

// ---------------------------------------------------------------------------------------------
// Views

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
const needsIssue = (t: BatchTicket): boolean => t.kind === "issue" || !t.checked;

// ---------------------------------------------------------------------------------------------
// Creation

export interface CreateBatchInput {
  id: string;
  repo: { owner: string; name: string };
  trackingIssue: number;
  title: string;
  /** The tracking issue's body: its task list is the batch. */
  body: string;
  strategy: Strategy;
  parallel: number;
  batchSize: number;
  at: number;
  actor: string;
  /** Refine raw tickets first (config `batch.refine` and a refine profile), at most `parallel` at once. */
  refine?: RefineSettings;
  newAttemptId?: () => string;
}

export type CreateBatchOutcome = ({ ok: true } & BatchOutput) | { ok: false; errors: string[] };

/**
 * Parses and validates the task list; on any problem returns every one of them and creates nothing.
 * Otherwise the batch starts in `creating`: each ticket's issue is created or looked up first.
 */
export function createBatch(input: CreateBatchInput): CreateBatchOutcome {
  const parsed = parseTaskList(input.body, { repo: input.repo });
  const errors = parsed.errors.map((e) => (e.line > 0 ? `line ${e.line}: ${e.message}` : e.message));
  if (parsed.tickets.length === 0 && errors.length === 0)
    errors.push("the issue has no task list: write one ticket per line as `- [ ] …`");
  const validation = validateBatch(parsed.tickets);
  if (!validation.ok) errors.push(...validation.errors);
  for (const t of parsed.tickets) {
    if (t.issue && t.key !== `#${t.issue.number}`)
      errors.push(
        `line ${t.line}: ${displayTicket(t)} is in another repository; batch tickets must be issues of this repository`,
      );
  }
  const tooMany = subIssueLimitError(parsed.tickets);
  if (tooMany) errors.push(tooMany);
  if (errors.length > 0) return { ok: false, errors };

  const tickets: BatchTicket[] = parsed.tickets.map((t) => ({
    key: t.key,
    ref: t.ref,
    kind: t.kind ?? "text",
    title: t.title,
    deps: [...t.deps],
    estimate: t.estimate,
    line: t.line,
    checked: t.done,
    ...(t.issue ? { issue: (t.issue as IssueRef).number } : {}),
    status: t.done ? "done" : "waiting",
    costUsd: 0,
  }));
  const state: BatchState = {
    id: input.id,
    repo: { ...input.repo },
    trackingIssue: input.trackingIssue,
    title: input.title,
    status: "creating",
    held: false,
    strategy: input.strategy,
    parallel: input.parallel,
    batchSize: input.batchSize,
    tickets,
    createdAt: input.at,
    updatedAt: input.at,
    seq: 0,
    ...(input.refine ? { refine: { ...input.refine, parallel: Math.max(1, input.refine.parallel) } } : {}),
  };
  const step = new Step(state, input.at, {
    newRunId: () => "",
    ...(input.newAttemptId ? { newAttemptId: input.newAttemptId } : {}),
  });
  step.audit(input.actor, "batch_created", {
    tickets: tickets.length,
    strategy: state.strategy,
    parallel: state.parallel,
    ...(state.refine ? { refine: true } : {}),
  });
  for (const t of tickets) {
    if (!needsIssue(t)) continue;
    // Raw text is refined first when the batch refines; references are never refined.
    if (state.refine && t.kind !== "issue") {
      t.refine = { status: "waiting", attempts: 0, costUsd: 0 };
      continue;
    }
    step.effects.push({
      type: "batch_issue",
      key: `batch:${state.id}:issue:${t.key}`,
      ticket: t.key,
      ...(t.kind === "issue" ? {} : { create: ticketIssue(state, t) }),
    });
  }
  startRefines(step);
  // A task list of checked boxes only has nothing to create: go straight on.
  if (!tickets.some(needsIssue)) {
    activate(step);
    schedule(step);
  }
  step.effects.push({
    type: "batch_status",
    key: `batch:${state.id}:status:${step.seq + 1}`,
    seq: step.seq + 1,
  });
  step.state.seq = step.seq + 1;
  step.state.statusSeq = step.seq + 1;
  return { ok: true, state: step.state, effects: step.effects };
}

const backLink = (state: BatchState, t: BatchTicket): string =>
  `Part of #${state.trackingIssue} (batch ticket ${t.kind === "keyed" ? `\`${t.key}\`` : `on line ${t.line}`}, estimate ${t.estimate}).`;

/** A raw ticket becomes an issue verbatim, linked back to its tracking issue (and why it was not refined). */
function ticketIssue(state: BatchState, t: BatchTicket, unrefined?: string): { title: string; body: string } {
  const title = t.title || `Ticket ${t.ref}`;
  const lines = [title, "", backLink(state, t)];
  if (unrefined)
    lines.push(
      "",
      `_Trellis could not refine this ticket (${inline(unrefined, 300)}), so it was created as written._`,
    );
  return { title, body: lines.join("\n") };
}

/** A refined ticket's issue: the agent's body, then the back-link. */
function refinedIssue(
  state: BatchState,
  t: BatchTicket,
  refined: RefinedTicket,
): { title: string; body: string; labels?: string[] } {
  const source = t.refine?.source ?? t.title;
  const lines = [
    ...(refined.body ? [refined.body, "", "---", ""] : []),
    backLink(state, t),
    `Refined by the Trellis \`refine\` agent from the ticket line “${inline(source, 300)}”.`,
  ];
  return {
    title: refined.title,
    body: lines.join("\n"),
    ...(refined.labels.length > 0 ? { labels: [...refined.labels] } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The reducer

class Step {
  readonly effects: BatchEffect[] = [];
  seq: number;
  constructor(
    readonly state: BatchState,
    readonly at: number,
    readonly ctx: BatchContext,
  ) {
    this.seq = state.seq;
  }
  key(what: string): string {
    return `batch:${this.state.id}:${this.seq + 1}:${what}`;
  }
  status(): void {
    this.effects.push({ type: "batch_status", key: this.key("status"), seq: this.seq + 1 });
    this.state.statusSeq = this.seq + 1;
  }
  reply(body: string): void {
    this.effects.push({ type: "reply", key: this.key(`reply:${this.effects.length}`), body });
  }
  audit(actor: string, action: string, detail: Record<string, unknown> = {}): void {
    this.effects.push({
      type: "audit",
      key: this.key(`audit:${this.effects.length}`),
      actor,
      action,
      detail: { batch: this.state.id, ...detail },
    });
  }
}

/** Dispatches the refine agent for waiting raw tickets, at most `refine.parallel` at once. */
function startRefines(step: Step): void {
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
function cancelRefineRun(step: Step, t: BatchTicket): void {
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

function refineQueued(step: Step, e: Extract<BatchEvent, { type: "refine_queued" }>): void {
  const t = refineAttempt(step.state, e.ticket, e.attemptId);
  if (t) learnRefineRun(step, t, e.workflowRunId);
}

function refineStarted(step: Step, e: Extract<BatchEvent, { type: "refine_started" }>): void {
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

function refineDeadlineDue(step: Step, e: Extract<BatchEvent, { type: "refine_deadline" }>): void {
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

function ticketRefined(step: Step, e: Extract<BatchEvent, { type: "ticket_refined" }>): void {
  const t = refining(step, e.ticket, e.attemptId);
  if (!t?.refine) return;
  const s = step.state;
  t.refine.status = "done";
  t.refine.costUsd = e.costUsd;
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

function ticketRefineFailed(step: Step, e: Extract<BatchEvent, { type: "ticket_refine_failed" }>): void {
  const t = refining(step, e.ticket, e.attemptId);
  if (!t?.refine) return;
  if (e.costUsd !== undefined) t.refine.costUsd = e.costUsd;
  refineFailed(step, t, e.reason);
  startRefines(step);
}

/** Every ticket has its issue: link them all, and start what may start. */
function activate(step: Step): void {
  const s = step.state;
  s.status = "active";
  const byKey = new Map(s.tickets.map((t) => [t.key, t]));
  for (const t of s.tickets) {
    if (t.issue === undefined || t.issueId === undefined) continue;
    const blockers = t.deps
      .map((d) => byKey.get(d))
      .filter((d): d is BatchTicket => d?.issue !== undefined && d.issueId !== undefined)
      .map((d) => ({ number: d.issue as number, id: d.issueId as number }));
    step.effects.push({
      type: "batch_link",
      key: `batch:${s.id}:link:${t.key}`,
      ticket: t.key,
      issue: { number: t.issue, id: t.issueId },
      blockedBy: blockers,
    });
  }
}

/** Starts what the planner allows now and ends the batch when nothing more can happen. */
function schedule(step: Step): void {
  const s = step.state;
  if (s.status !== "active") return;
  if (!s.held) {
    const keys = nextToStart(plannerTickets(s), batchProgress(s), {
      strategy: s.strategy,
      parallel: s.parallel,
      batchSize: Math.min(s.batchSize, s.parallel),
    });
    for (const key of keys) {
      const t = s.tickets.find((x) => x.key === key);
      if (!t || t.issue === undefined) continue;
      const runId = step.ctx.newRunId();
      t.status = "running";
      t.runId = runId;
      t.startedAt = step.at;
      delete t.reason;
      step.effects.push({
        type: "start_ticket",
        key: `batch:${s.id}:start:${t.key}:${runId}`,
        ticket: t.key,
        runId,
        issue: t.issue,
        title: t.title || `Ticket ${t.ref}`,
        ...(t.workflow ? { workflow: t.workflow } : {}),
      });
    }
  }
  const progress = batchProgress(s);
  if (progress.running.length > 0) return;
  const blocked = blockedTickets(s);
  const open = s.tickets.filter((t) => t.status === "waiting" && !blocked.has(t.key));
  if (open.length > 0) return;
  const failed = progress.failed.length;
  s.status = failed === 0 ? "succeeded" : "failed";
  const done = progress.done.length;
  if (failed === 0) {
    step.reply(`✅ Batch finished: all ${done} ticket${done === 1 ? "" : "s"} done.`);
  } else {
    s.reason = `${failed} ticket${failed === 1 ? "" : "s"} failed${blocked.size > 0 ? `, ${blocked.size} blocked` : ""}`;
    step.reply(
      `❌ Batch finished: ${done} done, ${s.reason}. Retry a failed ticket's run on its issue with \`/retry\`, or fix the task list and label the issue again.`,
    );
  }
  step.audit(BATCH_ACTOR, `batch_${s.status}`, { done, failed, blocked: blocked.size });
}

function ticketIssueEvent(step: Step, e: Extract<BatchEvent, { type: "ticket_issue" }>): void {
  const s = step.state;
  const t = s.tickets.find((x) => x.key === e.ticket);
  if (!t) return;
  t.issue = e.issue;
  t.issueId = e.issueId;
  if (e.title && !t.title) t.title = e.title;
  if (e.workflow) t.workflow = e.workflow;
  if (s.status !== "creating") return;
  if (s.tickets.every((x) => !needsIssue(x) || x.issueId !== undefined)) {
    activate(step);
    schedule(step);
  }
}

function runUpdate(step: Step, e: Extract<BatchEvent, { type: "run_update" }>): void {
  const t = step.state.tickets.find((x) => x.runId === e.runId);
  if (!t) return;
  t.costUsd = e.costUsd;
  for (const field of ["stage", "agent", "check", "prNumber"] as const) {
    if (e[field] === undefined) continue;
    (t as unknown as Record<string, unknown>)[field] = e[field];
  }
  const live = e.status === "active" || e.status === "waiting" || e.status === "held";
  if (t.status === "failed" && live && step.state.status !== "aborted") {
    // A human retried a failed ticket's run: it counts as running again, and the batch is not over.
    t.status = "running";
    delete t.reason;
    delete t.finishedAt;
    if (step.state.status === "failed") {
      step.state.status = "active";
      delete step.state.reason;
    }
    step.audit(BATCH_ACTOR, "ticket_resumed", { ticket: t.key, run: e.runId });
    return;
  }
  if (t.status !== "running") return;
  if (e.status === "succeeded") {
    t.status = "done";
    t.finishedAt = e.at;
  } else if (e.status === "failed" || e.status === "aborted") {
    t.status = "failed";
    t.finishedAt = e.at;
    t.reason = e.reason ?? `run ${e.status}`;
    step.audit(BATCH_ACTOR, "ticket_failed", { ticket: t.key, run: e.runId, status: e.status });
  } else {
    return;
  }
  schedule(step);
}

function replan(step: Step, e: Extract<BatchEvent, { type: "replan" }>): void {
  const s = step.state;
  if (isBatchTerminal(s)) {
    step.reply(
      `This batch has already ${s.status === "aborted" ? "been aborted" : "finished"}; nothing to re-plan.`,
    );
    return;
  }
  const before = { strategy: s.strategy, parallel: s.parallel };
  if (e.strategy !== undefined) s.strategy = e.strategy;
  if (e.parallel !== undefined) s.parallel = e.parallel;
  step.audit(e.actor, "batch_replanned", { before, after: { strategy: s.strategy, parallel: s.parallel } });
  schedule(step);
}

function hold(step: Step, e: Extract<BatchEvent, { type: "hold" }>): void {
  const s = step.state;
  if (isBatchTerminal(s) || s.held) return void step.audit(e.actor, "batch_hold_ignored");
  s.held = true;
  if (e.reason) s.reason = e.reason;
  step.audit(e.actor, "batch_held", e.reason ? { reason: e.reason } : {});
}

function unhold(step: Step, e: Extract<BatchEvent, { type: "unhold" }>): void {
  const s = step.state;
  if (isBatchTerminal(s) || !s.held) return void step.audit(e.actor, "batch_unhold_ignored");
  s.held = false;
  delete s.reason;
  step.audit(e.actor, "batch_unheld");
  schedule(step);
}

function abort(step: Step, e: Extract<BatchEvent, { type: "abort" }>): void {
  const s = step.state;
  if (isBatchTerminal(s)) return void step.audit(e.actor, "batch_abort_ignored");
  s.status = "aborted";
  s.reason = e.reason;
  // Open refinements end here too (no ticket issue is created any more), and their Actions runs are cancelled.
  for (const t of s.tickets) {
    if (t.refine?.status !== "running") continue;
    t.refine.status = "failed";
    t.refine.reason = `batch aborted: ${e.reason}`;
    t.refine.abandoned = true;
    cancelRefineRun(step, t);
  }
  for (const t of s.tickets) {
    if (t.status !== "running" || !t.runId) continue;
    t.status = "failed";
    t.finishedAt = e.at;
    t.reason = `batch aborted: ${e.reason}`;
    step.effects.push({
      type: "abort_ticket",
      key: `batch:${s.id}:abort:${t.key}`,
      ticket: t.key,
      runId: t.runId,
      reason: `batch #${s.trackingIssue} aborted: ${e.reason}`,
    });
  }
  step.audit(e.actor, "batch_aborted", { reason: e.reason });
}

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
