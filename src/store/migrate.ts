/**
 * Plain SQL migrations (src/store/migrations/NNN_name.sql), identical on both engines. Each runs in
 * its own transaction under an advisory lock, so processes starting together apply each exactly once.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { findPackageRoot } from "../builtins.js";
import type { Db } from "./connection.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATION_FILE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;
// From the package root, so that compiled code (dist/src/store/) reads the same files as src/ under tsx.
export const MIGRATIONS_DIR = join(findPackageRoot(import.meta.url), "src", "store", "migrations");
/** Advisory-lock namespace for migrations (first key of the two-int form). */
const MIGRATION_LOCK = 7_357_001;

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) throw new Error(`Migration file "${file}" must be named NNN_name.sql`);
    const sql = await readFile(join(dir, file), "utf8");
    migrations.push({ version: Number(match[1]), name: match[2] ?? file, sql });
  }
  const seen = new Set<number>();
  for (const m of migrations) {
    if (seen.has(m.version)) throw new Error(`Two migrations share version ${m.version}`);
    seen.add(m.version);
  }
  return migrations;
}

/** Applies the pending migrations; returns the ones applied by this call, in order. */
export async function applyMigrations(db: Db, migrations?: Migration[]): Promise<Migration[]> {
  const all = migrations ?? (await loadMigrations());
  await db.transaction(async (tx) => {
    await lockMigrations(tx);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
  });
  const applied: Migration[] = [];
  for (const migration of all) {
    const done = await db.transaction(async (tx) => {
      await lockMigrations(tx);
      const existing = await tx.query("SELECT 1 FROM schema_migrations WHERE version = $1", [
        migration.version,
      ]);
      if (existing.rowCount > 0) return false;
      await tx.exec(migration.sql);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (done) applied.push(migration);
  }
  return applied;
}

export async function appliedMigrations(db: Db): Promise<{ version: number; name: string }[]> {
  const r = await db.query<{ version: number; name: string }>(
    "SELECT version, name FROM schema_migrations ORDER BY version",
  );
  return r.rows;
}

// Keyed by schema so test schemas sharing one database do not wait on each other.
async function lockMigrations(tx: Db): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", [MIGRATION_LOCK]);
}
