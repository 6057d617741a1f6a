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

export interface DeliveryEvent {
  aggregate: string;
  /** The outbox row's idempotency key. */
  key: string;
  type: string;
  payload: unknown;
}

/**
 * Records a delivery and, the first time its id is seen, stores `event` in the outbox, in ONE
 * statement: atomic without an explicit transaction, so the webhook's request path costs one round
 * trip instead of four (BEGIN, inbox, outbox, COMMIT). Returns false for a duplicate (whose counter
 * is bumped, and which stores nothing). Concurrent duplicates: PostgreSQL makes the second insert
 * wait for the first to commit and then take the ON CONFLICT branch, so exactly one stores the event.
 */
export async function recordDeliveryWithEvent(
  db: Db,
  deliveryId: string,
  event: string,
  row: DeliveryEvent,
): Promise<boolean> {
  const r = await db.query<{ duplicates: number }>(
    `WITH delivery AS (
       INSERT INTO inbox (delivery_id, event) VALUES ($1, $2)
       ON CONFLICT (delivery_id) DO UPDATE SET duplicates = inbox.duplicates + 1
       RETURNING duplicates),
     stored AS (
       INSERT INTO outbox (aggregate, key, type, payload)
       SELECT $3, $4, $5, $6::jsonb FROM delivery WHERE delivery.duplicates = 0
       ON CONFLICT (key) DO NOTHING)
     SELECT duplicates FROM delivery`,
    [deliveryId, event, row.aggregate, row.key, row.type, JSON.stringify(row.payload ?? null)],
  );
  return r.rows[0]?.duplicates === 0;
}

/** Forgets deliveries older than `before` (GitHub redelivers only recent ones). */
export async function pruneInbox(db: Db, before: Date): Promise<number> {
  const r = await db.query("DELETE FROM inbox WHERE received_at < $1", [before]);
  return r.rowCount;
}
