/**
 * `trellis migrate`: applies the store's migrations to DATABASE_URL (or --database-url), else to the
 * embedded PGlite database (--data-dir, default .trellis/db), and prints what it applied.
 */
import { parseArgs } from "node:util";
import { processIo, type Io } from "../io.js";
import { DB_ARGS, DB_HELP, withCliDb } from "./cli-db.js";
import { appliedMigrations, applyMigrations, loadMigrations } from "./migrate.js";

const HELP = `Usage: trellis migrate [options]

Applies pending database migrations. Uses DATABASE_URL when set, otherwise the embedded
PGlite database in .trellis/db.

Options:
${DB_HELP}
  --status              list applied and pending migrations without applying anything
  -h, --help            show this help
`;

export async function migrateCommand(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let values: { "database-url"?: string; "data-dir"?: string; status?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...DB_ARGS,
        status: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr(`trellis migrate: ${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  return withCliDb("migrate", values, env, io, async (db, target) => {
    const all = await loadMigrations();
    if (values.status) {
      // Reading the status must not create anything: an empty database has no migrations table yet.
      const exists = await db.query<{ t: string | null }>(
        "SELECT to_regclass('schema_migrations')::text AS t",
      );
      const done = new Set(exists.rows[0]?.t ? (await appliedMigrations(db)).map((m) => m.version) : []);
      io.stdout(`Migrations on ${target}:\n`);
      for (const m of all) io.stdout(`  ${done.has(m.version) ? "applied" : "pending"}  ${label(m)}\n`);
      return 0;
    }
    const applied = await applyMigrations(db, all);
    if (applied.length === 0) {
      io.stdout(`${target} is up to date (${all.length} migration${all.length === 1 ? "" : "s"}).\n`);
    } else {
      for (const m of applied) io.stdout(`Applied ${label(m)}\n`);
      io.stdout(`${target}: ${applied.length} migration${applied.length === 1 ? "" : "s"} applied.\n`);
    }
    return 0;
  });
}

const label = (m: { version: number; name: string }): string =>
  `${String(m.version).padStart(3, "0")}_${m.name}`;
