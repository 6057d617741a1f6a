/** Pure policies the shell consults before acting: budgets and dispatch capacity. */

export interface BudgetFacts {
  runCostUsd: number;
  runCapUsd: number;
  /** What the run's attempts in flight were granted and may still spend (their reservations), USD. */
  runReservedUsd?: number;
  /** What the repository spent this calendar month, USD. */
  monthSpentUsd: number;
  /** What the repository's attempts in flight may still spend this month (their reservations), USD. */
  monthReservedUsd?: number;
  monthlyBudgetUsd: number;
}

export type BudgetVerdict = { ok: true; remainingUsd: number } | { ok: false; reason: string };

/**
 * A dispatch may spend at most what is left of both the run's cap and the repository's month once what is spent and
 * what attempts in flight were granted (reserved until their results say what they spent) are taken off.
 */
export function checkBudget(f: BudgetFacts): BudgetVerdict {
  const usd = (n: number): string => `$${n.toFixed(2)}`;
  const spent = (n: number, reserved = 0): string =>
    reserved > 0 ? `spent ${usd(n)} and reserved ${usd(reserved)} for attempts in flight` : `spent ${usd(n)}`;
  const runUsed = f.runCostUsd + (f.runReservedUsd ?? 0);
  const monthUsed = f.monthSpentUsd + (f.monthReservedUsd ?? 0);
  if (runUsed >= f.runCapUsd)
    return {
      ok: false,
      reason: `this run has ${spent(f.runCostUsd, f.runReservedUsd)} of its ${usd(f.runCapUsd)} cap (budgets.per_run_usd)`,
    };
  if (monthUsed >= f.monthlyBudgetUsd)
    return {
      ok: false,
      reason: `this repository has ${spent(f.monthSpentUsd, f.monthReservedUsd)} of its ${usd(f.monthlyBudgetUsd)} monthly budget (budgets.monthly_usd)`,
    };
  return {
    ok: true,
    remainingUsd: Math.min(f.runCapUsd - runUsed, f.monthlyBudgetUsd - monthUsed),
  };
}

/** Whether another attempt of a profile may start now. */
export function hasCapacity(activeForProfile: number, maxParallel: number): boolean {
  return activeForProfile < maxParallel;
}
