/**
 * The shapes of a batch (pure data): its state and tickets, the events the reducer takes, the effects it emits,
 * and the context it runs in. The reducer itself is machine.ts; every module of it builds on these.
 */
import type { RepoRef } from "../repo.js";
import type { RunStatus } from "../model.js";
import type { IssueAuthor } from "../outsiders.js";
import type { RefinedTicket } from "./refined.js";
import type { Strategy } from "./schedule.js";

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
  /** The budget the dispatch granted the attempt, USD: its result is charged at most this. */
  costCapUsd?: number;
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
  /** Who opened the ticket's issue, for a ticket that references an existing issue (as GitHub answered its lookup). */
  author?: IssueAuthor;
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
  repo: RepoRef;
  trackingIssue: number;
  title: string;
  /** Who opened the tracking issue, as the event that created the batch said (absent in batches stored before). */
  trackingAuthor?: IssueAuthor;
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
      /** The author of a referenced issue, as GitHub answered its lookup. */
      author?: IssueAuthor;
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
      /** What the attempt is charged: its claim capped by its grant (`claimedUsd` is set when the claim was more). */
      costUsd: number;
      claimedUsd?: number;
      /** What the parser dropped or cut. */
      notes?: string[];
    }
  /**
   * The refine attempt was dispatched (`costCapUsd`: the budget granted) or GitHub named its Actions run (the
   * dispatch's answer, or `workflow_run.requested`: `workflowRunId`).
   */
  | {
      type: "refine_queued";
      at: number;
      ticket: string;
      attemptId: string;
      workflowRunId?: number;
      costCapUsd?: number;
    }
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
      claimedUsd?: number;
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
