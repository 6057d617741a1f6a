/**
 * The batch going forward: linking the ticket issues once all are known, starting what the planner allows,
 * following each ticket's run, and ending the batch when nothing more can happen.
 */
import { nextToStart } from "./schedule.js";
import type { Step } from "./step.js";
import { BATCH_ACTOR, type BatchEvent, type BatchTicket } from "./types.js";
import { batchProgress, blockedTickets, needsIssue, plannerTickets } from "./views.js";

/** Every ticket has its issue: link them all, and start what may start. */
export function activate(step: Step): void {
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
export function schedule(step: Step): void {
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

export function ticketIssueEvent(step: Step, e: Extract<BatchEvent, { type: "ticket_issue" }>): void {
  const s = step.state;
  const t = s.tickets.find((x) => x.key === e.ticket);
  if (!t) return;
  t.issue = e.issue;
  t.issueId = e.issueId;
  if (e.title && !t.title) t.title = e.title;
  if (e.workflow) t.workflow = e.workflow;
  if (e.author) t.author = e.author;
  if (s.status !== "creating") return;
  if (s.tickets.every((x) => !needsIssue(x) || x.issueId !== undefined)) {
    activate(step);
    schedule(step);
  }
}

export function runUpdate(step: Step, e: Extract<BatchEvent, { type: "run_update" }>): void {
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
