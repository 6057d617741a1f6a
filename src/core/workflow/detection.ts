/**
 * Detection: a stage's `detection` profile (e.g. `security-review`) judges each proposal before the App commits it,
 * in the spirit of a threat-detection job. Its attempt reads the producer's patch and texts from the producer's
 * Actions run and answers with a review verdict; only `approve` lets the commit happen. Anything else — changes
 * requested, a failure, a lost or timed-out run — blocks the proposal and fails the producer's attempt through the
 * normal retry path, with the reviewer's comments as feedback. A detection attempt's own proposal is never committed.
 */
import type { Attempt, StageState } from "../model.js";
import { block, codeSpan as code } from "../render.js";
import { dispatchDetection } from "./dispatching.js";
import { failAttempt } from "./failure.js";
import { SYSTEM_ACTOR, type Step } from "./step.js";
import { defOf, lastProducer } from "./views.js";

/** The refusal rule recorded on a producer whose proposal the detection attempt did not approve. */
export const DETECTION_RULE = "security_review";

const detectionOf = (stage: StageState, producer: Attempt): Attempt | undefined =>
  stage.attempts.find((a) => a.detects?.attemptId === producer.id);

/** Whether the detection attempt approved: a succeeded result with an `approve` verdict, nothing less. */
function approved(detection: Attempt): boolean {
  return detection.result?.status === "succeeded" && detection.result.review?.verdict === "approve";
}

/**
 * The detection gate: true when the proposal may go on to be committed (the stage has no detection profile, or its
 * detection attempt approved). Otherwise the detection attempt is dispatched (once; while the run is held, as soon
 * as it is released) and the proposal waits for its verdict.
 */
export function detectionPassed(
  step: Step,
  stage: StageState,
  producer: Attempt,
  workflowRunId: number,
): boolean {
  const profile = defOf(step.run, stage.id).detection;
  if (profile === undefined) return true;
  const detection = detectionOf(stage, producer);
  if (detection) return detection.finishedAt !== undefined && approved(detection);
  if (step.held) {
    // Like a review round: dispatched by `dispatchNext` once the run is released.
    stage.status = "waiting";
    stage.waitingFor = "retry_backoff";
    stage.wakeAt = step.at;
    return false;
  }
  dispatchDetection(step, stage, profile, { attemptId: producer.id, workflowRunId });
  return false;
}

/**
 * The producer whose proposal still waits for a detection attempt that was never dispatched (the run was held when
 * the producer finished): what `dispatchNext` resumes.
 */
export function awaitingDetection(step: Step, stage: StageState): Attempt | undefined {
  const producer = lastProducer(stage);
  if (defOf(step.run, stage.id).detection === undefined || !producer) return undefined;
  if (producer.result?.status !== "succeeded" || !producer.result.proposal) return undefined;
  if (producer.commit || producer.refusal || producer.workflowRunId === undefined) return undefined;
  return detectionOf(stage, producer) ? undefined : producer;
}

/** Dispatch the detection attempt `awaitingDetection` found. */
export function dispatchAwaitedDetection(step: Step, stage: StageState, producer: Attempt): void {
  const profile = defOf(step.run, stage.id).detection;
  if (profile === undefined || producer.workflowRunId === undefined) return;
  dispatchDetection(step, stage, profile, { attemptId: producer.id, workflowRunId: producer.workflowRunId });
}

/**
 * A detection attempt ended (with a result, or lost, or timed out: `why` says so). Returns the producer when its
 * proposal was approved and may go on to the next gate; otherwise the proposal is blocked and the producer's attempt
 * failed, and undefined is returned.
 */
export function detectionEnded(
  step: Step,
  stage: StageState,
  detection: Attempt,
  why?: string,
): Attempt | undefined {
  const producer = stage.attempts.find((a) => a.id === detection.detects?.attemptId);
  if (!producer?.result?.proposal || producer.commit || producer.refusal) return undefined;
  const review = detection.result?.review;
  if (why === undefined) {
    const ok = approved(detection);
    step.check(
      stage,
      detection,
      "completed",
      ok
        ? "Security review: approved"
        : review?.verdict === "request_changes"
          ? "Security review: changes requested"
          : "Security review: no verdict",
      block(
        review?.comments || detection.result?.reason || detection.result?.summary || "(no comments)",
        4000,
      ),
      ok ? "success" : "neutral",
    );
  }
  step.audit(SYSTEM_ACTOR, "detection", {
    stage: stage.id,
    attemptId: detection.id,
    detects: producer.id,
    verdict: why === undefined ? (review?.verdict ?? detection.result?.status ?? "none") : "none",
  });
  if (why === undefined && approved(detection)) return producer;
  blockProposal(step, stage, producer, detection, why);
  return undefined;
}

/** The detection attempt did not approve: the proposal is never committed and the producer's attempt fails. */
function blockProposal(
  step: Step,
  stage: StageState,
  producer: Attempt,
  detection: Attempt,
  why: string | undefined,
): void {
  const r = detection.result;
  const comments =
    why ??
    (r?.review?.verdict === "request_changes"
      ? r.review.comments || "changes requested without comments"
      : `no approval (${r?.review ? `verdict ${r.review.verdict}, ` : ""}status ${r?.status ?? "unknown"}${r?.reason ? `: ${r.reason}` : ""})`);
  producer.refusal = { rule: DETECTION_RULE, message: comments.slice(0, 4000) };
  step.audit(SYSTEM_ACTOR, "proposal_refused", {
    stage: stage.id,
    attemptId: producer.id,
    rule: DETECTION_RULE,
    by: detection.id,
  });
  if (stage.status !== "queued" && stage.status !== "running") return;
  step.check(
    stage,
    producer,
    "completed",
    "Blocked by security review",
    `The ${code(detection.profile)} review did not approve this change, so the App did not commit it.\n\n${block(comments, 4000)}`,
    "failure",
  );
  stage.feedback.push(
    `Attempt ${producer.number} was blocked by the security review (${detection.profile}); its change was not committed:\n${comments}`,
  );
  failAttempt(step, stage, `blocked by the security review (${detection.profile})`);
}
