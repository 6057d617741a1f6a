/**
 * Dispatching an attempt of a stage (its producer, a reviewer or a detection attempt). The Action's spec is built by
 * core/dispatch-spec.ts.
 */
import type { Attempt, StageState } from "../model.js";
import { codeSpan as code } from "../render.js";
import { earliestDeadline } from "./deadlines.js";
import { SYSTEM_ACTOR, type Step } from "./step.js";

export function dispatch(step: Step, stage: StageState, reviewer?: string): Attempt {
  return dispatchAttempt(
    step,
    stage,
    reviewer !== undefined ? { profile: reviewer, reviewer } : { profile: stage.profile },
  );
}

/** Dispatch a detection attempt: `profile` judges the proposal of the producer attempt `detects` names. */
export function dispatchDetection(
  step: Step,
  stage: StageState,
  profile: string,
  detects: NonNullable<Attempt["detects"]>,
): Attempt {
  return dispatchAttempt(step, stage, { profile, detects });
}

type Role = Pick<Attempt, "profile" | "reviewer" | "detects">;

function dispatchAttempt(step: Step, stage: StageState, role: Role): Attempt {
  const { reviewer, detects } = role;
  const attempt: Attempt = {
    id: step.ctx.newAttemptId(),
    number: stage.attempts.length + 1,
    profile: role.profile,
    ...(reviewer !== undefined ? { reviewer } : {}),
    ...(detects !== undefined ? { detects } : {}),
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
    ...(detects !== undefined ? { detects } : {}),
  });
  const what =
    reviewer !== undefined
      ? `review by ${reviewer}`
      : detects !== undefined
        ? `security review by ${attempt.profile}`
        : `attempt ${attempt.number} (${attempt.profile})`;
  step.check(stage, attempt, "queued", `Queued: ${what}`, `Dispatched ${what} of stage ${code(stage.id)}.`);
  step.audit(SYSTEM_ACTOR, "dispatch", {
    stage: stage.id,
    attemptId: attempt.id,
    attempt: attempt.number,
    profile: attempt.profile,
    ...(reviewer !== undefined ? { reviewer } : {}),
    ...(detects !== undefined ? { detects: detects.attemptId } : {}),
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
