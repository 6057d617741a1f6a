/**
 * When attempts time out and when the run next needs a `tick`: the stage's timeout once an attempt's Actions run has
 * started, the not-started limit before that, and a stage's wake-up time that follows them.
 */
import type { Attempt, RunState, StageDef, StageState } from "../model.js";
import type { Step } from "./step.js";
import { defOf, inFlight, isTerminal } from "./views.js";

const timeoutMs = (def: StageDef): number => Math.max(1, def.timeoutMinutes) * 60_000;

/**
 * How long a dispatched attempt may wait for its Actions run to start (queued for a runner) before the App gives up
 * on it. Generous, and separate from the stage's timeout: a run waiting for a busy runner pool is not working yet.
 */
export const NOT_STARTED_LIMIT_MS = 60 * 60_000;

/**
 * When an in-flight attempt times out: the stage's timeout counted from its Actions run's start, or, while the run
 * has not started, the not-started limit counted from the dispatch.
 */
export function attemptDeadline(def: StageDef, attempt: Attempt): number {
  return attempt.startedAt !== undefined
    ? attempt.startedAt + timeoutMs(def)
    : attempt.dispatchedAt + NOT_STARTED_LIMIT_MS;
}

export function earliestDeadline(step: Step, stage: StageState): number | undefined {
  const def = defOf(step.run, stage.id);
  const open = inFlight(stage);
  return open.length > 0 ? Math.min(...open.map((a) => attemptDeadline(def, a))) : undefined;
}

export function refreshWake(step: Step, stage: StageState): void {
  const deadline = earliestDeadline(step, stage);
  if (deadline !== undefined) stage.wakeAt = deadline;
  else if (!(stage.status === "waiting" && stage.waitingFor === "retry_backoff")) delete stage.wakeAt;
}

/** Earliest moment a `tick` could change something (a backoff elapsing or an attempt timing out). */
export function nextWake(state: RunState): number | undefined {
  if (isTerminal(state)) return undefined;
  let earliest: number | undefined;
  const consider = (t: number): void => {
    if (earliest === undefined || t < earliest) earliest = t;
  };
  for (const stage of Object.values(state.stages)) {
    const def = defOf(state, stage.id);
    if (stage.status === "waiting" && stage.waitingFor === "retry_backoff" && stage.wakeAt !== undefined)
      if (state.status !== "held") consider(stage.wakeAt);
    for (const a of inFlight(stage)) consider(attemptDeadline(def, a));
  }
  return earliest;
}
