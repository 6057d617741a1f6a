/** Pure policies the shell consults before acting: budgets and dispatch capacity. */

export interface BudgetFacts {
  runCostUsd: number;
  runCapUsd: number;
  /** What the repository spent this calendar month, USD. */
  monthSpentUsd: number;
  monthlyBudgetUsd: number;
}

export type BudgetVerdict = { ok: true; remainingUsd: number } | { ok: false; reason: string };

/** A dispatch may spend at most what is left of both the run's cap and the repository's month. */
export function checkBudget(f: BudgetFacts): BudgetVerdict {
  const usd = (n: number): string => `$${n.toFixed(2)}`;
  if (f.runCostUsd >= f.runCapUsd)
    return {
      ok: false,
      reason: `this run has spent ${usd(f.runCostUsd)} of its ${usd(f.runCapUsd)} cap (budgets.per_run_usd)`,
    };
  if (f.monthSpentUsd >= f.monthlyBudgetUsd)
    return {
      ok: false,
      reason: `this repository has spent ${usd(f.monthSpentUsd)} of its ${usd(f.monthlyBudgetUsd)} monthly budget (budgets.monthly_usd)`,
    };
  return {
    ok: true,
    remainingUsd: Math.min(f.runCapUsd - f.runCostUsd, f.monthlyBudgetUsd - f.monthSpentUsd),
  };
}

/** Whether another attempt of a profile may start now. */
export function hasCapacity(activeForProfile: number, maxParallel: number): boolean {
  return activeForProfile < maxParallel;
}
