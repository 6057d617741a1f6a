/** A human's commands on a batch: re-plan, hold, un-hold, abort. */
import { schedule } from "./progress.js";
import { cancelRefineRun } from "./refinement.js";
import type { Step } from "./step.js";
import type { BatchEvent } from "./types.js";
import { isBatchTerminal } from "./views.js";

export function replan(step: Step, e: Extract<BatchEvent, { type: "replan" }>): void {
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

export function hold(step: Step, e: Extract<BatchEvent, { type: "hold" }>): void {
  const s = step.state;
  if (isBatchTerminal(s) || s.held) return void step.audit(e.actor, "batch_hold_ignored");
  s.held = true;
  if (e.reason) s.reason = e.reason;
  step.audit(e.actor, "batch_held", e.reason ? { reason: e.reason } : {});
}

export function unhold(step: Step, e: Extract<BatchEvent, { type: "unhold" }>): void {
  const s = step.state;
  if (isBatchTerminal(s) || !s.held) return void step.audit(e.actor, "batch_unhold_ignored");
  s.held = false;
  delete s.reason;
  step.audit(e.actor, "batch_unheld");
  schedule(step);
}

export function abort(step: Step, e: Extract<BatchEvent, { type: "abort" }>): void {
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
