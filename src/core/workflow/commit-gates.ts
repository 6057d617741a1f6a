/**
 * What stands between an agent's proposal and the App's commit. `proposalReady` runs the gates in order: the first
 * that holds the proposal back makes the stage wait (a human, or another check, lets it through later by calling
 * `proposalReady` again); when every gate passes, the shell is asked to verify and commit it (`commit_proposal`).
 *
 * The gates:
 *   1. detection: the stage's `detection` profile (e.g. `security-review`) must approve the proposal (detection.ts);
 *   2. outsiders: text by people outside the repository's collaborators reached the agent (`RunState.outsiderText`),
 *      so a human must `/approve` the proposal first (`prompt.approve_outsider_commits`), or `/reject` it.
 */
import type { Attempt, StageState } from "../model.js";
import { branchName } from "../dispatch.js";
import { describeRefusal } from "../proposal.js";
import type { ProposalFile } from "../result.js";
import { codeSpan as code, ident, inline, safeUrl } from "../render.js";
import { detectionPassed } from "./detection.js";
import { failAttempt } from "./failure.js";
import { SYSTEM_ACTOR, type Step } from "./step.js";
import { lastProducer } from "./views.js";

/** The attempt succeeded with a proposal: it goes through the gates, then to the App's commit. */
export function proposalReady(
  step: Step,
  stage: StageState,
  attempt: Attempt,
  workflowRunId: number | undefined,
): void {
  if (workflowRunId === undefined) {
    refuseProposal(step, stage, attempt, {
      rule: "missing_contents",
      message: "the Actions run that holds the proposal is not known",
    });
    return;
  }
  if (!detectionPassed(step, stage, attempt, workflowRunId)) return;
  if (awaitsCommitApproval(step, stage, attempt)) return;
  commitProposal(step, stage, attempt, workflowRunId);
}

// ---------------------------------------------------------------------------------------------
// The outsiders gate: a human approves the commit

/** Holds the proposal for a human's `/approve` when outsiders' text reached the agent and nobody approved it yet. */
function awaitsCommitApproval(step: Step, stage: StageState, attempt: Attempt): boolean {
  const why = step.run.outsiderText;
  if (why === undefined || attempt.commitApprovedBy !== undefined) return false;
  stage.status = "waiting";
  stage.waitingFor = "commit_approval";
  delete stage.wakeAt;
  const commands = `\`/approve ${ident(stage.id)}\` to let the App commit it, \`/reject ${ident(stage.id)} <reason>\` to refuse it`;
  step.check(
    stage,
    attempt,
    "completed",
    "Waiting for approval before commit",
    `${inline(why, 500)}. ${commands}.`,
    "action_required",
    "commit_approval",
  );
  step.audit(SYSTEM_ACTOR, "commit_approval_requested", { stage: stage.id, attemptId: attempt.id, why });
  const run = attempt.runUrl !== undefined ? safeUrl(attempt.runUrl) : undefined;
  step.reply(
    [
      `The agent on stage ${code(stage.id)} proposes a change, and the App will not commit it without a human's ` +
        `approval: ${inline(why, 500)}.`,
      "",
      "What it changes, as the agent reports it (the App checks the proposal again before it commits):",
      "",
      ...proposalLines(attempt.result?.proposal?.files ?? []),
      ...(run ? ["", `The patch is in the artifact of [the attempt's Actions run](${run}).`] : []),
      "",
      `${commands}.`,
    ].join("\n"),
  );
  return true;
}

const MAX_LISTED_FILES = 30;
const VERB: Record<ProposalFile["status"], string> = {
  A: "add",
  M: "modify",
  D: "delete",
  T: "change the type of",
};

/** One line per changed file (the first few), as the proposal lists them; their lines are in the patch. */
function proposalLines(files: readonly ProposalFile[]): string[] {
  const lines = files.slice(0, MAX_LISTED_FILES).map((f) => `- ${VERB[f.status]} ${code(f.path, 200)}`);
  if (files.length > MAX_LISTED_FILES) lines.push(`- … and ${files.length - MAX_LISTED_FILES} more files`);
  return lines.length > 0 ? lines : ["- (no files listed)"];
}

/** The proposal a stage waiting for commit approval holds: its latest producer attempt's. */
function heldProposal(stage: StageState): Attempt | undefined {
  const attempt = lastProducer(stage);
  return attempt?.result?.proposal && !attempt.commit && !attempt.refusal ? attempt : undefined;
}

/** `/approve` on a stage waiting for commit approval: the proposal goes on through the gates, then to the commit. */
export function approveCommit(step: Step, stage: StageState, actor: string): void {
  const attempt = heldProposal(stage);
  if (!attempt) {
    step.reply(`/approve: stage ${code(stage.id)} holds no proposal to commit.`);
    return;
  }
  attempt.commitApprovedBy = actor;
  step.audit(actor, "commit_approved", { stage: stage.id, attemptId: attempt.id });
  // Back where a finished attempt waits for the App's commit (attempts.ts `onProposalCommitted`).
  stage.status = "running";
  delete stage.waitingFor;
  proposalReady(step, stage, attempt, attempt.workflowRunId);
}

/** `/reject <reason>` on a stage waiting for commit approval: the attempt fails with the reason as feedback. */
export function rejectCommit(step: Step, stage: StageState, actor: string, reason: string): void {
  const attempt = heldProposal(stage);
  const why = `${actor} refused to let the App commit the proposed change: ${reason}`;
  step.audit(actor, "commit_rejected", { stage: stage.id, attemptId: attempt?.id, reason });
  if (attempt) step.check(stage, attempt, "completed", `Rejected by ${actor}`, inline(why, 1000), "failure");
  stage.feedback.push(`Attempt ${attempt?.number ?? "?"} failed: ${why}`);
  failAttempt(step, stage, why);
}

// ---------------------------------------------------------------------------------------------
// The commit, or a refusal

/**
 * Asks the shell to verify and commit the attempt's proposal on the run's branch (the App's name for it, not the
 * job's). The stage stays where it is until the outcome comes back.
 */
function commitProposal(step: Step, stage: StageState, attempt: Attempt, workflowRunId: number): void {
  step.effects.push({
    type: "commit_proposal",
    key: `commit:${stage.id}:${attempt.id}`,
    stage: stage.id,
    attemptId: attempt.id,
    workflowRunId,
    branch: branchName(step.run.issue, step.run.issueTitle),
  });
}

/** The App refused the proposal (its rules, or a missing artifact): the attempt fails, naming the rule and path. */
export function refuseProposal(
  step: Step,
  stage: StageState,
  attempt: Attempt,
  refusal: NonNullable<Attempt["refusal"]>,
): void {
  attempt.refusal = refusal;
  step.audit(SYSTEM_ACTOR, "proposal_refused", { stage: stage.id, attemptId: attempt.id, ...refusal });
  if (stage.status !== "queued" && stage.status !== "running") return;
  const reason = `the App refused the proposed change (${describeRefusal(refusal)})`;
  step.check(
    stage,
    attempt,
    "completed",
    `Refused: ${refusal.rule}${refusal.path !== undefined ? ` (${refusal.path})` : ""}`,
    inline(reason, 1000),
    "failure",
  );
  stage.feedback.push(`Attempt ${attempt.number} failed: ${reason}`);
  failAttempt(step, stage, reason);
}
