/**
 * Runs: the reducer's RunState stored as JSON, with a version for optimistic checks, plus projections
 * of its stages and attempts (kept in step on every save) for queries and metrics.
 */
import type { RunState } from "../core/model.js";
import { repoFullName, type RepoRef } from "../core/repo.js";
import { chargedUsd } from "../core/workflow/views.js";
import type { Db } from "./db.js";

export interface StoredRun {
  state: RunState;
  version: number;
  batchId: string | null;
}

/** The repo column's form: `owner/name`. */
export const repoKey = (repo: RepoRef | string): string =>
  typeof repo === "string" ? repo : repoFullName(repo);

/** A save found another version than expected (or no row): reload and re-apply the event. */
export class StaleRunError extends Error {
  constructor(
    readonly runId: string,
    readonly expectedVersion: number | undefined,
    readonly actualVersion: number | undefined,
  ) {
    super(
      actualVersion === undefined
        ? `Run ${runId} does not exist`
        : `Run ${runId} is at version ${actualVersion}, expected ${expectedVersion}`,
    );
    this.name = "StaleRunError";
  }
}

interface RunRecord {
  state: RunState;
  version: number;
  batch_id: string | null;
}

const toStored = (r: RunRecord): StoredRun => ({ state: r.state, version: r.version, batchId: r.batch_id });

export async function insertRun(
  tx: Db,
  state: RunState,
  options: { batchId?: string; installationId?: number } = {},
): Promise<void> {
  const p = projection(state);
  await tx.query(
    `WITH written AS (
       INSERT INTO runs (id, repo, issue, status, state, batch_id, cost_usd, version, created_at, updated_at,
                         installation_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $12)
       RETURNING id, version)
     ${projectCtes({ updatedAt: 9, stages: 10, attempts: 11 })}
     SELECT version FROM written`,
    [
      state.id,
      repoKey(state.repo),
      state.issue,
      state.status,
      JSON.stringify(state),
      options.batchId ?? null,
      state.costUsd,
      new Date(state.createdAt),
      new Date(state.updatedAt),
      p.stages,
      p.attempts,
      options.installationId ?? null,
    ],
  );
}

export async function getRun(
  db: Db,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<StoredRun | undefined> {
  const r = await db.query<RunRecord>(
    `SELECT state, version, batch_id FROM runs WHERE id = $1${options.forUpdate ? " FOR UPDATE" : ""}`,
    [id],
  );
  const row = r.rows[0];
  return row ? toStored(row) : undefined;
}

/** The runs of one issue, newest first. */
export async function findRunsByIssue(db: Db, repo: RepoRef | string, issue: number): Promise<StoredRun[]> {
  const r = await db.query<RunRecord>(
    `SELECT state, version, batch_id FROM runs WHERE repo = $1 AND issue = $2
      ORDER BY created_at DESC, id DESC`,
    [repoKey(repo), issue],
  );
  return r.rows.map(toStored);
}

/** The run an attempt belongs to (attempt ids travel in the Actions run-name). */
export async function findRunByAttempt(db: Db, attemptId: string): Promise<StoredRun | undefined> {
  const r = await db.query<RunRecord>(
    `SELECT r.state, r.version, r.batch_id FROM attempts a JOIN runs r ON r.id = a.run_id WHERE a.id = $1`,
    [attemptId],
  );
  const row = r.rows[0];
  return row ? toStored(row) : undefined;
}

export async function listRuns(
  db: Db,
  filter: { repo?: RepoRef | string; statuses?: string[]; batchId?: string } = {},
): Promise<StoredRun[]> {
  const r = await db.query<RunRecord>(
    `SELECT state, version, batch_id FROM runs
      WHERE ($1::text IS NULL OR repo = $1)
        AND ($2::text[] IS NULL OR status = ANY($2::text[]))
        AND ($3::text IS NULL OR batch_id = $3)
      ORDER BY created_at, id`,
    [filter.repo ? repoKey(filter.repo) : null, filter.statuses ?? null, filter.batchId ?? null],
  );
  return r.rows.map(toStored);
}

/**
 * Stores a new state for an existing run and returns its new version. With `expectedVersion`, the
 * save succeeds only if nobody saved in between; otherwise (and for a missing run) it throws
 * StaleRunError. `batchId` undefined keeps the stored one.
 */
export async function saveRun(
  tx: Db,
  state: RunState,
  options: { expectedVersion?: number; batchId?: string | null } = {},
): Promise<number> {
  const p = projection(state);
  // One statement for the state and its projections: the delivery path makes few round trips.
  const r = await tx.query<{ version: number }>(
    `WITH written AS (
       UPDATE runs SET status = $2, state = $3, cost_usd = $4, updated_at = $5, version = version + 1,
              batch_id = CASE WHEN $7::boolean THEN $8 ELSE batch_id END
        WHERE id = $1 AND ($6::integer IS NULL OR version = $6)
        RETURNING id, version)
     ${projectCtes({ updatedAt: 5, stages: 9, attempts: 10 })}
     SELECT version FROM written`,
    [
      state.id,
      state.status,
      JSON.stringify(state),
      state.costUsd,
      new Date(state.updatedAt),
      options.expectedVersion ?? null,
      options.batchId !== undefined,
      options.batchId ?? null,
      p.stages,
      p.attempts,
    ],
  );
  const row = r.rows[0];
  if (!row) {
    const current = await tx.query<{ version: number }>("SELECT version FROM runs WHERE id = $1", [state.id]);
    throw new StaleRunError(state.id, options.expectedVersion, current.rows[0]?.version);
  }
  return row.version;
}

/** Status of an attempt as seen from the state: the result's status once there is one. */
export function attemptStatus(attempt: RunState["stages"][string]["attempts"][number]): string {
  if (attempt.result) return attempt.result.status;
  if (attempt.finishedAt !== undefined) return "lost";
  if (attempt.startedAt !== undefined) return "running";
  return "dispatched";
}

/**
 * Upserts of the stages and attempts projections, as CTEs that run only when the run row was
 * written (CTE `written`), given the positions of the parameters they read.
 */
const projectCtes = (p: { updatedAt: number; stages: number; attempts: number }): string => `,
     projected_stages AS (
       INSERT INTO stages (run_id, stage, status, profile, updated_at)
       SELECT w.id, x.e->>'stage', x.e->>'status', x.e->>'profile', $${p.updatedAt}
         FROM written w, jsonb_array_elements($${p.stages}::jsonb) AS x(e)
       ON CONFLICT (run_id, stage) DO UPDATE
         SET status = EXCLUDED.status, profile = EXCLUDED.profile, updated_at = EXCLUDED.updated_at
         WHERE stages.status IS DISTINCT FROM EXCLUDED.status OR stages.profile IS DISTINCT FROM EXCLUDED.profile),
     projected_attempts AS (
       INSERT INTO attempts (id, run_id, stage, number, profile, reviewer, status, workflow_run_id, run_url,
                             dispatched_at, started_at, finished_at, cost_usd, input_tokens, output_tokens)
       SELECT x.id, w.id, x.stage, x.number, x.profile, x.reviewer, x.status, x.workflow_run_id, x.run_url,
              x.dispatched_at, x.started_at, x.finished_at, x.cost_usd, x.input_tokens, x.output_tokens
         FROM written w, jsonb_to_recordset($${p.attempts}::jsonb) AS x(id text, stage text, number integer, profile text,
              reviewer text, status text, workflow_run_id bigint, run_url text, dispatched_at timestamptz,
              started_at timestamptz, finished_at timestamptz, cost_usd numeric, input_tokens bigint, output_tokens bigint)
       ON CONFLICT (id) DO UPDATE SET
         status = EXCLUDED.status, profile = EXCLUDED.profile,
         workflow_run_id = COALESCE(EXCLUDED.workflow_run_id, attempts.workflow_run_id),
         run_url = COALESCE(EXCLUDED.run_url, attempts.run_url),
         started_at = COALESCE(EXCLUDED.started_at, attempts.started_at),
         finished_at = COALESCE(EXCLUDED.finished_at, attempts.finished_at),
         cost_usd = GREATEST(EXCLUDED.cost_usd, attempts.cost_usd),
         input_tokens = GREATEST(EXCLUDED.input_tokens, attempts.input_tokens),
         output_tokens = GREATEST(EXCLUDED.output_tokens, attempts.output_tokens))`;

function projection(state: RunState): { stages: string; attempts: string } {
  const stages = Object.values(state.stages).map((s) => ({
    stage: s.id,
    status: s.status,
    profile: s.profile,
  }));
  const attempts = Object.values(state.stages).flatMap((s) =>
    s.attempts.map((a) => ({
      id: a.id,
      stage: s.id,
      number: a.number,
      profile: a.profile,
      reviewer: a.reviewer ?? null,
      status: attemptStatus(a),
      workflow_run_id: a.workflowRunId ?? null,
      run_url: a.runUrl ?? null,
      dispatched_at: new Date(a.dispatchedAt).toISOString(),
      started_at: a.startedAt === undefined ? null : new Date(a.startedAt).toISOString(),
      finished_at: a.finishedAt === undefined ? null : new Date(a.finishedAt).toISOString(),
      cost_usd: chargedUsd(a),
      input_tokens: a.result?.tokens.input ?? 0,
      output_tokens: a.result?.tokens.output ?? 0,
    })),
  );
  return { stages: JSON.stringify(stages), attempts: JSON.stringify(attempts) };
}
