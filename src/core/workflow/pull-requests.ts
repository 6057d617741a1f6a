/** A stage's pull request: opened, merged (the stage succeeds), closed unmerged (it fails), or merged via the issue. */
import type { StageState } from "../model.js";
import { cancelInFlight } from "./cancellation.js";
import { failAttempt } from "./failure.js";
import { SYSTEM_ACTOR, type Handler, type Step } from "./step.js";
import { markSucceeded } from "./success.js";
import { isTerminal, lastProducer, TERMINAL_STAGE } from "./views.js";

export const onPrOpened: Handler<"pr_opened"> = (step, e) => {
  const stage = step.run.stages[e.stage];
  if (!stage || (stage.prNumber === e.prNumber && stage.prNodeId === e.nodeId)) return;
  stage.prNumber = e.prNumber;
  if (e.nodeId !== undefined) stage.prNodeId = e.nodeId;
  else delete stage.prNodeId;
  step.audit(SYSTEM_ACTOR, "pr_opened", {
    stage: stage.id,
    prNumber: e.prNumber,
    ...(e.nodeId !== undefined ? { nodeId: e.nodeId } : {}),
  });
};

/**
 * Whether a pull request (its number, and its node id when known) is the one the App opened for a stage: a number
 * alone is reused by every repository, so once the stage knows the node id, a PR must carry the same.
 */
export function isStagePr(stage: StageState, prNumber: number, nodeId: string | undefined): boolean {
  return stage.prNumber === prNumber && (stage.prNodeId === undefined || stage.prNodeId === nodeId);
}

function stageForPr(step: Step, prNumber: number, nodeId: string | undefined): StageState | undefined {
  return Object.values(step.run.stages).find(
    (s) => isStagePr(s, prNumber, nodeId) && s.status === "waiting" && s.waitingFor === "merge",
  );
}

export const onPrMerged: Handler<"pr_merged"> = (step, e) => {
  const stage = stageForPr(step, e.prNumber, e.nodeId);
  if (!stage) return;
  step.audit(e.actor, "pr_merged", { stage: stage.id, prNumber: e.prNumber });
  markSucceeded(step, stage);
};

export const onPrClosed: Handler<"pr_closed"> = (step, e) => {
  const stage = stageForPr(step, e.prNumber, e.nodeId);
  if (!stage) return;
  step.audit(e.actor, "pr_closed", { stage: stage.id, prNumber: e.prNumber });
  const producer = lastProducer(stage);
  if (producer)
    step.check(
      stage,
      producer,
      "completed",
      `PR #${e.prNumber} closed`,
      "Closed without merging.",
      "failure",
    );
  stage.feedback.push(`Pull request #${e.prNumber} was closed without merging by ${e.actor}.`);
  delete stage.prNumber;
  delete stage.prNodeId;
  failAttempt(step, stage, `pull request #${e.prNumber} was closed without merging`);
};

/**
 * The run's issue was closed and its pull request is merged: the merge closed it. GitHub closes the issues a PR
 * merged into the default branch names with a closing keyword, and delivers `pull_request.closed` and
 * `issues.closed` in no fixed order, so this must end the run as `pr_merged` would, never abort it. The PR's stage
 * succeeds (a human merged its work); the issue being done, the stages still to come are skipped.
 */
export const onClosedByMerge: Handler<"closed_by_merge"> = (step, e) => {
  if (isTerminal(step.run)) return;
  const why = `issue #${step.run.issue} was closed by the merge of pull request #${e.prNumber}`;
  step.audit(e.actor, "issue_closed_by_merge", { prNumber: e.prNumber });
  const merged = Object.values(step.run.stages).find(
    (s) => isStagePr(s, e.prNumber, e.nodeId) && !TERMINAL_STAGE.has(s.status),
  );
  if (merged) {
    cancelInFlight(step, merged, `Merged: ${why}`);
    step.audit(e.actor, "pr_merged", { stage: merged.id, prNumber: e.prNumber });
    markSucceeded(step, merged);
  }
  for (const stage of Object.values(step.run.stages)) {
    if (TERMINAL_STAGE.has(stage.status)) continue;
    cancelInFlight(step, stage, `Skipped: ${why}`);
    stage.status = "skipped";
    stage.reason = why;
    delete stage.waitingFor;
    delete stage.wakeAt;
  }
};
