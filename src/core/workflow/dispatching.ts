/** Dispatching an attempt of a stage (its producer or a reviewer), and the spec the Action receives for it. */
import type { Attempt, RunState, StageState } from "../model.js";
import { branchName, type DispatchSpec } from "../dispatch.js";
import { codeSpan as code } from "../render.js";
import { earliestDeadline } from "./deadlines.js";
import { SYSTEM_ACTOR, type Step } from "./step.js";
import { defOf, stageForAttempt } from "./views.js";

export function dispatch(step: Step, stage: StageState, reviewer?: string): Attempt {
  const attempt: Attempt = {
    id: step.ctx.newAttemptId(),
    number: stage.attempts.length + 1,
    profile: reviewer ?? stage.profile,
    ...(reviewer !== undefined ? { reviewer } : {}),
    dispatchedAt: step.at,
  };
  stage.attempts.push(attempt);
  stage.status = "queued";
  delete stage.waitingFor;
  stage.wakeAt = earliestDeadline(step, stage);
  step.effects.push({
    type: "dispatch",
    key: `dispatch:${attempt.id}`,
    stage: stage.id,
    attemptId: attempt.id,
    attempt: attempt.number,
    profile: attempt.profile,
    ...(reviewer !== undefined ? { reviewer } : {}),
  });
  const what =
    reviewer !== undefined ? `review by ${reviewer}` : `attempt ${attempt.number} (${attempt.profile})`;
  step.check(stage, attempt, "queued", `Queued: ${what}`, `Dispatched ${what} of stage ${code(stage.id)}.`);
  step.audit(SYSTEM_ACTOR, "dispatch", {
    stage: stage.id,
    attemptId: attempt.id,
    attempt: attempt.number,
    profile: attempt.profile,
    ...(reviewer !== undefined ? { reviewer } : {}),
  });
  return attempt;
}

/** Dispatch the stage's producer now, or, while the run is held, as soon as it is released. */
export function requestDispatch(step: Step, stage: StageState): void {
  if (step.held) {
    stage.status = "waiting";
    stage.waitingFor = "retry_backoff";
    stage.wakeAt = step.at;
    return;
  }
  dispatch(step, stage);
}

/**
 * What the Action needs for one dispatched attempt, from the run's state: the stage's feedback and the
 * human answers so far, the remaining run budget as the attempt's cost cap, and the stage's timeout.
 */
export function dispatchSpecFor(
  run: RunState,
  attemptId: string,
  opts: { baseRef: string; branch?: string },
): DispatchSpec | undefined {
  const found = stageForAttempt(run, attemptId);
  if (!found) return undefined;
  const { stage, attempt } = found;
  const def = defOf(run, stage.id);
  return {
    attemptId,
    runId: run.id,
    repo: { ...run.repo },
    issue: run.issue,
    workflow: run.workflow.name,
    stage: stage.id,
    profile: attempt.profile,
    attempt: attempt.number,
    branch: opts.branch ?? branchName(run.issue, run.issueTitle),
    baseRef: opts.baseRef,
    feedback: [...stage.feedback],
    answers: stage.answers.map((a) => ({ ...a })),
    costCapUsd: Math.max(0, run.costCapUsd - run.costUsd),
    timeoutMinutes: Math.max(1, Math.round(def.timeoutMinutes)),
  };
}
