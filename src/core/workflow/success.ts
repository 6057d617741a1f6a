/** A stage's accepted work: the approval gate, then its pull request, then success. */
import type { Attempt, StageState } from "../model.js";
import { ident, renderCheckRunSummary } from "../render.js";
import { SYSTEM_ACTOR, type Step } from "./step.js";
import { defOf } from "./views.js";

export function requiredApprovals(step: Step, stage: StageState): number {
  const def = defOf(step.run, stage.id);
  const supervised = step.permission(stage.profile) === "supervised";
  return Math.max(def.approvals, supervised ? 1 : 0);
}

/** The producer's work is accepted by the agent (and reviewers): approvals, then PR, then done. */
export function afterAgentSuccess(step: Step, stage: StageState, attempt: Attempt): void {
  const needed = requiredApprovals(step, stage);
  if (needed > stage.approvals.length) {
    stage.status = "waiting";
    stage.waitingFor = "approval";
    delete stage.wakeAt;
    step.check(
      stage,
      attempt,
      "completed",
      `Waiting for ${needed} approval${needed === 1 ? "" : "s"}`,
      `The agent finished; a human must \`/approve ${ident(stage.id)}\` or \`/reject ${ident(stage.id)} <reason>\`.`,
      "action_required",
    );
    return;
  }
  finishStage(step, stage, attempt);
}

export function finishStage(step: Step, stage: StageState, attempt: Attempt): void {
  const def = defOf(step.run, stage.id);
  // The App's own commit, never the job's claim.
  const branch = attempt.commit?.branch;
  // "accepted": the attempt's check run may already be completed (review loop, approvals); this is its final word.
  step.check(
    stage,
    attempt,
    "completed",
    "Succeeded",
    outcomeSummary(step, stage, attempt),
    "success",
    "accepted",
  );
  if (def.openPr && branch) {
    stage.status = "waiting";
    stage.waitingFor = "merge";
    delete stage.wakeAt;
    step.effects.push({
      type: "open_pr",
      key: `pr:${stage.id}:${attempt.id}`,
      stage: stage.id,
      attemptId: attempt.id,
      branch,
      title: `${step.run.issueTitle} (#${step.run.issue}, ${stage.id})`,
    });
    step.audit(SYSTEM_ACTOR, "open_pr", { stage: stage.id, attemptId: attempt.id, branch });
    return;
  }
  markSucceeded(step, stage);
}

export function markSucceeded(step: Step, stage: StageState): void {
  stage.status = "succeeded";
  delete stage.waitingFor;
  delete stage.wakeAt;
  delete stage.reason;
  step.audit(SYSTEM_ACTOR, "stage_succeeded", { stage: stage.id });
}

/** The check-run summary of a finished attempt: criteria, tests, scenarios, coverage and cost. */
export function outcomeSummary(step: Step, stage: StageState, attempt: Attempt): string {
  return renderCheckRunSummary(stage, attempt, { def: defOf(step.run, stage.id) }).summary;
}
