/** What the store's commands (`trellis migrate`, `trellis dead-letters`) share: which database, opened once, closed. */
import type { Io } from "../io.js";
import { describeTarget, openDb, type Db, type OpenDbOptions } from "./db.js";

/** The parseArgs options that choose the database. */
export const DB_ARGS = {
  "database-url": { type: "string" },
  "data-dir": { type: "string" },
} as const;

export const DB_HELP = `  --database-url <url>  PostgreSQL URL (overrides DATABASE_URL)
  --data-dir <dir>      embedded database directory (ignores DATABASE_URL)`;

/**
 * Opens DATABASE_URL (or --database-url), else the embedded PGlite database (--data-dir, default .trellis/db),
 * without migrating, runs `fn` and closes it. Exit code 1 with the reason when it cannot be opened or `fn` fails.
 */
export async function withCliDb(
  command: string,
  values: { "database-url"?: string; "data-dir"?: string },
  env: NodeJS.ProcessEnv,
  io: Io,
  fn: (db: Db, target: string) => Promise<number>,
): Promise<number> {
  const options: OpenDbOptions = { env, migrate: false };
  if (values["database-url"] !== undefined) options.databaseUrl = values["database-url"];
  if (values["data-dir"] !== undefined) options.dataDir = values["data-dir"];
  const target = describeTarget(options);
  const why = (error: unknown) => (error instanceof Error ? error.message : String(error));
  let db: Db;
  try {
    db = await openDb(options);
  } catch (error) {
    io.stderr(`trellis ${command}: cannot open ${target}: ${why(error)}\n`);
    return 1;
  }
  try {
    return await fn(db, target);
  } catch (error) {
    io.stderr(`trellis ${command}: ${target}: ${why(error)}\n`);
    return 1;
  } finally {
    await db.close();
  }
}
