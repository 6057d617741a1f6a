/** Counters for GET /trellis/metrics, read from the store in one round trip. */
import type { Db } from "./db.js";

export interface StoreMetrics {
  /**
   * Effects waiting or being carried out (the outbox's depth). Finished ones are counted by the worker's counters:
   * the finished rows are many (until pruned), and metrics must stay cheap, so they are never scanned.
   */
  outbox: Record<"pending" | "running", number>;
  /** Attempts by status. */
  attemptsByStatus: Record<string, number>;
  /** Current stages by status (the outcomes of finished ones and the state of the others). */
  stagesByStatus: Record<string, number>;
  runsByStatus: Record<string, number>;
}

export async function storeMetrics(db: Db): Promise<StoreMetrics> {
  const r = await db.query<{
    m: Omit<StoreMetrics, "outbox"> & { outbox: Partial<StoreMetrics["outbox"]> };
  }>(
    // The outbox is read through its partial index of open rows (outbox_open).
    `SELECT jsonb_build_object(
       'outbox', (SELECT COALESCE(jsonb_object_agg(status, n), '{}') FROM
                   (SELECT status, count(*) AS n FROM outbox WHERE status IN ('pending', 'running')
                     GROUP BY status) o),
       'attemptsByStatus', (SELECT COALESCE(jsonb_object_agg(status, n), '{}') FROM
                   (SELECT status, count(*) AS n FROM attempts GROUP BY status) a),
       'stagesByStatus', (SELECT COALESCE(jsonb_object_agg(status, n), '{}') FROM
                   (SELECT status, count(*) AS n FROM stages GROUP BY status) s),
       'runsByStatus', (SELECT COALESCE(jsonb_object_agg(status, n), '{}') FROM
                   (SELECT status, count(*) AS n FROM runs GROUP BY status) r)) AS m`,
  );
  const m = r.rows[0]?.m;
  if (!m) throw new Error("metrics query returned no row");
  return { ...m, outbox: { pending: 0, running: 0, ...m.outbox } };
}
