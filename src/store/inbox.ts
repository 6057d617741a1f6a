/** The inbox: webhook delivery ids already seen, so a redelivery or duplicate is applied once. */
import type { Db } from "./db.js";

/**
 * Records a delivery inside the caller's transaction. Returns true the first time an id is seen and
 * false for a duplicate (whose counter is bumped for metrics). A rolled-back transaction forgets the
 * delivery, so GitHub's redelivery of a failed one is processed again.
 */
export async function recordDelivery(tx: Db, deliveryId: string, event: string): Promise<boolean> {
  const r = await tx.query<{ duplicates: number }>(
    `INSERT INTO inbox (delivery_id, event) VALUES ($1, $2)
     ON CONFLICT (delivery_id) DO UPDATE SET duplicates = inbox.duplicates + 1
     RETURNING duplicates`,
    [deliveryId, event],
  );
  return r.rows[0]?.duplicates === 0;
}

/** Forgets deliveries older than `before` (GitHub redelivers only recent ones). */
export async function pruneInbox(db: Db, before: Date): Promise<number> {
  const r = await db.query("DELETE FROM inbox WHERE received_at < $1", [before]);
  return r.rowCount;
}
