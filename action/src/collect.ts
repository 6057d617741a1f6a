/**
 * Step 4: what the attempt produced, as facts for the verdict — what the agents said, the review, the changed
 * files, and the stage's success criteria (tests, JUnit, BDD, coverage) run on the change; for a refine attempt,
 * its `.trellis/refined.md`.
 */
import * as core from "@actions/core";
import { parseRefined } from "../../src/core/batch/refined.js";
import { REFINED_FILE, REFINED_MAX_CHARS } from "../../src/core/result.js";
import type { AgentResult } from "../../src/core/result.js";
import { usageOf, whatAgentsSaid } from "./agents.js";
import type { AgentWork } from "./agents.js";
import type { CriteriaReport } from "./criteria/index.js";
import type { StepDeps } from "./deps.js";
import { agentEnv } from "./env.js";
import type { ChangeAttempt, RefineAttempt } from "./prepare.js";
import type { ChangeFacts, RefineFacts } from "./verdict.js";
import {
  changedSince,
  protectedViolations,
  readRefined,
  readReview,
  resetSteering,
  stageChanges,
  stagePaths,
  unstageAll,
} from "./workspace.js";

/**
 * A change attempt's facts. What is found goes into `result` as it is found, so an error in a later step
 * still reports the cost, the review, the changed files and the criteria.
 */
export async function collectChange(
  attempt: ChangeAttempt,
  work: AgentWork,
  result: AgentResult,
  deps: StepDeps,
): Promise<ChangeFacts> {
  const { cwd, ctx } = attempt;
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
  const staged = await stageChanges(cwd);
  // This attempt's changes: staged work plus commits merged from sub-agent worktrees.
  const files = [...new Set([...(await changedSince(cwd, attempt.checkout.startSha)), ...staged])].sort();
  result.filesChanged = files;
  const violations = ctx.config.allow_protected_paths
    ? []
    : protectedViolations(files, ctx.config.protected_paths);

  let criteria: CriteriaReport | undefined;
  if (!agentFailure && !question && violations.length === 0 && Object.keys(ctx.stage.success).length > 0) {
    criteria = await checkSuccessCriteria(attempt, staged, deps);
    Object.assign(result, {
      criteria: criteria.criteria,
      tests: criteria.tests,
      scenarios: criteria.scenarios,
      scenarioCoverage: criteria.scenarioCoverage,
      coverage: criteria.coverage,
      annotations: criteria.annotations,
    });
  }
  return {
    kind: "change",
    question,
    agentFailure,
    protectedViolations: violations,
    conflicts: work.conflicts,
    criteria: criteria?.criteria ?? [],
  };
}

/** The stage's success criteria on the agent's change; their commands' output goes to the log. */
async function checkSuccessCriteria(
  { cwd, ctx }: ChangeAttempt,
  staged: string[],
  deps: StepDeps,
): Promise<CriteriaReport> {
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
  // Reports the criteria run wrote (coverage/, junit.xml) are not part of the agent's change.
  await unstageAll(cwd);
  await stagePaths(cwd, staged);
  return criteria;
}

/**
 * A refine attempt's facts, and what goes into its result: `.trellis/refined.md` travels back in the result (the
 * App creates the issue from it), checked with the App's own parser so an unreadable file fails here, where the job
 * summary shows why. Whatever else the agent changed stays on the runner: a refine attempt never commits, pushes or
 * opens a pull request.
 */
export async function collectRefine(
  { cwd }: RefineAttempt,
  work: AgentWork,
): Promise<{ facts: RefineFacts; found: Partial<AgentResult> }> {
  const found: Partial<AgentResult> = { ...usageOf(work.runs), filesChanged: [] };
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
