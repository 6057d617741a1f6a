/**
 * The outbox: effects stored in the same transaction as the state that produced them, then claimed
 * by workers with `FOR UPDATE SKIP LOCKED` and leases. Several processes sharing one PostgreSQL never
 * execute the same row at once, a crashed worker's rows are reclaimed when its lease expires, and the
 * effects of one aggregate run strictly in order.
 *
 * Two clocks, each deciding alone: when a row is due is the App's clock (`run_after` is written from
 * it, NULL meaning at once, and claims compare it with the App's `now`), because the core computes
 * deadlines and timers on that clock; a lease is the database's (`locked_until` is set and compared
 * there), because every replica must agree on it.
 */
import type { Db } from "./db.js";

export type OutboxStatus = "pending" | "running" | "done" | "failed";

export interface NewEffect {
  /** Stable idempotency key: enqueueing the same key twice stores it once. */
  key: string;
  type: string;
  payload: unknown;
  /** Not before this time on the App's clock (default: at once). */
  runAfter?: Date;
}

export interface OutboxRow {
  id: number;
  aggregate: string;
  key: string;
  type: string;
  payload: unknown;
  status: OutboxStatus;
  /** Claims so far, including the current one. */
  attempts: number;
  /** Null: due at once. */
  runAfter: Date | null;
  lockedBy: string | null;
  lockedUntil: Date | null;
  lastError: string | null;
  createdAt: Date;
  doneAt: Date | null;
}

interface OutboxRecord {
  id: number;
  aggregate: string;
  key: string;
  type: string;
  payload: unknown;
  status: OutboxStatus;
  attempts: number;
  run_after: Date | null;
  locked_by: string | null;
  locked_until: Date | null;
  last_error: string | null;
  created_at: Date;
  done_at: Date | null;
}

const toRow = (r: OutboxRecord): OutboxRow => ({
  id: r.id,
  aggregate: r.aggregate,
  key: r.key,
  type: r.type,
  payload: r.payload,
  status: r.status,
  attempts: r.attempts,
  runAfter: r.run_after,
  lockedBy: r.locked_by,
  lockedUntil: r.locked_until,
  lastError: r.last_error,
  createdAt: r.created_at,
  doneAt: r.done_at,
});

/** Errors are stored for humans, bounded so a huge stack or response body cannot bloat the table. */
const MAX_ERROR_LENGTH = 4_000;

/**
 * Stores effects for `aggregate` in the caller's transaction, in the given order (one statement).
 * Keys already present are ignored. Returns the number of rows inserted.
 */
export async function enqueueEffects(tx: Db, aggregate: string, effects: NewEffect[]): Promise<number> {
  if (effects.length === 0) return 0;
  const items = effects.map((e) => ({
    key: e.key,
    type: e.type,
    payload: e.payload ?? null,
    run_after: e.runAfter?.toISOString() ?? null,
  }));
  const r = await tx.query(
    `INSERT INTO outbox (aggregate, key, type, payload, run_after)
     SELECT $1, x.e->>'key', x.e->>'type', COALESCE(x.e->'payload', 'null'::jsonb),
            (x.e->>'run_after')::timestamptz
       FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(e, ord)
      ORDER BY x.ord
     ON CONFLICT (key) DO NOTHING`,
    [aggregate, JSON.stringify(items)],
  );
  return r.rowCount;
}

export interface ClaimOptions {
  workerId: string;
  limit: number;
  /** How long the claim is exclusive; after that another worker may reclaim the row. */
  leaseMs: number;
  /** The App's clock: rows whose `run_after` has come by it are due. */
  now: Date;
}

/**
 * Claims up to `limit` due rows for `workerId`: pending rows whose `run_after` has come, and running
 * rows whose lease expired. A row is claimable only when no earlier row of its aggregate is still
 * pending or running, so each aggregate's effects execute one at a time, in order.
 */
export async function claimEffects(db: Db, options: ClaimOptions): Promise<OutboxRow[]> {
  const limit = Math.max(0, Math.floor(options.limit));
  if (limit === 0) return [];
  const r = await db.query<OutboxRecord>(
    `WITH claimable AS (
       SELECT c.id FROM outbox c
        WHERE ((c.status = 'pending' AND (c.run_after IS NULL OR c.run_after <= $4::timestamptz))
               OR (c.status = 'running' AND c.locked_until < now()))
          AND NOT EXISTS (
                SELECT 1 FROM outbox e
                 WHERE e.aggregate = c.aggregate AND e.id < c.id
                   AND e.status IN ('pending', 'running'))
        ORDER BY c.id
        LIMIT $2
        FOR UPDATE SKIP LOCKED)
     UPDATE outbox o
        SET status = 'running', locked_by = $1, attempts = o.attempts + 1,
            locked_until = now() + $3 * interval '1 millisecond'
       FROM claimable
      WHERE o.id = claimable.id
     RETURNING o.*`,
    [options.workerId, limit, Math.max(0, options.leaseMs), options.now],
  );
  return r.rows.map(toRow).sort((a, b) => a.id - b.id);
}

/**
 * Marks a claimed row done. With `workerId`, only while that worker still holds it (after a lease
 * expiry another worker may own it). Returns whether a row was updated.
 */
export async function completeEffect(
  db: Db,
  id: number,
  options: { workerId?: string } = {},
): Promise<boolean> {
  const r = await db.query(
    `UPDATE outbox SET status = 'done', done_at = now(), locked_by = NULL, locked_until = NULL
      WHERE id = $1 AND status = 'running' AND ($2::text IS NULL OR locked_by = $2)`,
    [id, options.workerId ?? null],
  );
  return r.rowCount > 0;
}

export type FailOptions = ({ retryAt: Date; uncounted?: boolean } | { permanent: true }) & {
  workerId?: string;
};

/**
 * Records a failed execution: either back to pending until the retry time on the App's clock
 * (transient failures; the caller computes the delay with `backoffMs`) or failed for good. Returns
 * whether a row was updated.
 */
export async function failEffect(db: Db, id: number, error: unknown, options: FailOptions): Promise<boolean> {
  const message = errorMessage(error).slice(0, MAX_ERROR_LENGTH);
  const workerId = options.workerId ?? null;
  if ("permanent" in options) {
    const r = await db.query(
      `UPDATE outbox SET status = 'failed', done_at = now(), last_error = $2,
              locked_by = NULL, locked_until = NULL
        WHERE id = $1 AND status = 'running' AND ($3::text IS NULL OR locked_by = $3)`,
      [id, message, workerId],
    );
    return r.rowCount > 0;
  }
  // `uncounted`: put back without having tried (no capacity yet), so its tries count only real attempts.
  const r = await db.query(
    `UPDATE outbox SET status = 'pending', last_error = $2, locked_by = NULL, locked_until = NULL,
            run_after = $4::timestamptz, attempts = CASE WHEN $5 THEN GREATEST(attempts - 1, 0) ELSE attempts END
      WHERE id = $1 AND status = 'running' AND ($3::text IS NULL OR locked_by = $3)`,
    [id, message, workerId, options.retryAt, options.uncounted === true],
  );
  return r.rowCount > 0;
}

/**
 * Extends a running row's lease (a heartbeat for slow effects). Returns false when the worker no
 * longer holds the row, in which case it should stop: another worker may have reclaimed it.
 */
export async function extendLease(db: Db, id: number, workerId: string, leaseMs: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE outbox SET locked_until = now() + $3 * interval '1 millisecond'
      WHERE id = $1 AND status = 'running' AND locked_by = $2`,
    [id, workerId, Math.max(0, leaseMs)],
  );
  return r.rowCount > 0;
}

/**
 * Hands a worker's running rows back at once (a shutdown that cannot wait for them): another worker claims them
 * without waiting for the lease to run out. Their tries still count, so that claim is a retry and first asks GitHub
 * what the interrupted try already did. Returns how many rows were released.
 */
export async function releaseEffects(db: Db, workerId: string): Promise<number> {
  const r = await db.query(
    `UPDATE outbox SET status = 'pending', locked_by = NULL, locked_until = NULL
      WHERE status = 'running' AND locked_by = $1`,
    [workerId],
  );
  return r.rowCount;
}

/**
 * Deletes rows finished (done or failed) more than `olderThanMs` ago; keys become reusable. The age is measured
 * on the database's clock, the one that stamped `done_at`.
 */
export async function pruneOutbox(db: Db, olderThanMs: number): Promise<number> {
  const r = await db.query(
    "DELETE FROM outbox WHERE status IN ('done', 'failed') AND done_at < now() - $1 * interval '1 millisecond'",
    [olderThanMs],
  );
  return r.rowCount;
}

/**
 * Milliseconds until some row becomes claimable (0 if one is now), or null when nothing is open:
 * lets a worker sleep until the next retry (on the App's clock, `now`) or lease expiry (on the
 * database's) instead of polling.
 */
export async function nextEffectDueInMs(db: Db, now: Date): Promise<number | null> {
  const r = await db.query<{ due_ms: number | null }>(
    `SELECT (EXTRACT(EPOCH FROM MIN(CASE WHEN c.status = 'pending' THEN COALESCE(c.run_after, $1::timestamptz) - $1::timestamptz
                                         ELSE c.locked_until - now() END)) * 1000)::bigint AS due_ms
       FROM outbox c
      WHERE c.status IN ('pending', 'running')
        AND NOT EXISTS (
              SELECT 1 FROM outbox e
               WHERE e.aggregate = c.aggregate AND e.id < c.id
                 AND e.status IN ('pending', 'running'))`,
    [now],
  );
  const due = r.rows[0]?.due_ms;
  return due === null || due === undefined ? null : Math.max(0, Number(due));
}

export async function getEffect(db: Db, id: number): Promise<OutboxRow | undefined> {
  const r = await db.query<OutboxRecord>("SELECT * FROM outbox WHERE id = $1", [id]);
  const row = r.rows[0];
  return row ? toRow(row) : undefined;
}

export async function listEffects(
  db: Db,
  filter: { aggregate?: string; status?: OutboxStatus } = {},
): Promise<OutboxRow[]> {
  const r = await db.query<OutboxRecord>(
    `SELECT * FROM outbox
      WHERE ($1::text IS NULL OR aggregate = $1) AND ($2::text IS NULL OR status = $2)
      ORDER BY id`,
    [filter.aggregate ?? null, filter.status ?? null],
  );
  return r.rows.map(toRow);
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

export interface DeadLetter {
  id: number;
  key: string;
  type: string;
  /** The issue it was for, when it had one. */
  repo?: string;
  issue?: number;
  attempts: number;
  lastError: string;
  failedAt: Date;
}

/** Events and effects the worker gave up on, newest first. */
export async function listDeadLetters(db: Db, limit = 100): Promise<DeadLetter[]> {
  const r = await db.query<{
    id: string | number;
    key: string;
    type: string;
    repo: string | null;
    issue: number | null;
    attempts: number;
    last_error: string | null;
    done_at: Date | string;
  }>(
    `SELECT id, key, type, attempts, last_error, done_at,
            COALESCE(payload #>> '{target,repo,owner}' || '/' || (payload #>> '{target,repo,name}'),
                     payload #>> '{event,repo,owner}' || '/' || (payload #>> '{event,repo,name}')) AS repo,
            COALESCE(NULLIF(payload #>> '{target,issue}', '0'), payload #>> '{event,issue,number}',
                     payload #>> '{event,pullRequest,number}')::int AS issue
       FROM outbox WHERE status = 'failed' ORDER BY done_at DESC, id DESC LIMIT $1`,
    [limit],
  );
  return r.rows.map((row) => ({
    id: Number(row.id),
    key: row.key,
    type: row.type,
    ...(row.repo ? { repo: row.repo } : {}),
    ...(row.issue !== null ? { issue: row.issue } : {}),
    attempts: row.attempts,
    lastError: row.last_error ?? "",
    failedAt: new Date(row.done_at),
  }));
}

/**
 * Puts dead letters back in line (all of them when `ids` is "all"), with their tries counted afresh; a running
 * worker picks them up within its idle period. Returns the ids requeued.
 */
export async function retryDeadLetters(db: Db, ids: readonly number[] | "all"): Promise<number[]> {
  const r = await db.query<{ id: string | number }>(
    `UPDATE outbox SET status = 'pending', attempts = 0, run_after = NULL, done_at = NULL
      WHERE status = 'failed' AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
      RETURNING id`,
    [ids === "all" ? null : ids],
  );
  return r.rows.map((row) => Number(row.id)).sort((a, b) => a - b);
}
