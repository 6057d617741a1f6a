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

export interface DeliveryWithEvent {
  deliveryId: string;
  event: string;
  row: DeliveryEvent;
}

/**
 * `recordDeliveryWithEvent` for many deliveries in ONE statement (group commit on the request path).
 * Returns, per item and in order, true for the first sighting of its id and false for a duplicate.
 * An id repeated within the batch is stored once: its first occurrence may be fresh, the later ones
 * are duplicates and bump the counter like any redelivery. Outbox rows are inserted in arrival order;
 * inbox rows in id order, so two replicas' overlapping batches lock rows in the same order.
 */
export async function recordDeliveriesWithEvents(
  db: Pick<Db, "query">,
  items: DeliveryWithEvent[],
): Promise<boolean[]> {
  if (items.length === 0) return [];
  // One entry per distinct id: the first occurrence's event, and how often it repeats in the batch.
  const firsts = new Map<string, { item: DeliveryWithEvent; count: number }>();
  for (const item of items) {
    const seen = firsts.get(item.deliveryId);
    if (seen) seen.count++;
    else firsts.set(item.deliveryId, { item, count: 1 });
  }
  const unique = [...firsts.values()];
  // A new row starts with the batch's own repeats counted; an existing one adds them all. So a row
  // came from this statement exactly when the returned counter equals count - 1 (an existing row's
  // counter is at least count afterwards).
  const r = await db.query<{ delivery_id: string; duplicates: number }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
              WITH ORDINALITY AS x(delivery_id, event, repeats, aggregate, key, type, payload, ord)),
     delivery AS (
       INSERT INTO inbox (delivery_id, event, duplicates)
       SELECT delivery_id, event, repeats - 1 FROM input ORDER BY delivery_id
       ON CONFLICT (delivery_id) DO UPDATE SET duplicates = inbox.duplicates + excluded.duplicates + 1
       RETURNING delivery_id, duplicates),
     stored AS (
       INSERT INTO outbox (aggregate, key, type, payload)
       SELECT i.aggregate, i.key, i.type, i.payload::jsonb
         FROM input i JOIN delivery d ON d.delivery_id = i.delivery_id AND d.duplicates = i.repeats - 1
        ORDER BY i.ord
       ON CONFLICT (key) DO NOTHING)
     SELECT delivery_id, duplicates FROM delivery`,
    [
      unique.map((u) => u.item.deliveryId),
      unique.map((u) => u.item.event),
      unique.map((u) => u.count),
      unique.map((u) => u.item.row.aggregate),
      unique.map((u) => u.item.row.key),
      unique.map((u) => u.item.row.type),
      unique.map((u) => JSON.stringify(u.item.row.payload ?? null)),
    ],
  );
  const freshIds = new Set<string>();
  for (const row of r.rows) {
    if (row.duplicates === (firsts.get(row.delivery_id)?.count ?? 0) - 1) freshIds.add(row.delivery_id);
  }
  // Only the first occurrence of a fresh id is fresh.
  return items.map((item) => freshIds.delete(item.deliveryId));
}

/**
 * Forgets deliveries received more than `olderThanMs` ago (GitHub redelivers only recent ones). The age is
 * measured on the database's clock, the one that stamped `received_at`.
 */
export async function pruneInbox(db: Db, olderThanMs: number): Promise<number> {
  const r = await db.query("DELETE FROM inbox WHERE received_at < now() - $1 * interval '1 millisecond'", [
    olderThanMs,
  ]);
  return r.rowCount;
}

/** Which of these delivery ids the inbox has recorded. */
export async function recordedDeliveries(db: Db, deliveryIds: string[]): Promise<Set<string>> {
  if (deliveryIds.length === 0) return new Set();
  const r = await db.query<{ delivery_id: string }>(
    "SELECT delivery_id FROM inbox WHERE delivery_id = ANY($1::text[])",
    [deliveryIds],
  );
  return new Set(r.rows.map((x) => x.delivery_id));
}
