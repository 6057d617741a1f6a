/** Failure strategies: a failed attempt is retried with backoff, then the stage's `onFailure.then` decides. */
import type { StageState } from "../model.js";
import { codeSpan as code, ident, inline } from "../render.js";
import { cancelInFlight } from "./cancellation.js";
import { dispatch, requestDispatch } from "./dispatching.js";
import { SYSTEM_ACTOR, type Step } from "./step.js";
import { defOf, isProducer, TERMINAL_STAGE } from "./views.js";

/**
 * An attempt (or a review round, a rejection, a closed PR) failed: retry with backoff, then the stage's
 * terminal strategy. Nothing of the stage may be in flight when this is called.
 */
export function failAttempt(step: Step, stage: StageState, why: string): void {
  // A reason is always present: an empty one would make an escalation look like a start gate.
  const reason = why.trim() || "failed without a reason";
  const def = defOf(step.run, stage.id);
  const policy = def.onFailure;
  stage.reason = reason;
  stage.approvals = [];
  delete stage.question;
  if (stage.retriesUsed < policy.retries) {
    stage.retriesUsed += 1;
    const wakeAt = step.at + Math.max(0, policy.backoffSeconds) * 2 ** (stage.retriesUsed - 1) * 1000;
    step.audit(SYSTEM_ACTOR, "retry_scheduled", {
      stage: stage.id,
      retry: stage.retriesUsed,
      of: policy.retries,
      wakeAt,
      reason,
    });
    stage.status = "waiting";
    stage.waitingFor = "retry_backoff";
    stage.wakeAt = wakeAt;
    if (wakeAt <= step.at && !step.held) dispatch(step, stage);
    return;
  }
  const then = policy.then;
  switch (then.kind) {
    case "abort_all": {
      stage.status = "failed";
      delete stage.waitingFor;
      delete stage.wakeAt;
      step.audit(SYSTEM_ACTOR, "abort_all", { stage: stage.id, reason });
      for (const other of Object.values(step.run.stages)) {
        if (other.id === stage.id || TERMINAL_STAGE.has(other.status)) continue;
        cancelInFlight(step, other, `Aborted: stage ${stage.id} failed (${reason}).`);
        other.status = "aborted";
        other.reason = `aborted because ${stage.id} failed`;
        delete other.waitingFor;
        delete other.wakeAt;
      }
      return;
    }
    case "continue_others":
      stage.status = "failed";
      delete stage.waitingFor;
      delete stage.wakeAt;
      step.audit(SYSTEM_ACTOR, "stage_failed", { stage: stage.id, reason });
      return;
    case "retry_with_different_agent":
      if (
        then.profile !== stage.profile &&
        !stage.attempts.some((a) => isProducer(a) && a.profile === then.profile)
      ) {
        step.audit(SYSTEM_ACTOR, "fallback_agent", {
          stage: stage.id,
          from: stage.profile,
          to: then.profile,
          reason,
        });
        stage.profile = then.profile;
        requestDispatch(step, stage);
        return;
      }
      escalate(step, stage, reason);
      return;
    case "escalate_to_human":
      escalate(step, stage, reason);
      return;
  }
}

function escalate(step: Step, stage: StageState, reason: string): void {
  stage.status = "waiting";
  stage.waitingFor = "human";
  stage.reason = reason;
  delete stage.wakeAt;
  step.audit(SYSTEM_ACTOR, "escalated", { stage: stage.id, reason });
  step.reply(
    `Stage ${code(stage.id)} needs a human: ${inline(reason, 500)}\n\n` +
      `Use \`/retry ${ident(stage.id)}\` to try again (optionally \`/assign ${ident(stage.id)} <profile>\` first) or \`/abort\` to stop the run.`,
  );
}
