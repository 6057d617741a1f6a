/**
 * Reconciliation's records: the lease that lets one replica at a time run a pass, how far the App's webhook
 * deliveries were last listed, and the guids it asked GitHub to redeliver.
 */
import type { Db } from "./db.js";

const LEASE = "reconcile";

export interface ReconcileLease {
  /** Deliveries up to this time (the App's clock) were listed by the last complete listing. */
  deliveriesCheckedAt: Date | null;
}

/**
 * Takes the lease for `leaseMs` when nobody holds it (or the holder's lease expired), and, with `minIntervalMs`, only
 * when the last pass ended at least that long ago (replicas then share one cadence). One statement, so two replicas
 * asking together get it at most once. Undefined when it is not ours.
 */
export async function takeReconcileLease(
  db: Db,
  options: { holder: string; leaseMs: number; minIntervalMs?: number },
): Promise<ReconcileLease | undefined> {
  const r = await db.query<{ deliveries_checked_at: Date | null }>(
    `INSERT INTO reconcile_lease AS l (name, holder, lease_until)
     VALUES ($1, $2, now() + $3 * interval '1 millisecond')
     ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until
      WHERE (l.lease_until IS NULL OR l.lease_until < now())
        AND ($4::bigint IS NULL OR l.last_pass_at IS NULL
             OR l.last_pass_at <= now() - $4::bigint * interval '1 millisecond')
     RETURNING l.deliveries_checked_at`,
    [LEASE, options.holder, options.leaseMs, options.minIntervalMs ?? null],
  );
  const row = r.rows[0];
  return row ? { deliveriesCheckedAt: row.deliveries_checked_at } : undefined;
}

/** Gives the lease back (only its holder can), noting the pass's end and, when given, how far deliveries were listed. */
export async function releaseReconcileLease(
  db: Db,
  options: { holder: string; deliveriesCheckedAt?: Date },
): Promise<boolean> {
  const r = await db.query(
    `UPDATE reconcile_lease SET holder = NULL, lease_until = NULL, last_pass_at = now(),
            deliveries_checked_at = COALESCE($3::timestamptz, deliveries_checked_at)
      WHERE name = $1 AND holder = $2`,
    [LEASE, options.holder, options.deliveriesCheckedAt ?? null],
  );
  return r.rowCount > 0;
}

/** How often reconciliation already asked GitHub to redeliver each of these guids (absent: never). */
export async function redeliveryTries(db: Db, guids: string[]): Promise<Map<string, number>> {
  if (guids.length === 0) return new Map();
  const r = await db.query<{ guid: string; tries: number }>(
    "SELECT guid, tries FROM redeliveries WHERE guid = ANY($1::text[])",
    [guids],
  );
  return new Map(r.rows.map((x) => [x.guid, x.tries]));
}

/** Counts one more redelivery asked for `guid`, at `at` (the App's clock). */
export async function noteRedelivery(db: Db, guid: string, at: Date): Promise<void> {
  await db.query(
    `INSERT INTO redeliveries (guid, tries, last_at) VALUES ($1, 1, $2)
     ON CONFLICT (guid) DO UPDATE SET tries = redeliveries.tries + 1, last_at = EXCLUDED.last_at`,
    [guid, at],
  );
}

/** Forgets redeliveries asked before `before`: GitHub no longer redelivers those deliveries anyway. */
export async function pruneRedeliveries(db: Db, before: Date): Promise<number> {
  const r = await db.query("DELETE FROM redeliveries WHERE last_at < $1", [before]);
  return r.rowCount;
}
