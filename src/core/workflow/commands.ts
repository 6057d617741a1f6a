/** The human commands that steer a run: `/answer`, `/hold`, `/unhold`, `/abort`, `/retry` and `/assign`. */
import { codeSpan as code } from "../render.js";
import { cancelInFlight } from "./cancellation.js";
import { describe, refuseIfTerminal, targetStage } from "./command-guards.js";
import { requestDispatch } from "./dispatching.js";
import { dispatchNext } from "./reviews.js";
import type { Handler } from "./step.js";
import { TERMINAL_STAGE } from "./views.js";

export const onAnswer: Handler<"answer"> = (step, e) => {
  if (refuseIfTerminal(step, "/answer")) return;
  const stage = step.run.workflow.stages
    .map((d) => step.run.stages[d.id])
    .find((s) => s?.status === "waiting" && s.waitingFor === "answer");
  if (!stage) {
    step.reply("/answer: no question is waiting for an answer.");
    return;
  }
  if (!e.text.trim()) {
    step.reply("/answer: the answer is empty; write it after the command, e.g. `/answer use PostgreSQL`.");
    return;
  }
  stage.answers.push({ question: stage.question ?? "", answer: e.text, by: e.actor });
  delete stage.question;
  step.audit(e.actor, "answer", { stage: stage.id });
  requestDispatch(step, stage);
};

export const onHold: Handler<"hold"> = (step, e) => {
  if (refuseIfTerminal(step, "/hold")) return;
  if (step.held) {
    step.reply("/hold: the run is already on hold; `/unhold` releases it.");
    return;
  }
  step.run.status = "held";
  step.run.reason = e.reason ? `held by ${e.actor}: ${e.reason}` : `held by ${e.actor}`;
  step.audit(e.actor, "hold", { ...(e.reason ? { reason: e.reason } : {}) });
};

export const onUnhold: Handler<"unhold"> = (step, e) => {
  if (refuseIfTerminal(step, "/unhold")) return;
  if (!step.held) {
    step.reply("/unhold: the run is not on hold.");
    return;
  }
  step.run.status = "active";
  delete step.run.reason;
  step.audit(e.actor, "unhold", {});
  for (const def of step.run.workflow.stages) {
    const stage = step.run.stages[def.id];
    if (stage?.status === "waiting" && stage.waitingFor === "retry_backoff" && (stage.wakeAt ?? 0) <= step.at)
      dispatchNext(step, stage);
  }
};

export const onAbort: Handler<"abort"> = (step, e) => {
  if (refuseIfTerminal(step, "/abort")) return;
  for (const stage of Object.values(step.run.stages)) {
    if (TERMINAL_STAGE.has(stage.status)) continue;
    cancelInFlight(step, stage, `Aborted by ${e.actor}: ${e.reason}`);
    stage.status = "aborted";
    stage.reason = `aborted by ${e.actor}`;
    delete stage.waitingFor;
    delete stage.wakeAt;
  }
  step.run.status = "aborted";
  step.run.reason = `aborted by ${e.actor}: ${e.reason}`;
  step.audit(e.actor, "abort", { reason: e.reason });
};

export const onRetry: Handler<"retry"> = (step, e) => {
  const run = step.run;
  if (run.status === "aborted" || run.status === "succeeded") {
    step.reply(`/retry: this run has already ${run.status}; start a new one with \`/run\`.`);
    return;
  }
  const stage = targetStage(
    step,
    "/retry",
    e.stage,
    (s) => s.status === "failed" || s.status === "waiting",
    "no stage has failed or is waiting.",
  );
  if (!stage) return;
  if (stage.status !== "failed" && stage.status !== "waiting") {
    step.reply(`/retry: stage ${code(stage.id)} cannot be retried now (it is ${describe(stage)}).`);
    return;
  }
  step.audit(e.actor, "retry", { stage: stage.id, profile: stage.profile });
  cancelInFlight(step, stage, `Retried by ${e.actor}`);
  stage.retriesUsed = 0;
  stage.iteration = 0;
  stage.approvals = [];
  delete stage.question;
  delete stage.reason;
  delete stage.prNumber;
  delete stage.prNodeId;
  if (run.status === "failed") {
    delete run.reason;
    run.status = "active";
  }
  // Whatever was skipped or aborted because of a failure may run again; settling skips what is still blocked.
  for (const s of Object.values(run.stages)) {
    if (s.id !== stage.id && (s.status === "skipped" || s.status === "aborted")) {
      s.status = "pending";
      delete s.reason;
    }
  }
  requestDispatch(step, stage);
};

export const onAssign: Handler<"assign"> = (step, e) => {
  if (refuseIfTerminal(step, "/assign")) return;
  const stage = step.run.stages[e.stage];
  if (!stage) {
    step.reply(
      `/assign: there is no stage ${code(e.stage)}; the stages are ${Object.keys(step.run.stages)
        .map((name) => code(name))
        .join(", ")}.`,
    );
    return;
  }
  const known = step.run.permissions;
  if (known && !(e.profile in known) && !step.ctx.permissionOf?.(e.profile)) {
    step.reply(
      `/assign: there is no profile ${code(e.profile)}; known profiles are ${Object.keys(known)
        .map((name) => code(name))
        .join(", ")}.`,
    );
    return;
  }
  if (stage.status === "succeeded" || stage.status === "skipped" || stage.status === "aborted") {
    step.reply(`/assign: stage ${code(stage.id)} is ${stage.status}; the profile would never be used.`);
    return;
  }
  step.audit(e.actor, "assign", { stage: stage.id, from: stage.profile, to: e.profile });
  stage.profile = e.profile;
};
