/**
 * What GitHub and the Action report about a dispatched attempt: its Actions run queued or started, its result,
 * its run lost, or its dispatch refused for budget; and what the App made of its proposal (committed or refused).
 */
import type { Attempt, CheckRunConclusion, StageState } from "../model.js";
import type { AgentResult } from "../result.js";
import { block, codeSpan as code, ident, inline } from "../render.js";
import { cancelInFlight, learnWorkflowRun } from "./cancellation.js";
import { proposalReady, refuseProposal } from "./commit-gates.js";
import { refreshWake } from "./deadlines.js";
import { detectionEnded } from "./detection.js";
import { failAttempt } from "./failure.js";
import { dispatchReviewers, reviewRoundMaybeDone } from "./reviews.js";
import { SYSTEM_ACTOR, type Handler, type Step } from "./step.js";
import { afterAgentSuccess, outcomeSummary } from "./success.js";
import { chargeFor, defOf, isProducer, stageForAttempt } from "./views.js";

const money = (usd: number): string => `$${usd.toFixed(2)}`;

export const onAttemptQueued: Handler<"attempt_queued"> = (step, e) => {
  const found = stageForAttempt(step.run, e.attemptId);
  if (!found) return;
  const { stage, attempt } = found;
  // The dispatch's grant, kept once: the attempt's result is charged at most this.
  if (e.costCapUsd !== undefined && attempt.costCapUsd === undefined && Number.isFinite(e.costCapUsd)) {
    attempt.costCapUsd = Math.max(0, e.costCapUsd);
    step.bookkept = true;
  }
  learnWorkflowRun(step, stage, attempt, e.workflowRunId);
};

export const onAttemptStarted: Handler<"attempt_started"> = (step, e) => {
  const found = stageForAttempt(step.run, e.attemptId);
  if (!found) return;
  learnWorkflowRun(step, found.stage, found.attempt, e.workflowRunId);
  if (found.attempt.finishedAt !== undefined || found.attempt.startedAt !== undefined) return;
  const { stage, attempt } = found;
  attempt.startedAt = e.at;
  if (e.runUrl) attempt.runUrl = e.runUrl;
  if (stage.status === "queued") stage.status = "running";
  // Its timeout now counts from this start, no longer the not-started limit from the dispatch.
  refreshWake(step, stage);
  const what =
    attempt.reviewer !== undefined
      ? `review by ${attempt.reviewer}`
      : attempt.detects !== undefined
        ? `security review by ${attempt.profile}`
        : `attempt ${attempt.number}`;
  step.check(
    stage,
    attempt,
    "in_progress",
    `Running ${what}`,
    `The agent (${code(attempt.profile)}) is working.`,
  );
};

/** Keeps the attempt's result and charges the run its cost, capped by the attempt's grant (see `chargeFor`). */
function recordResult(step: Step, stage: StageState, attempt: Attempt, result: AgentResult): void {
  attempt.result = result;
  const charge = chargeFor(step.run, attempt, result.costUsd);
  attempt.costUsd = charge.chargedUsd;
  step.run.costUsd += charge.chargedUsd;
  if (charge.claimedUsd > charge.chargedUsd)
    step.audit(SYSTEM_ACTOR, "cost_capped", { stage: stage.id, attemptId: attempt.id, ...charge });
}

export const onAttemptFinished: Handler<"attempt_finished"> = (step, e) => {
  const found = stageForAttempt(step.run, e.attemptId);
  if (!found || found.attempt.result !== undefined) return;
  const { stage, attempt } = found;
  const late = attempt.finishedAt !== undefined;
  recordResult(step, stage, attempt, e.result);
  if (attempt.workflowRunId === undefined && e.workflowRunId !== undefined)
    attempt.workflowRunId = e.workflowRunId;
  if (late) return; // timed out, cancelled or aborted already: keep the cost, change nothing else
  attempt.finishedAt = e.at;
  if (stage.status !== "queued" && stage.status !== "running") return;
  if (attempt.reviewer !== undefined) {
    const verdict = e.result.review?.verdict;
    step.check(
      stage,
      attempt,
      "completed",
      verdict === "approve" ? "Review: approved" : "Review: changes requested",
      e.result.review?.comments
        ? block(e.result.review.comments, 4000)
        : block(e.result.summary || "(no comments)"),
      verdict === "approve" ? "success" : "neutral",
    );
    reviewRoundMaybeDone(step, stage);
    return;
  }
  refreshWake(step, stage);
  if (attempt.detects !== undefined) {
    // Its verdict decides the producer's proposal; a proposal of its own is never committed.
    detectionDone(step, stage, attempt);
    return;
  }
  const r = e.result;
  switch (r.status) {
    case "succeeded": {
      // A change goes on only once it passed the gates and the App verified and committed it (proposal_committed /
      // proposal_refused).
      if (r.proposal) {
        // The proposal is read again from the Actions run whose artifact gave this result.
        proposalReady(step, stage, attempt, e.workflowRunId ?? attempt.workflowRunId);
        return;
      }
      afterProducerSuccess(step, stage, attempt);
      return;
    }
    case "needs_input": {
      const question = r.question ?? r.summary ?? "The agent needs more information.";
      stage.status = "waiting";
      stage.waitingFor = "answer";
      stage.question = question;
      delete stage.wakeAt;
      step.check(
        stage,
        attempt,
        "completed",
        "Question for a human",
        block(question, 4000),
        "action_required",
      );
      step.audit(SYSTEM_ACTOR, "question", { stage: stage.id, attemptId: attempt.id });
      step.reply(
        `The agent working on stage ${code(stage.id)} has a question:\n\n${block(question, 8000)}\n\n` +
          "Reply with `/answer <your answer>` and the stage will continue with it.",
      );
      return;
    }
    case "failed":
    case "error": {
      const reason =
        r.reason ?? (r.status === "error" ? "the agent run errored" : "the agent reported failure");
      step.check(stage, attempt, "completed", "Failed", outcomeSummary(step, stage, attempt), "failure");
      stage.feedback.push(`Attempt ${attempt.number} failed: ${reason}`);
      failAttempt(step, stage, reason);
      return;
    }
  }
};

/** A detection attempt ended (`why` when it has no result): an approved proposal goes on to the next gate. */
function detectionDone(step: Step, stage: StageState, detection: Attempt, why?: string): void {
  const producer = detectionEnded(step, stage, detection, why);
  if (producer && detection.detects) proposalReady(step, stage, producer, detection.detects.workflowRunId);
}

/** The producer's attempt succeeded and its change, if any, is committed: reviews, or approvals and the PR. */
function afterProducerSuccess(step: Step, stage: StageState, attempt: Attempt): void {
  const loop = defOf(step.run, stage.id).iterate;
  if (loop && loop.reviewers.length > 0) {
    step.check(
      stage,
      attempt,
      "completed",
      `Produced; ${loop.reviewers.length} review(s) requested`,
      outcomeSummary(step, stage, attempt),
      "success",
    );
    if (step.held) {
      stage.status = "waiting";
      stage.waitingFor = "retry_backoff";
      stage.wakeAt = step.at;
    } else dispatchReviewers(step, stage);
    return;
  }
  afterAgentSuccess(step, stage, attempt);
}

/** The proposal of a finished attempt whose outcome the App has not decided yet. */
function awaitingCommit(step: Step, attemptId: string): { stage: StageState; attempt: Attempt } | undefined {
  const found = stageForAttempt(step.run, attemptId);
  if (!found?.attempt.result?.proposal || found.attempt.commit || found.attempt.refusal) return undefined;
  // Only a producer's proposal is ever committed (a reviewer's or a detection attempt's never is).
  if (!isProducer(found.attempt)) return undefined;
  return found;
}

export const onProposalCommitted: Handler<"proposal_committed"> = (step, e) => {
  const found = awaitingCommit(step, e.attemptId);
  if (!found) return;
  const { stage, attempt } = found;
  attempt.commit = { branch: e.branch, headSha: e.headSha };
  step.audit(SYSTEM_ACTOR, "proposal_committed", {
    stage: stage.id,
    attemptId: attempt.id,
    branch: e.branch,
    headSha: e.headSha,
  });
  // Aborted or cancelled meanwhile: the commit stays on its branch, the stage does not go on.
  if (stage.status !== "queued" && stage.status !== "running") return;
  afterProducerSuccess(step, stage, attempt);
};

export const onProposalRefused: Handler<"proposal_refused"> = (step, e) => {
  const found = awaitingCommit(step, e.attemptId);
  if (!found) return;
  refuseProposal(step, found.stage, found.attempt, {
    rule: e.rule,
    ...(e.path !== undefined ? { path: e.path } : {}),
    message: e.message,
  });
};

/** An in-flight attempt ended without a usable result (lost run or timeout). */
export function attemptEnded(
  step: Step,
  stage: StageState,
  attempt: Attempt,
  reason: string,
  conclusion: CheckRunConclusion,
): void {
  attempt.finishedAt = step.at;
  step.check(
    stage,
    attempt,
    "completed",
    conclusion === "timed_out" ? "Timed out" : "Failed",
    inline(reason, 1000),
    conclusion,
  );
  if (attempt.reviewer !== undefined) {
    reviewRoundMaybeDone(step, stage);
    return;
  }
  refreshWake(step, stage);
  if (attempt.detects !== undefined) {
    detectionDone(step, stage, attempt, `the security review did not finish: ${reason}`);
    return;
  }
  stage.feedback.push(`Attempt ${attempt.number} failed: ${reason}`);
  failAttempt(step, stage, reason);
}

export const onAttemptLost: Handler<"attempt_lost"> = (step, e) => {
  const found = stageForAttempt(step.run, e.attemptId);
  if (!found || found.attempt.finishedAt !== undefined) return;
  if (found.stage.status !== "queued" && found.stage.status !== "running") return;
  attemptEnded(step, found.stage, found.attempt, e.reason, "failure");
};

export const onDispatchRefused: Handler<"dispatch_refused"> = (step, e) => {
  const found = stageForAttempt(step.run, e.attemptId);
  if (!found || found.attempt.startedAt !== undefined || found.attempt.finishedAt !== undefined) return;
  const { stage, attempt } = found;
  // The attempt never ran: drop it, and stop the rest of the stage so a human decides with a clean slate.
  step.check(
    stage,
    attempt,
    "completed",
    "Not dispatched: budget",
    inline(e.reason, 1000),
    "action_required",
  );
  stage.attempts = stage.attempts.filter((a) => a.id !== attempt.id);
  cancelInFlight(step, stage, "Budget exceeded");
  stage.status = "waiting";
  stage.waitingFor = "budget";
  stage.reason = e.reason;
  delete stage.wakeAt;
  step.audit(SYSTEM_ACTOR, "dispatch_refused", { stage: stage.id, attemptId: attempt.id, reason: e.reason });
  step.reply(
    `Stage ${code(stage.id)} was not dispatched: ${inline(e.reason, 500)}\n\n` +
      `Spent so far on this run: ${money(step.run.costUsd)} of ${money(step.run.costCapUsd)}. ` +
      `Raise the budget in \`.github/trellis.yml\` (or wait for the monthly budget to reset), then \`/retry ${ident(stage.id)}\`; or \`/abort\`.`,
  );
};
