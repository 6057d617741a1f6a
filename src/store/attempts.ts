/** Attempts (dispatches): one row per Actions run requested for a stage. */
import type { RepoRef } from "../core/repo.js";
import type { Db } from "./db.js";
import { repoKey } from "./runs.js";

export interface AttemptRow {
  id: string;
  runId: string;
  stage: string;
  number: number;
  profile: string;
  reviewer: string | null;
  status: string;
  workflowRunId: number | null;
  runUrl: string | null;
  dispatchedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
}

interface AttemptRecord {
  id: string;
  run_id: string;
  stage: string;
  number: number;
  profile: string;
  reviewer: string | null;
  status: string;
  workflow_run_id: number | null;
  run_url: string | null;
  dispatched_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
}

const toRow = (r: AttemptRecord): AttemptRow => ({
  id: r.id,
  runId: r.run_id,
  stage: r.stage,
  number: r.number,
  profile: r.profile,
  reviewer: r.reviewer,
  status: r.status,
  workflowRunId: r.workflow_run_id,
  runUrl: r.run_url,
  dispatchedAt: r.dispatched_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  costUsd: r.cost_usd,
  inputTokens: r.input_tokens,
  outputTokens: r.output_tokens,
});

export type AttemptInput = Pick<AttemptRow, "id" | "runId" | "stage" | "number" | "profile" | "status"> &
  Partial<Omit<AttemptRow, "id" | "runId" | "stage" | "number" | "profile" | "status">>;

/** Inserts or updates an attempt; fields left undefined keep their stored values. */
export async function upsertAttempt(tx: Db, a: AttemptInput): Promise<void> {
  await tx.query(
    `INSERT INTO attempts (id, run_id, stage, number, profile, reviewer, status, workflow_run_id, run_url,
                           dispatched_at, started_at, finished_at, cost_usd, input_tokens, output_tokens)
     VALUES ($1, $2, $3, $4, $5, $6::text, $7, $8::bigint, $9::text, COALESCE($10::timestamptz, now()),
             $11::timestamptz, $12::timestamptz, COALESCE($13::numeric, 0), COALESCE($14::bigint, 0),
             COALESCE($15::bigint, 0))
     ON CONFLICT (id) DO UPDATE SET
       status = EXCLUDED.status, profile = EXCLUDED.profile,
       reviewer = COALESCE($6, attempts.reviewer),
       workflow_run_id = COALESCE($8, attempts.workflow_run_id),
       run_url = COALESCE($9, attempts.run_url),
       dispatched_at = COALESCE($10, attempts.dispatched_at),
       started_at = COALESCE($11, attempts.started_at),
       finished_at = COALESCE($12, attempts.finished_at),
       cost_usd = COALESCE($13, attempts.cost_usd),
       input_tokens = COALESCE($14, attempts.input_tokens),
       output_tokens = COALESCE($15, attempts.output_tokens)`,
    [
      a.id,
      a.runId,
      a.stage,
      a.number,
      a.profile,
      a.reviewer ?? null,
      a.status,
      a.workflowRunId ?? null,
      a.runUrl ?? null,
      a.dispatchedAt ?? null,
      a.startedAt ?? null,
      a.finishedAt ?? null,
      a.costUsd ?? null,
      a.inputTokens ?? null,
      a.outputTokens ?? null,
    ],
  );
}

export async function getAttempt(db: Db, id: string): Promise<AttemptRow | undefined> {
  const r = await db.query<AttemptRecord>("SELECT * FROM attempts WHERE id = $1", [id]);
  const row = r.rows[0];
  return row ? toRow(row) : undefined;
}

/** Links an attempt to the Actions run that executes it (from `workflow_run` events). */
export async function setAttemptWorkflowRun(
  tx: Db,
  attemptId: string,
  workflowRunId: number,
  runUrl?: string,
): Promise<boolean> {
  const r = await tx.query(
    "UPDATE attempts SET workflow_run_id = $2, run_url = COALESCE($3, run_url) WHERE id = $1",
    [attemptId, workflowRunId, runUrl ?? null],
  );
  return r.rowCount > 0;
}

export async function findAttemptByWorkflowRun(
  db: Db,
  workflowRunId: number,
): Promise<AttemptRow | undefined> {
  const r = await db.query<AttemptRecord>("SELECT * FROM attempts WHERE workflow_run_id = $1", [
    workflowRunId,
  ]);
  const row = r.rows[0];
  return row ? toRow(row) : undefined;
}

export async function listAttempts(db: Db, runId: string): Promise<AttemptRow[]> {
  const r = await db.query<AttemptRecord>(
    "SELECT * FROM attempts WHERE run_id = $1 ORDER BY stage, number, id",
    [runId],
  );
  return r.rows.map(toRow);
}

/**
 * Attempts whose dispatch actually reached GitHub (its `dispatch:<attempt>` outbox row is done) and
 * that have not finished, by profile, in one installation (runs stored without one count everywhere; no
 * installation: all of them): what a profile's max parallel limits. Attempts still waiting
 * for a free slot are not counted, or a queue longer than the limit would wait on itself forever.
 */
export async function inFlightAttemptsByProfile(
  db: Db,
  installationId?: number,
): Promise<Record<string, number>> {
  const r = await db.query<{ profile: string; n: number }>(
    `SELECT a.profile, count(*)::int AS n FROM attempts a JOIN runs r ON r.id = a.run_id
      WHERE ($1::bigint IS NULL OR r.installation_id = $1 OR r.installation_id IS NULL)
        AND (a.status = 'running'
             OR (a.status = 'dispatched'
                 AND EXISTS (SELECT 1 FROM outbox o WHERE o.key = 'dispatch:' || a.id AND o.status = 'done')))
      GROUP BY a.profile`,
    [installationId ?? null],
  );
  return Object.fromEntries(r.rows.map((x) => [x.profile, x.n]));
}

/**
 * What a repository's attempts in flight (dispatched or running, no result yet) were granted: the part of its
 * monthly budget they have reserved until their results say what they spent.
 */
export async function reservedByRepo(db: Db, repo: RepoRef): Promise<number> {
  const r = await db.query<{ usd: string | number | null }>(
    `SELECT COALESCE(SUM(a.granted_usd), 0) AS usd FROM attempts a JOIN runs r ON r.id = a.run_id
      WHERE r.repo = $1 AND a.status IN ('dispatched', 'running')`,
    [repoKey(repo)],
  );
  return Number(r.rows[0]?.usd ?? 0);
}

/** An attempt in flight as reconciliation looks it up: its Actions run, in its repository and installation. */
export interface QuietAttempt {
  attemptId: string;
  runId: string;
  /** `owner/name` */
  repo: string;
  workflowRunId: number;
  /** The run's installation, else the repository's; null when neither is known. */
  installationId: number | null;
}

/**
 * Attempts dispatched or running whose Actions run is known and of which nothing was heard since `quietSince` (the
 * App's clock: dispatched or started before it), longest quiet first, at most `limit`.
 */
export async function quietAttemptsInFlight(
  db: Db,
  options: { quietSince: Date; limit: number },
): Promise<QuietAttempt[]> {
  const r = await db.query<{
    id: string;
    run_id: string;
    repo: string;
    workflow_run_id: number;
    installation_id: number | null;
  }>(
    `SELECT a.id, a.run_id, r.repo, a.workflow_run_id,
            COALESCE(r.installation_id,
                     (SELECT p.installation_id FROM repos p WHERE p.full_name = r.repo AND p.removed_at IS NULL))
              AS installation_id
       FROM attempts a JOIN runs r ON r.id = a.run_id
      WHERE a.status IN ('dispatched', 'running') AND a.workflow_run_id IS NOT NULL
        AND GREATEST(a.dispatched_at, COALESCE(a.started_at, a.dispatched_at)) < $1
      ORDER BY GREATEST(a.dispatched_at, COALESCE(a.started_at, a.dispatched_at)), a.id
      LIMIT $2`,
    [options.quietSince, options.limit],
  );
  return r.rows.map((x) => ({
    attemptId: x.id,
    runId: x.run_id,
    repo: x.repo,
    workflowRunId: Number(x.workflow_run_id),
    installationId: x.installation_id === null ? null : Number(x.installation_id),
  }));
}
