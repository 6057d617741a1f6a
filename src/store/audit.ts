/** The audit log: every command, decision, dispatch and human action, with its actor. */
import type { Db } from "./db.js";

export interface AuditEntry {
  repo: string;
  actor: string;
  action: string;
  detail?: Record<string, unknown>;
  /** On the App's clock (the shell stamps its entries with the time of the decision); else the database's. */
  at?: Date;
}

export interface AuditRow extends Required<Omit<AuditEntry, "at">> {
  id: number;
  at: Date;
}

export async function appendAudit(tx: Db, entry: AuditEntry): Promise<void> {
  await tx.query(
    "INSERT INTO audit_log (at, repo, actor, action, detail) VALUES (COALESCE($1, now()), $2, $3, $4, $5)",
    [entry.at ?? null, entry.repo, entry.actor, entry.action, JSON.stringify(entry.detail ?? {})],
  );
}

/** Appends several entries in one statement (the effects of one delivery). */
export async function appendAuditEntries(tx: Db, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.query(
    `INSERT INTO audit_log (at, repo, actor, action, detail)
     SELECT COALESCE((x.e->>'at')::timestamptz, now()), x.e->>'repo', x.e->>'actor', x.e->>'action',
            COALESCE(x.e->'detail', '{}'::jsonb)
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(e, ord) ORDER BY x.ord`,
    [JSON.stringify(entries.map((e) => ({ ...e, at: e.at?.toISOString() })))],
  );
}

/** Newest first. */
export async function listAudit(
  db: Db,
  filter: { repo?: string; actor?: string; action?: string; limit?: number } = {},
): Promise<AuditRow[]> {
  const r = await db.query<AuditRow>(
    `SELECT id, at, repo, actor, action, detail FROM audit_log
      WHERE ($1::text IS NULL OR repo = $1) AND ($2::text IS NULL OR actor = $2)
        AND ($3::text IS NULL OR action = $3)
      ORDER BY at DESC, id DESC LIMIT $4`,
    [filter.repo ?? null, filter.actor ?? null, filter.action ?? null, filter.limit ?? 100],
  );
  return r.rows;
}

/** Deletes entries older than `olderThanMs` (the retention the App is configured with), on the database's clock. */
export async function pruneAudit(db: Db, olderThanMs: number): Promise<number> {
  const r = await db.query("DELETE FROM audit_log WHERE at < now() - $1 * interval '1 millisecond'", [
    olderThanMs,
  ]);
  return r.rowCount;
}

/** Whether `action` was recorded on issue `issue` of `repo` since `since` (the audit entry's `detail.issue`). */
export async function auditedOnIssueSince(
  db: Db,
  q: { repo: string; issue: number; action: string; since: Date },
): Promise<boolean> {
  const r = await db.query(
    `SELECT 1 FROM audit_log
      WHERE repo = $1 AND at >= $2 AND action = $3 AND detail->>'issue' = $4::text
      LIMIT 1`,
    [q.repo, q.since, q.action, q.issue],
  );
  return r.rows.length > 0;
}
