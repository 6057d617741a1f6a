/**
 * `/approve` and `/reject`: a human's verdict on a stage waiting for approval, on a proposal waiting for approval
 * before the App commits it, or the start of a gated one.
 */
import type { StageState } from "../model.js";
import { codeSpan as code, ident, inline } from "../render.js";
import { describe, refuseIfTerminal, targetStage } from "./command-guards.js";
import { approveCommit, rejectCommit } from "./commit-gates.js";
import { requestDispatch } from "./dispatching.js";
import { failAttempt } from "./failure.js";
import type { Handler } from "./step.js";
import { finishStage, requiredApprovals } from "./success.js";
import { lastProducer } from "./views.js";

const awaitsCommit = (s: StageState): boolean => s.status === "waiting" && s.waitingFor === "commit_approval";

export const onApprove: Handler<"approve"> = (step, e) => {
  if (refuseIfTerminal(step, "/approve")) return;
  const stage = targetStage(
    step,
    "/approve",
    e.stage,
    (s) =>
      s.status === "waiting" &&
      (s.waitingFor === "approval" ||
        s.waitingFor === "commit_approval" ||
        (s.waitingFor === "human" && !s.reason)),
    "no stage is waiting for approval.",
  );
  if (!stage) return;
  if (awaitsCommit(stage)) {
    approveCommit(step, stage, e.actor);
    return;
  }
  if (stage.status === "waiting" && stage.waitingFor === "human" && !stage.reason) {
    step.audit(e.actor, "approve_start", { stage: stage.id, profile: stage.profile });
    requestDispatch(step, stage);
    return;
  }
  if (stage.status === "waiting" && stage.waitingFor === "human") {
    step.reply(
      `/approve: stage ${code(stage.id)} failed and needs a human; use \`/retry ${ident(stage.id)}\` or \`/abort\`.`,
    );
    return;
  }
  if (stage.status !== "waiting" || stage.waitingFor !== "approval") {
    step.reply(`/approve: stage ${code(stage.id)} is not waiting for approval (it is ${describe(stage)}).`);
    return;
  }
  if (stage.approvals.includes(e.actor)) {
    step.reply(
      `/approve: ${code(e.actor)} has already approved stage ${code(stage.id)}; another person must approve.`,
    );
    return;
  }
  stage.approvals.push(e.actor);
  const needed = requiredApprovals(step, stage);
  step.audit(e.actor, "approve", { stage: stage.id, approvals: stage.approvals.length, needed });
  const producer = lastProducer(stage);
  if (stage.approvals.length >= needed && producer) finishStage(step, stage, producer);
};

export const onReject: Handler<"reject"> = (step, e) => {
  if (refuseIfTerminal(step, "/reject")) return;
  const stage = targetStage(
    step,
    "/reject",
    e.stage,
    (s) => s.status === "waiting" && (s.waitingFor === "approval" || s.waitingFor === "commit_approval"),
    "no stage is waiting for approval.",
  );
  if (!stage) return;
  if (awaitsCommit(stage)) {
    rejectCommit(step, stage, e.actor, e.reason.trim() || "no reason given");
    return;
  }
  if (stage.status !== "waiting" || stage.waitingFor !== "approval") {
    step.reply(`/reject: stage ${code(stage.id)} is not waiting for approval (it is ${describe(stage)}).`);
    return;
  }
  const reason = e.reason.trim() || "no reason given";
  step.audit(e.actor, "reject", { stage: stage.id, reason });
  const producer = lastProducer(stage);
  if (producer)
    step.check(stage, producer, "completed", `Rejected by ${e.actor}`, inline(reason, 1000), "failure");
  stage.feedback.push(`Rejected by ${e.actor}: ${reason}`);
  failAttempt(step, stage, `rejected by ${e.actor}: ${reason}`);
};
