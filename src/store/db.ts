/**
 * One database interface over two engines: a PostgreSQL server through node-postgres (`DATABASE_URL`)
 * or an embedded PGlite database in a data directory (zero set-up). The same SQL runs on both.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { Transaction as PGliteTransaction } from "@electric-sql/pglite";
import pg from "pg";
import { applyMigrations } from "./migrate.js";

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Db {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Runs a multi-statement script without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in a transaction; nested calls become savepoints. Rolls back when `fn` throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly kind: "postgres" | "pglite";
  /**
   * Statements that go ahead of queued work (the webhook's request path: GitHub waits on it, the
   * worker does not). PGlite: a priority lane of its single connection. Absent: use the Db itself.
   */
  readonly urgent?: Pick<Db, "query">;
}

export interface OpenDbOptions {
  /** A PostgreSQL URL. Defaults to `DATABASE_URL` unless `dataDir` is given. */
  databaseUrl?: string;
  /** PGlite data directory (default `.trellis/db`); `memory://` for an in-memory database. */
  dataDir?: string;
  /** PostgreSQL only: a schema to create and use (isolates tests sharing one database). */
  schema?: string;
  /** Pool size for PostgreSQL (default 10). */
  maxConnections?: number;
  /**
   * PGlite only: start from a dump made by `pgliteTemplate()` instead of running initdb (seconds
   * faster; tests open many in-memory databases). Only used when the data directory is new.
   */
  loadDataDir?: Blob;
  /** Skip applying migrations at open (the migrate command applies them itself). */
  migrate?: boolean;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_DATA_DIR = ".trellis/db";

// int8 (ids, counters) and numeric (money) as JS numbers on both engines: the values stay far
// below 2^53, and one representation keeps the repository code engine-independent.
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const toNumber = (value: string): number => Number(value);

export async function openDb(options: OpenDbOptions = {}): Promise<Db> {
  const env = options.env ?? process.env;
  const url = options.databaseUrl ?? (options.dataDir === undefined ? env.DATABASE_URL : undefined);
  const db = url
    ? await openPostgres(url, options)
    : await openPglite(options.dataDir ?? DEFAULT_DATA_DIR, options.loadDataDir);
  if (options.migrate !== false) {
    try {
      await applyMigrations(db);
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  return db;
}

/** Where a database lives, for log lines (never prints credentials). */
export function describeTarget(options: OpenDbOptions = {}): string {
  const env = options.env ?? process.env;
  const url = options.databaseUrl ?? (options.dataDir === undefined ? env.DATABASE_URL : undefined);
  if (url) {
    try {
      const u = new URL(url);
      return `postgres ${u.hostname}:${u.port || "5432"}${u.pathname}`;
    } catch {
      return "postgres (unparsable URL)";
    }
  }
  return `pglite ${options.dataDir ?? DEFAULT_DATA_DIR}`;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

async function openPostgres(url: string, options: OpenDbOptions): Promise<Db> {
  const schema = options.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`Invalid schema name "${schema}": use lower-case letters, digits and underscores.`);
  }
  const pgTypes = {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === INT8_OID || oid === NUMERIC_OID
        ? toNumber
        : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    types: pgTypes,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on("error", () => undefined);
  if (schema) {
    // Concurrent CREATE SCHEMA IF NOT EXISTS can still collide; serialise it.
    const client = await pool.connect();
    try {
      await client.query("SELECT pg_advisory_lock(hashtext('trellis:create-schema'))");
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query("SELECT pg_advisory_unlock(hashtext('trellis:create-schema'))");
    } finally {
      client.release();
    }
  }

  const clientDb = (client: pg.PoolClient, depth: number): Db => ({
    kind: "postgres",
    query: async <T>(sql: string, params?: unknown[]) => {
      const r = await client.query(sql, params);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
    exec: async (sql) => {
      await client.query(sql);
    },
    transaction: (fn) => savepoint(clientDb(client, depth + 1), depth + 1, fn),
    close: () => Promise.reject(new Error("close() called on a transaction")),
  });

  return {
    kind: "postgres",
    query: async <T>(sql: string, params?: unknown[]) => {
      const r = await pool.query(sql, params);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
    exec: async (sql) => {
      await pool.query(sql);
    },
    transaction: async (fn) => {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        try {
          const result = await fn(clientDb(client, 0));
          await client.query("COMMIT");
          return result;
        } catch (error) {
          try {
            await client.query("ROLLBACK");
          } catch {
            broken = true; // the connection is unusable; drop it from the pool
          }
          throw error;
        }
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

async function savepoint<T>(tx: Db, depth: number, fn: (tx: Db) => Promise<T>): Promise<T> {
  const name = `trellis_sp_${depth}`;
  await tx.query(`SAVEPOINT ${name}`);
  try {
    const result = await fn(tx);
    await tx.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (error) {
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
    throw error;
  }
}

/** A freshly initialised and migrated in-memory database, dumped for `loadDataDir`. */
export async function pgliteTemplate(): Promise<Blob> {
  const lite = await createPglite("memory://");
  try {
    await applyMigrations(wrapPglite(lite));
    return await lite.dumpDataDir("none");
  } finally {
    await lite.close();
  }
}

async function openPglite(dataDir: string, loadDataDir?: Blob): Promise<Db> {
  let template = loadDataDir;
  if (!dataDir.includes("://")) {
    await mkdir(dirname(resolve(dataDir)), { recursive: true });
    // PGlite refuses to load a dump over an existing database.
    if (existsSync(join(dataDir, "PG_VERSION"))) template = undefined;
  }
  return wrapPglite(await createPglite(dataDir, template));
}

function createPglite(dataDir: string, loadDataDir?: Blob): Promise<PGlite> {
  return PGlite.create(dataDir, {
    ...(loadDataDir ? { loadDataDir } : {}),
    parsers: { [INT8_OID]: toNumber, [NUMERIC_OID]: toNumber },
    // PostgreSQL's default 128 MB of shared buffers lives inside the wasm heap; Trellis' working set
    // is small, and 16 MB takes the App's resident memory from ~290 MB to ~170 MB.
    postgresqlconf: ["shared_buffers=16MB"],
  });
}

function wrapPglite(lite: PGlite): Db {
  // PGlite is a single connection. Its own mutex keeps a transaction's statements together; the
  // queue here makes that explicit, in two FIFO lanes: urgent statements (webhook acks) run before
  // queued normal work (the worker's transactions). A running task is never interrupted.
  interface Task {
    run(): Promise<unknown>;
    resolve(value: unknown): void;
    reject(error: unknown): void;
  }
  const lanes: { urgent: Task[]; normal: Task[] } = { urgent: [], normal: [] };
  let draining = false;
  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    for (let task = lanes.urgent.shift() ?? lanes.normal.shift(); task;) {
      try {
        task.resolve(await task.run());
      } catch (error) {
        task.reject(error);
      }
      task = lanes.urgent.shift() ?? lanes.normal.shift();
    }
    draining = false;
  };
  // Using the database (not `tx`) inside a transaction callback would wait for itself forever; the
  // async context tells us, so that mistake fails fast instead. The flag object is switched off at
  // the end, so work merely started inside a transaction may use the database afterwards.
  const inTransaction = new AsyncLocalStorage<{ active: boolean }>();
  const serialised = <T>(task: () => Promise<T>, urgent = false): Promise<T> => {
    if (inTransaction.getStore()?.active) {
      return Promise.reject(
        new Error(
          "PGlite: the database was used inside its own transaction; use the transaction handle (tx)",
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      lanes[urgent ? "urgent" : "normal"].push({
        run: task,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      void drain();
    });
  };
  const query =
    (urgent: boolean) =>
    <T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> =>
      serialised(async () => {
        const r = await lite.query<T>(sql, params);
        return { rows: r.rows, rowCount: r.affectedRows || r.rows.length };
      }, urgent);

  const txDb = (tx: PGliteTransaction, depth: number): Db => ({
    kind: "pglite",
    query: async <T>(sql: string, params?: unknown[]) => {
      const r = await tx.query<T>(sql, params);
      return { rows: r.rows, rowCount: r.affectedRows || r.rows.length };
    },
    exec: async (sql) => {
      await tx.exec(sql);
    },
    transaction: (fn) => savepoint(txDb(tx, depth + 1), depth + 1, fn),
    close: () => Promise.reject(new Error("close() called on a transaction")),
  });

  return {
    kind: "pglite",
    query: query(false),
    urgent: { query: query(true) },
    exec: (sql) =>
      serialised(async () => {
        await lite.exec(sql);
      }),
    transaction: (fn) =>
      serialised(() =>
        lite.transaction(async (tx) => {
          const flag = { active: true };
          try {
            return await inTransaction.run(flag, () => fn(txDb(tx, 0)));
          } finally {
            flag.active = false;
          }
        }),
      ),
    close: () => serialised(() => lite.close()),
  };
}
