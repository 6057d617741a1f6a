/** Installations of the App and the repositories they grant (from installation webhooks). */
import type { Db } from "./db.js";

export interface InstallationInput {
  id: number;
  account: string;
  accountType?: string;
}

export interface RepoInput {
  fullName: string;
  githubId?: number;
}

export async function upsertInstallation(tx: Db, i: InstallationInput): Promise<void> {
  await tx.query(
    `INSERT INTO installations (id, account, account_type) VALUES ($1, $2, COALESCE($3, 'Organization'))
     ON CONFLICT (id) DO UPDATE SET account = EXCLUDED.account, account_type = EXCLUDED.account_type,
       updated_at = now(), deleted_at = NULL`,
    [i.id, i.account, i.accountType ?? null],
  );
}

/** Marks an installation suspended (true) or active again (false). */
export async function setInstallationSuspended(tx: Db, id: number, suspended: boolean): Promise<void> {
  await tx.query(
    "UPDATE installations SET suspended_at = CASE WHEN $2::boolean THEN now() END, updated_at = now() WHERE id = $1",
    [id, suspended],
  );
}

/** An uninstall: the installation is kept (audit history) but marked deleted, its repos removed. */
export async function deleteInstallation(tx: Db, id: number): Promise<void> {
  await tx.query("UPDATE installations SET deleted_at = now(), updated_at = now() WHERE id = $1", [id]);
  await tx.query("UPDATE repos SET removed_at = now() WHERE installation_id = $1 AND removed_at IS NULL", [
    id,
  ]);
}

export async function addRepos(tx: Db, installationId: number, repos: RepoInput[]): Promise<void> {
  if (repos.length === 0) return;
  await tx.query(
    `INSERT INTO repos (full_name, github_id, installation_id)
     SELECT x.e->>'fullName', (x.e->>'githubId')::bigint, $1 FROM jsonb_array_elements($2::jsonb) AS x(e)
     ON CONFLICT (full_name) DO UPDATE SET installation_id = EXCLUDED.installation_id,
       github_id = COALESCE(EXCLUDED.github_id, repos.github_id), removed_at = NULL`,
    [installationId, JSON.stringify(repos)],
  );
}

export async function removeRepos(tx: Db, fullNames: string[]): Promise<void> {
  if (fullNames.length === 0) return;
  await tx.query("UPDATE repos SET removed_at = now() WHERE full_name = ANY($1::text[])", [fullNames]);
}

export interface RepoRow {
  fullName: string;
  githubId: number | null;
  installationId: number;
}

/** Active repositories (of one installation, or all). */
export async function listRepos(db: Db, installationId?: number): Promise<RepoRow[]> {
  const r = await db.query<{ full_name: string; github_id: number | null; installation_id: number }>(
    `SELECT r.full_name, r.github_id, r.installation_id FROM repos r
       JOIN installations i ON i.id = r.installation_id
      WHERE r.removed_at IS NULL AND i.deleted_at IS NULL AND ($1::bigint IS NULL OR r.installation_id = $1)
      ORDER BY r.full_name`,
    [installationId ?? null],
  );
  return r.rows.map((x) => ({
    fullName: x.full_name,
    githubId: x.github_id,
    installationId: x.installation_id,
  }));
}
