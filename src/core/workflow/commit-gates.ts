/**
 * Between an attempt's proposal and the App's commit: the gates a proposal passes, in order, before the shell is asked
 * to verify and commit it (`commit_proposal`), and the refusal that fails the attempt when it cannot be.
 *   1. detection: the stage's `detection` profile must approve the proposal (detection.ts)
 * A gate that holds the proposal back calls `proposalReady` again once it is satisfied.
 */
import type { Attempt, StageState } from "../model.js";
import { branchName } from "../dispatch.js";
import { describeRefusal } from "../proposal.js";
import { inline } from "../render.js";
import { detectionPassed } from "./detection.js";
import { failAttempt } from "./failure.js";
import { SYSTEM_ACTOR, type Step } from "./step.js";

/**
 * The producer's attempt succeeded with a proposal, held by the Actions run `workflowRunId`: it is committed once
 * every gate lets it through. The stage stays where it is until the outcome comes back.
 */
export function proposalReady(
  step: Step,
  stage: StageState,
  attempt: Attempt,
  workflowRunId: number | undefined,
): void {
  if (workflowRunId === undefined) {
    refuseProposal(step, stage, attempt, {
      rule: "missing_contents",
      message: "the Actions run that holds the proposal is not known",
    });
    return;
  }
  if (!detectionPassed(step, stage, attempt, workflowRunId)) return;
  commitProposal(step, stage, attempt, workflowRunId);
}

/** Asks the shell to verify and commit the attempt's proposal on the run's branch (the App's name for it, not the job's). */
function commitProposal(step: Step, stage: StageState, attempt: Attempt, workflowRunId: number): void {
  step.effects.push({
    type: "commit_proposal",
    key: `commit:${stage.id}:${attempt.id}`,
    stage: stage.id,
    attemptId: attempt.id,
    workflowRunId,
    branch: branchName(step.run.issue, step.run.issueTitle),
  });
}

/** The App will not commit the attempt's proposal: the attempt fails with a check run naming the rule and path. */
export function refuseProposal(
  step: Step,
  stage: StageState,
  attempt: Attempt,
  refusal: NonNullable<Attempt["refusal"]>,
): void {
  attempt.refusal = refusal;
  step.audit(SYSTEM_ACTOR, "proposal_refused", { stage: stage.id, attemptId: attempt.id, ...refusal });
  if (stage.status !== "queued" && stage.status !== "running") return;
  const reason = `the App refused the proposed change (${describeRefusal(refusal)})`;
  step.check(
    stage,
    attempt,
    "completed",
    `Refused: ${refusal.rule}${refusal.path !== undefined ? ` (${refusal.path})` : ""}`,
    inline(reason, 1000),
    "failure",
  );
  stage.feedback.push(`Attempt ${attempt.number} failed: ${reason}`);
  failAttempt(step, stage, reason);
}
