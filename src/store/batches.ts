/** Batches (a tracking issue's task list scheduled under a parallel limit) and their tickets. */
import type { Db } from "./db.js";
import { repoKey } from "./runs.js";
import type { RepoRef } from "../core/repo.js";

export interface BatchRecord<S = unknown> {
  id: string;
  repo: string;
  trackingIssue: number;
  strategy: string;
  parallel: number;
  status: string;
  state: S;
}

export interface StoredBatch<S = unknown> extends BatchRecord<S> {
  version: number;
}

export interface Ticket {
  key: string;
  title: string;
  issue: number | null;
  runId: string | null;
  status: string;
  dependsOn: string[];
}

export class StaleBatchError extends Error {
  constructor(
    readonly batchId: string,
    readonly expectedVersion: number | undefined,
    readonly actualVersion: number | undefined,
  ) {
    super(
      actualVersion === undefined
        ? `Batch ${batchId} does not exist`
        : `Batch ${batchId} is at version ${actualVersion}, expected ${expectedVersion}`,
    );
    this.name = "StaleBatchError";
  }
}

interface BatchRow {
  id: string;
  repo: string;
  tracking_issue: number;
  strategy: string;
  parallel: number;
  status: string;
  state: unknown;
  version: number;
}

const toBatch = <S>(r: BatchRow): StoredBatch<S> => ({
  id: r.id,
  repo: r.repo,
  trackingIssue: r.tracking_issue,
  strategy: r.strategy,
  parallel: r.parallel,
  status: r.status,
  state: r.state as S,
  version: r.version,
});

export async function insertBatch<S>(tx: Db, batch: BatchRecord<S>): Promise<void> {
  await tx.query(
    `INSERT INTO batches (id, repo, tracking_issue, strategy, parallel, status, state)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      batch.id,
      batch.repo,
      batch.trackingIssue,
      batch.strategy,
      batch.parallel,
      batch.status,
      JSON.stringify(batch.state),
    ],
  );
}

export async function getBatch<S = unknown>(
  db: Db,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<StoredBatch<S> | undefined> {
  const r = await db.query<BatchRow>(
    `SELECT * FROM batches WHERE id = $1${options.forUpdate ? " FOR UPDATE" : ""}`,
    [id],
  );
  const row = r.rows[0];
  return row ? toBatch<S>(row) : undefined;
}

export async function findBatchByTrackingIssue<S = unknown>(
  db: Db,
  repo: RepoRef | string,
  trackingIssue: number,
): Promise<StoredBatch<S> | undefined> {
  const r = await db.query<BatchRow>("SELECT * FROM batches WHERE repo = $1 AND tracking_issue = $2", [
    repoKey(repo),
    trackingIssue,
  ]);
  const row = r.rows[0];
  return row ? toBatch<S>(row) : undefined;
}

/** Saves a batch's new status/state; returns the new version (see saveRun for `expectedVersion`). */
export async function saveBatch<S>(
  tx: Db,
  batch: Pick<BatchRecord<S>, "id" | "status" | "state"> &
    Partial<Pick<BatchRecord<S>, "strategy" | "parallel">>,
  options: { expectedVersion?: number } = {},
): Promise<number> {
  const r = await tx.query<{ version: number }>(
    `UPDATE batches SET status = $2, state = $3, strategy = COALESCE($4, strategy),
            parallel = COALESCE($5, parallel), updated_at = now(), version = version + 1
      WHERE id = $1 AND ($6::integer IS NULL OR version = $6)
      RETURNING version`,
    [
      batch.id,
      batch.status,
      JSON.stringify(batch.state),
      batch.strategy ?? null,
      batch.parallel ?? null,
      options.expectedVersion ?? null,
    ],
  );
  const row = r.rows[0];
  if (!row) {
    const current = await tx.query<{ version: number }>("SELECT version FROM batches WHERE id = $1", [
      batch.id,
    ]);
    throw new StaleBatchError(batch.id, options.expectedVersion, current.rows[0]?.version);
  }
  return row.version;
}

/** Inserts or updates the batch's tickets by key (one statement). */
export async function upsertTickets(tx: Db, batchId: string, tickets: Ticket[]): Promise<void> {
  if (tickets.length === 0) return;
  await tx.query(
    `INSERT INTO tickets (batch_id, key, title, issue, run_id, status, depends_on)
     SELECT $1, x.e->>'key', x.e->>'title', (x.e->>'issue')::integer, x.e->>'runId', x.e->>'status',
            COALESCE(x.e->'dependsOn', '[]'::jsonb)
       FROM jsonb_array_elements($2::jsonb) AS x(e)
     ON CONFLICT (batch_id, key) DO UPDATE SET
       title = EXCLUDED.title, issue = EXCLUDED.issue, run_id = EXCLUDED.run_id,
       status = EXCLUDED.status, depends_on = EXCLUDED.depends_on, updated_at = now()`,
    [batchId, JSON.stringify(tickets)],
  );
}

export async function listTickets(db: Db, batchId: string): Promise<Ticket[]> {
  const r = await db.query<{
    key: string;
    title: string;
    issue: number | null;
    run_id: string | null;
    status: string;
    depends_on: string[];
  }>("SELECT key, title, issue, run_id, status, depends_on FROM tickets WHERE batch_id = $1 ORDER BY key", [
    batchId,
  ]);
  return r.rows.map((t) => ({
    key: t.key,
    title: t.title,
    issue: t.issue,
    runId: t.run_id,
    status: t.status,
    dependsOn: t.depends_on,
  }));
}

/** The batch whose ticket is this issue (a merged PR on a ticket lets its dependents start). */
export async function findBatchByTicketIssue<S = unknown>(
  db: Db,
  repo: RepoRef | string,
  issue: number,
): Promise<StoredBatch<S> | undefined> {
  const r = await db.query<BatchRow>(
    `SELECT b.* FROM tickets t JOIN batches b ON b.id = t.batch_id
      WHERE b.repo = $1 AND t.issue = $2 ORDER BY b.created_at DESC LIMIT 1`,
    [repoKey(repo), issue],
  );
  const row = r.rows[0];
  return row ? toBatch<S>(row) : undefined;
}
