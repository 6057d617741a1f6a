/**
 * The `commit_proposal` effect: the App verifies an attempt's proposal against its own view of the repository and
 * commits it as itself. The facts are gathered here (the branch head, the default branch's config, the artifact's
 * patch and blobs), the verdict is the core's (src/core/proposal.ts), and the commit goes through src/github. The
 * outcome goes back into the run as `proposal_committed` or `proposal_refused`.
 *
 * Idempotent: the commit carries the attempt's trailer (src/core/markers.ts), so a retry after a crash finds it on
 * the branch head and reports it instead of committing again; and `expectedHeadOid` makes a second commit on a
 * moved branch impossible.
 */
import type { Effect, RunEvent, RunState } from "../core/model.js";
import { commitTrailer, hasCommitTrailer } from "../core/markers.js";
import { headPathsToRead, verifyProposal, type HeadPath } from "../core/proposal.js";
import type { Proposal } from "../core/result.js";
import { isTransient } from "../github/client.js";
import { branchHead, commitOnBranch, createBranch, pathAt } from "../github/commits.js";
import { defaultBranchSha } from "../github/repos.js";
import { readAttemptResult } from "../github/results.js";
import { applyRunEvent } from "./decisions.js";
import { definitionsOf } from "./definitions.js";
import type { EffectContext } from "./runtime.js";

type CommitEffect = Extract<Effect, { type: "commit_proposal" }>;
type Outcome = Extract<RunEvent, { type: "proposal_committed" | "proposal_refused" }>;

export async function commitProposal(ctx: EffectContext, run: RunState, effect: CommitEffect): Promise<void> {
  const { deps, target } = ctx;
  const attempt = run.stages[effect.stage]?.attempts.find((a) => a.id === effect.attemptId);
  // Already decided (a redelivered effect), or nothing to commit.
  if (!attempt?.result?.proposal || attempt.commit || attempt.refusal) return;
  let outcome: Outcome;
  try {
    outcome = await decideAndCommit(ctx, run, effect, attempt.result.proposal);
  } catch (error) {
    // Transient failures are retried by the worker; a permanent one (no permission, a refused request) fails the
    // stage with its reason instead of leaving it waiting for an outcome that never comes.
    if (isTransient(error)) throw error;
    outcome = {
      type: "proposal_refused",
      at: deps.now(),
      attemptId: effect.attemptId,
      rule: "commit_failed",
      message: `GitHub refused the commit: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  await applyRunEvent(deps, target, run.id, outcome);
}

async function decideAndCommit(
  { deps, octokit, target }: EffectContext,
  run: RunState,
  effect: CommitEffect,
  claimed: Proposal,
): Promise<Outcome> {
  const { repo } = target;
  const at = deps.now();
  const base = { at, attemptId: effect.attemptId };
  const refused = (rule: string, message: string, path?: string): Outcome => ({
    type: "proposal_refused",
    ...base,
    rule,
    ...(path !== undefined ? { path } : {}),
    message,
  });
  const committed = (headSha: string): Outcome => ({
    type: "proposal_committed",
    ...base,
    branch: effect.branch,
    headSha,
  });

  const head = await branchHead(octokit, repo, effect.branch);
  // A retry after a crash: the commit is already the branch's head.
  if (head && hasCommitTrailer(head.message, effect.attemptId)) return committed(head.sha);

  const read = await readAttemptResult(octokit, repo, effect.workflowRunId, effect.attemptId, {
    withProposal: true,
  });
  if (!read.ok) return refused("missing_contents", read.message);
  if (!read.proposal || read.result.proposal?.sha256 !== claimed.sha256)
    return refused("patch_mismatch", "the artifact's proposal is not the one the attempt reported");
  // The rules come from the default branch's definitions (what definitionsOf loads), never from the agent's branch.
  const defs = await definitionsOf(deps, target);
  // The commit goes on the head the App reads: the run's branch, or the default branch for a new one.
  const headSha = head?.sha ?? (await defaultBranchSha(octokit, repo));
  const paths = headPathsToRead(claimed);
  const found = await Promise.all(paths.map((path) => pathAt(octokit, repo, headSha, path)));
  const verdict = verifyProposal({
    proposal: claimed,
    patch: read.proposal.patch,
    blobs: read.proposal.blobs,
    head: new Map<string, HeadPath>(paths.map((path, i) => [path, found[i]!])),
    protectedPaths: defs.config.allow_protected_paths ? [] : defs.config.protected_paths,
  });
  if (!verdict.ok) return refused(verdict.rule, verdict.message, verdict.path);

  if (!head) await createBranch(octokit, repo, effect.branch, headSha);
  const commit = await commitOnBranch(octokit, repo, {
    branch: effect.branch,
    expectedHeadOid: headSha,
    changes: verdict.changes,
    headline: `${run.issueTitle} (#${run.issue}, ${effect.stage})`.slice(0, 200),
    body:
      `Committed by Trellis for stage \`${effect.stage}\` of run \`${run.id}\`, ` +
      `verified from the agent's proposal.\n\n${commitTrailer(effect.attemptId)}`,
  });
  if (!commit.ok) return refused("stale_base", `the branch moved while the App committed: ${commit.message}`);
  return committed(commit.oid);
}
