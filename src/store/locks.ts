/** Per-aggregate serialisation: one delivery at a time may change a given run or batch. */
import type { Db } from "./db.js";

/** Advisory-lock namespace for aggregates (first key of the two-int form). */
const AGGREGATE_LOCK = 7_357_002;

/**
 * Takes a transaction-scoped advisory lock on `key` (e.g. `run:<id>` or `batch:<repo>#<n>`), released
 * at commit or rollback. Keys are hashed to 32 bits; a rare collision only serialises two aggregates.
 * PGlite is a single connection, where the lock is granted at once and transactions are serialised.
 */
export async function lockAggregate(tx: Db, key: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [AGGREGATE_LOCK, key]);
}

/**
 * Locks several aggregates (e.g. a ticket's run and its batch) in one canonical order, so two
 * transactions locking the same pair from different ends cannot deadlock.
 */
export async function lockAggregates(tx: Db, keys: Iterable<string>): Promise<void> {
  for (const key of [...new Set(keys)].sort()) await lockAggregate(tx, key);
}
