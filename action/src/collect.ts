/**
 * Step 4: what the attempt produced, as facts for the verdict — what the agents said, the review, the changed
 * files, and the stage's success criteria (tests, JUnit, BDD, coverage) run on the change; for a refine attempt,
 * its `.trellis/refined.md`; for a detection attempt, the verdict in its final message.
 */
import * as core from "@actions/core";
import { parseRefined } from "../../src/core/batch/refined.js";
import {
  PROPOSAL_BLOBS_MAX_BYTES,
  PROPOSAL_MAX_BYTES,
  REFINED_FILE,
  REFINED_MAX_CHARS,
} from "../../src/core/result.js";
import type { AgentResult } from "../../src/core/result.js";
import { usageOf, whatAgentsSaid } from "./agents.js";
import type { AgentWork } from "./agents.js";
import type { CriteriaReport } from "./criteria/index.js";
import type { StepDeps } from "./deps.js";
import { agentEnv } from "./env.js";
import { sealGitConfig } from "./git.js";
import type { ChangeAttempt, DetectAttempt, RefineAttempt } from "./prepare.js";
import { buildProposal } from "./proposal.js";
import type { BuiltProposal } from "./proposal.js";
import type { ChangeFacts, DetectFacts, RefineFacts } from "./verdict.js";
import { parseReview, protectedViolations, readRefined, readReview, resetSteering } from "./workspace.js";

/**
 * A change attempt's facts, and its proposal. What is found goes into `result` as it is found, so an error in a
 * later step still reports the cost, the review, the changed files and the criteria. The proposal is the work tree
 * as the agent left it, taken before the criteria run the project's commands.
 */
export async function collectChange(
  attempt: ChangeAttempt,
  work: AgentWork,
  result: AgentResult,
  deps: StepDeps,
): Promise<{ facts: ChangeFacts; built: BuiltProposal | undefined }> {
  const { cwd, ctx } = attempt;
  // The agent has stopped: from here on the Action's git must not run anything it configured.
  await sealGitConfig(cwd);
  Object.assign(result, usageOf(work.runs));
  const { question, agentFailure } = await whatAgentsSaid(cwd, work);
  // Several reviewers in one job: any request for changes wins over approvals.
  const review =
    (await readReview(cwd)) ?? work.reviews.find((r) => r.verdict === "request_changes") ?? work.reviews[0];
  if (review) result.review = review;

  const touchedSteering = await resetSteering(cwd);
  const agentTouched = touchedSteering.filter((p) => !p.startsWith(".claude/agents/"));
  if (agentTouched.length > 0)
    core.warning(`Ignored the agent's changes to agent set-up files: ${agentTouched.join(", ")}`);
  // This attempt's changes against the branch head it started from (sub-agent merges included).
  const built = await buildProposal(cwd, attempt.checkout.startSha);
  const files = built?.proposal.files.map((f) => f.path) ?? [];
  result.filesChanged = files;
  const violations = ctx.config.allow_protected_paths
    ? []
    : protectedViolations(files, ctx.config.protected_paths);
  const refusal = built
    ? refuseProposal(built, [attempt.inputs.githubToken, attempt.inputs.anthropicKey])
    : undefined;

  let criteria: CriteriaReport | undefined;
  if (
    !agentFailure &&
    !question &&
    !refusal &&
    violations.length === 0 &&
    Object.keys(ctx.stage.success).length > 0
  ) {
    criteria = await checkSuccessCriteria(attempt, deps);
    Object.assign(result, {
      criteria: criteria.criteria,
      tests: criteria.tests,
      scenarios: criteria.scenarios,
      scenarioCoverage: criteria.scenarioCoverage,
      coverage: criteria.coverage,
      annotations: criteria.annotations,
    });
  }
  const facts: ChangeFacts = {
    kind: "change",
    question,
    agentFailure,
    protectedViolations: violations,
    conflicts: work.conflicts,
    criteria: criteria?.criteria ?? [],
  };
  if (refusal) facts.refusal = refusal;
  return { facts, built };
}

/** Why a proposal must not leave the job: too large for the App, or it carries one of the job's own secrets. */
export function refuseProposal(built: BuiltProposal, secrets: string[]): string | undefined {
  if (built.patch.byteLength > PROPOSAL_MAX_BYTES)
    return `the change is a ${built.patch.byteLength}-byte patch; the limit is ${PROPOSAL_MAX_BYTES} bytes`;
  if (built.blobs.byteLength > PROPOSAL_BLOBS_MAX_BYTES)
    return `the changed files hold ${built.blobs.byteLength} bytes; the limit is ${PROPOSAL_BLOBS_MAX_BYTES} bytes`;
  // Searched as bytes: the patch may be binary. A secret found is named by where it is, never by its value.
  const leaked = secrets.filter((s) => s.length >= 8 && (built.patch.includes(s) || built.blobs.includes(s)));
  if (leaked.length > 0) return "the change contains one of the job's secrets (its GitHub token or API key)";
  return undefined;
}

/** The stage's success criteria on the agent's change; their commands' output goes to the log. */
async function checkSuccessCriteria({ cwd, ctx }: ChangeAttempt, deps: StepDeps): Promise<CriteriaReport> {
  core.startGroup("Success criteria");
  let criteria: CriteriaReport;
  try {
    criteria = await deps.checkCriteria(cwd, ctx.stage.success, {
      testCommand: ctx.config.commands.test,
      bddCommand: ctx.config.commands.bdd,
      coverageFile: ctx.config.commands.coverage || undefined,
      env: agentEnv(process.env, undefined),
    });
  } finally {
    core.endGroup();
  }
  for (const l of criteria.logs ?? [])
    deps.log(`$ ${l.command} → exit ${l.exitCode ?? "?"} (${l.durationMs} ms)\n${l.output.slice(-4_000)}`);
  // The project's commands ran the agent's code: nothing they configured may run in a later git command.
  await sealGitConfig(cwd);
  return criteria;
}

/**
 * A refine attempt's facts, and what goes into its result: `.trellis/refined.md` travels back in the result (the
 * App creates the issue from it), checked with the App's own parser so an unreadable file fails here, where the job
 * summary shows why. Whatever else the agent changed stays on the runner: a refine attempt proposes no change.
 */
export async function collectRefine(
  { cwd }: RefineAttempt,
  work: AgentWork,
): Promise<{ facts: RefineFacts; found: Partial<AgentResult> }> {
  const found: Partial<AgentResult> = { ...usageOf(work.runs), filesChanged: [] };
  await sealGitConfig(cwd);
  const { question, agentFailure } = await whatAgentsSaid(cwd, work);
  await resetSteering(cwd);
  const refined = await readRefined(cwd, REFINED_MAX_CHARS);
  found.criteria = [
    {
      criterion: "file_created",
      passed: refined !== undefined,
      detail: refined !== undefined ? `${REFINED_FILE} written` : `${REFINED_FILE} is missing`,
    },
  ];
  if (refined !== undefined) found.refined = refined;
  const parsed = refined !== undefined ? parseRefined(refined) : undefined;
  return { facts: { kind: "refine", question, agentFailure, refined: parsed }, found };
}

/**
 * A detection attempt's facts, and what goes into its result: the verdict from the agent's final message (a file
 * in the checkout could have been there before the agent ran; the message is the agent's own), and no change.
 */
export async function collectDetection(
  { cwd }: DetectAttempt,
  work: AgentWork,
): Promise<{ facts: DetectFacts; found: Partial<AgentResult> }> {
  await sealGitConfig(cwd);
  const found: Partial<AgentResult> = { ...usageOf(work.runs), filesChanged: [] };
  const { question, agentFailure } = await whatAgentsSaid(cwd, work);
  const review = parseReview(work.runs.at(-1)?.outcome.resultText ?? "");
  if (review) found.review = review;
  return { facts: { kind: "detect", question, agentFailure, review }, found };
}
