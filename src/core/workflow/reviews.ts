/** The review loop of a stage with `iterate`: reviewers judge each produced attempt, round after round. */
import type { Attempt, StageState } from "../model.js";
import { refreshWake } from "./deadlines.js";
import { awaitingDetection, dispatchAwaitedDetection } from "./detection.js";
import { dispatch, requestDispatch } from "./dispatching.js";
import { failAttempt } from "./failure.js";
import { SYSTEM_ACTOR, type Step } from "./step.js";
import { afterAgentSuccess } from "./success.js";
import { defOf, lastProducer } from "./views.js";

export function dispatchReviewers(step: Step, stage: StageState): void {
  for (const reviewer of defOf(step.run, stage.id).iterate?.reviewers ?? []) dispatch(step, stage, reviewer);
}

/** Resume a stage parked in `retry_backoff`: a pending detection, a pending review round, or the producer. */
export function dispatchNext(step: Step, stage: StageState): void {
  const judged = awaitingDetection(step, stage);
  if (judged) {
    dispatchAwaitedDetection(step, stage, judged);
    return;
  }
  const producer = lastProducer(stage);
  const loop = defOf(step.run, stage.id).iterate;
  if (
    loop &&
    loop.reviewers.length > 0 &&
    producer?.result?.status === "succeeded" &&
    // A proposal the App refused (or a detection blocked) has nothing to review: the producer runs again.
    !producer.refusal &&
    currentReviews(stage).length === 0
  )
    dispatchReviewers(step, stage);
  else dispatch(step, stage);
}

/** Reviewer attempts of the current round: those after the latest producer attempt. */
function currentReviews(stage: StageState): Attempt[] {
  const producer = lastProducer(stage);
  const start = producer ? stage.attempts.indexOf(producer) + 1 : 0;
  return stage.attempts.slice(start).filter((a) => a.reviewer !== undefined);
}

export function reviewRoundMaybeDone(step: Step, stage: StageState): void {
  refreshWake(step, stage);
  const reviews = currentReviews(stage);
  if (reviews.some((a) => a.finishedAt === undefined)) return;
  const loop = defOf(step.run, stage.id).iterate;
  const producer = lastProducer(stage);
  if (!loop || !producer) return;
  const approvals = reviews.filter((a) => a.result?.review?.verdict === "approve").length;
  const share = reviews.length === 0 ? 1 : approvals / reviews.length;
  stage.iteration += 1;
  step.audit(SYSTEM_ACTOR, "review_round", {
    stage: stage.id,
    iteration: stage.iteration,
    approvals,
    reviewers: reviews.length,
    threshold: loop.threshold,
  });
  if (share >= loop.threshold) {
    afterAgentSuccess(step, stage, producer);
    return;
  }
  const comments = reviews
    .filter((a) => a.result?.review?.verdict !== "approve")
    .map(
      (a) =>
        `${a.reviewer}: ${a.result?.review?.comments ?? a.result?.reason ?? a.result?.summary ?? "no review"}`,
    );
  stage.feedback.push(
    `Review round ${stage.iteration} (${approvals}/${reviews.length} approved):\n${comments.join("\n")}`,
  );
  if (stage.iteration < loop.maxIterations) {
    requestDispatch(step, stage);
    return;
  }
  failAttempt(
    step,
    stage,
    `reviewers did not approve after ${stage.iteration} iteration${stage.iteration === 1 ? "" : "s"} (${approvals}/${reviews.length})`,
  );
}
