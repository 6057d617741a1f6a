/** A batch's creation from its tracking issue's task list: validated as a whole, then each ticket's issue first. */
import type { IssueAuthor } from "../outsiders.js";
import type { RepoRef } from "../repo.js";
import { displayTicket, parseTaskList, subIssueLimitError, validateBatch, type IssueRef } from "./parse.js";
import { activate, schedule } from "./progress.js";
import { startRefines } from "./refinement.js";
import type { Strategy } from "./schedule.js";
import { Step } from "./step.js";
import { ticketIssue } from "./ticket-issues.js";
import type { BatchOutput, BatchState, BatchTicket, RefineSettings } from "./types.js";
import { needsIssue } from "./views.js";

export interface CreateBatchInput {
  id: string;
  repo: RepoRef;
  trackingIssue: number;
  title: string;
  /** The tracking issue's body: its task list is the batch. */
  body: string;
  /** Who opened the tracking issue (their text reaches the tickets' agents). */
  trackingAuthor?: IssueAuthor;
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
    ...(input.trackingAuthor ? { trackingAuthor: { ...input.trackingAuthor } } : {}),
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
