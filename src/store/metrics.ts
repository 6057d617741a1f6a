/** Counters for GET /trellis/metrics, read from the store in one round trip. */
import type { Db } from "./db.js";
import type { OutboxStatus } from "./outbox.js";

export interface StoreMetrics {
  /** Distinct deliveries recorded in the inbox. */
  deliveries: number;
  /** Redeliveries of ids already seen (not applied again). */
  duplicates: number;
  outbox: Record<OutboxStatus, number>;
  /** Attempts dispatched, in total and by status. */
  dispatches: number;
  attemptsByStatus: Record<string, number>;
  /** Current stages by status (the outcomes of finished ones and the state of the others). */
  stagesByStatus: Record<string, number>;
  runsByStatus: Record<string, number>;
  costUsd: number;
}

export async function storeMetrics(db: Db): Promise<StoreMetrics> {
  const r = await db.query<{
    m: Omit<StoreMetrics, "outbox"> & { outbox: Partial<Record<OutboxStatus, number>> };
  }>(
    `SELECT jsonb_build_object(
       'deliveries', (SELECT count(*) FROM inbox),
       'duplicates', (SELECT COALESCE(SUM(duplicates), 0) FROM inbox),
       'outbox', (SELECT COALESCE(jsonb_object_agg(status, n), '{}') FROM
                   (SELECT status, count(*) AS n FROM outbox GROUP BY status) o),
       'dispatches', (SELECT count(*) FROM attempts),
       'attemptsByStatus', (SELECT COALESCE(jsonb_object_agg(status, n), '{}') FROM
                   (SELECT status, count(*) AS n FROM attempts GROUP BY status) a),
       'stagesByStatus', (SELECT COALESCE(jsonb_object_agg(status, n), '{}') FROM
                   (SELECT status, count(*) AS n FROM stages GROUP BY status) s),
       'runsByStatus', (SELECT COALESCE(jsonb_object_agg(status, n), '{}') FROM
                   (SELECT status, count(*) AS n FROM runs GROUP BY status) r),
       'costUsd', (SELECT COALESCE(SUM(usd), 0) FROM costs)) AS m`,
  );
  const m = r.rows[0]?.m;
  if (!m) throw new Error("metrics query returned no row");
  return {
    ...m,
    duplicates: Number(m.duplicates),
    costUsd: Number(m.costUsd),
    outbox: { pending: 0, running: 0, done: 0, failed: 0, ...m.outbox },
  };
}
