/** Costs reported by the Action, per attempt; summed per run and per repository per month (UTC). */
import type { Db } from "./db.js";

export interface CostInput {
  attemptId: string;
  runId: string;
  repo: string;
  usd: number;
  inputTokens?: number;
  outputTokens?: number;
  /**
   * When the cost was incurred, on the App's clock: the clock that reads the monthly budget, so a cost
   * near a month's end is charged to the month the budget check sees.
   */
  at: Date;
}

/** Records an attempt's cost; reporting the same attempt again replaces its figures (idempotent). */
export async function recordCost(tx: Db, c: CostInput): Promise<void> {
  if (!Number.isFinite(c.usd) || c.usd < 0)
    throw new Error(`Invalid cost ${c.usd} for attempt ${c.attemptId}`);
  await tx.query(
    `INSERT INTO costs (attempt_id, run_id, repo, usd, input_tokens, output_tokens, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (attempt_id) DO UPDATE SET
       usd = EXCLUDED.usd, input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens`,
    [c.attemptId, c.runId, c.repo, c.usd, c.inputTokens ?? 0, c.outputTokens ?? 0, c.at],
  );
}

/** `YYYY-MM` → the month's bounds in UTC; throws on a malformed month. */
export function monthBounds(yearMonth: string): { start: Date; end: Date } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(yearMonth);
  if (!m) throw new Error(`Invalid month "${yearMonth}": expected YYYY-MM`);
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  return { start: new Date(Date.UTC(year, month, 1)), end: new Date(Date.UTC(year, month + 1, 1)) };
}

/** `YYYY-MM` of an instant, in UTC. */
export const yearMonthOf = (at: Date | number): string => new Date(at).toISOString().slice(0, 7);

/** USD spent in `repo` during `yearMonth` (YYYY-MM, UTC): checked against the monthly budget. */
export async function monthlyCost(db: Db, repo: string, yearMonth: string): Promise<number> {
  const { start, end } = monthBounds(yearMonth);
  const r = await db.query<{ usd: number }>(
    "SELECT COALESCE(SUM(usd), 0)::numeric AS usd FROM costs WHERE repo = $1 AND at >= $2 AND at < $3",
    [repo, start, end],
  );
  return r.rows[0]?.usd ?? 0;
}

export async function runCost(db: Db, runId: string): Promise<number> {
  const r = await db.query<{ usd: number }>(
    "SELECT COALESCE(SUM(usd), 0)::numeric AS usd FROM costs WHERE run_id = $1",
    [runId],
  );
  return r.rows[0]?.usd ?? 0;
}
