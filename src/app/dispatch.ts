/** What every agent dispatch shares, a stage's or a ticket's refinement: the budget facts and the request itself. */
import type { Definitions } from "../core/definitions.js";
import { toDispatchInputs, type DispatchSpec } from "../core/dispatch.js";
import type { BudgetFacts } from "../core/policy.js";
import { dispatchWorkflow, type DispatchOutcome } from "../github/dispatch.js";
import { reservedByRepo } from "../store/attempts.js";
import { monthlyCost, yearMonthOf } from "../store/costs.js";
import { repoName, type AppDeps, type EffectContext, type Target } from "./runtime.js";

/** What the budget check before any dispatch needs: the run's own cap, and the repository's month so far. */
export async function budgetFacts(
  deps: AppDeps,
  defs: Definitions,
  target: Target,
  run: { costUsd: number; capUsd: number; reservedUsd?: number },
): Promise<BudgetFacts> {
  return {
    runCostUsd: run.costUsd,
    runCapUsd: run.capUsd,
    ...(run.reservedUsd ? { runReservedUsd: run.reservedUsd } : {}),
    monthSpentUsd: await monthlyCost(deps.db, repoName(target.repo), yearMonthOf(deps.now())),
    monthReservedUsd: await reservedByRepo(deps.db, target.repo),
    monthlyBudgetUsd: defs.config.budgets.monthly_usd,
  };
}

/** Asks GitHub to run the agent workflow for one attempt (a stage's or a ticket's refinement). */
export async function sendDispatch(
  ctx: EffectContext,
  defs: Definitions,
  spec: DispatchSpec,
): Promise<DispatchOutcome> {
  const outcome = await dispatchWorkflow(ctx.octokit, ctx.target.repo, {
    workflowFile: defs.config.agent_workflow,
    ref: spec.baseRef,
    inputs: toDispatchInputs(spec),
    returnRunDetails: true,
  });
  ctx.deps.metrics.inc("trellis_dispatches_total", { profile: spec.profile });
  return outcome;
}
