/** Attempts the run stops waiting for: their check runs are closed and their Actions runs cancelled. */
import type { Attempt, StageState } from "../model.js";
import { inline } from "../render.js";
import type { Step } from "./step.js";
import { inFlight } from "./views.js";

/** Close every in-flight attempt of a stage (its check runs and Actions runs are cancelled). */
export function cancelInFlight(step: Step, stage: StageState, why: string): void {
  for (const a of inFlight(stage)) {
    a.finishedAt = step.at;
    step.check(stage, a, "completed", "Cancelled", inline(why, 1000), "cancelled");
    cancelWorkflowRun(step, stage, a);
  }
}

/**
 * An attempt the run no longer waits for must not go on working (and spending): GitHub is asked to cancel its
 * Actions run. Without the run's id yet, this happens when GitHub names it (see `learnWorkflowRun`).
 */
export function cancelWorkflowRun(step: Step, stage: StageState, attempt: Attempt): void {
  if (attempt.workflowRunId === undefined || attempt.result !== undefined) return;
  step.effects.push({
    type: "cancel_workflow_run",
    key: `cancel:${attempt.id}`,
    stage: stage.id,
    attemptId: attempt.id,
    workflowRunId: attempt.workflowRunId,
  });
}

/** Records the attempt's Actions run the first time GitHub names it; an attempt already abandoned has it cancelled. */
export function learnWorkflowRun(
  step: Step,
  stage: StageState,
  attempt: Attempt,
  workflowRunId?: number,
): void {
  if (workflowRunId === undefined || attempt.workflowRunId !== undefined) return;
  attempt.workflowRunId = workflowRunId;
  step.bookkept = true;
  if (attempt.finishedAt !== undefined) cancelWorkflowRun(step, stage, attempt);
}
