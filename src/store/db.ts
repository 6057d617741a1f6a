/**
 * One database interface over two engines: a PostgreSQL server through node-postgres (`DATABASE_URL`)
 * or an embedded PGlite database in a data directory (zero set-up). The same SQL runs on both.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { fork } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import type { Db, QueryResult } from "./connection.js";
import { applyMigrations } from "./migrate.js";
import type { PgliteConnection } from "./pglite-connection.js";
import {
  fromPgliteError,
  INT8_OID,
  NUMERIC_OID,
  toNumber,
  type PgliteReply,
  type PgliteRequest,
} from "./pglite-protocol.js";

export type { Db, QueryResult } from "./connection.js";

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
  /**
   * PGlite only: run the database in a process of its own (pglite-process.ts) instead of in this one.
   * Default: yes for a data directory on disk (the App), no for `memory://` (tests, one-off tools).
   */
  pgliteProcess?: boolean;
  /** Skip applying migrations at open (the migrate command applies them itself). */
  migrate?: boolean;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_DATA_DIR = ".trellis/db";

/** One round trip: the readiness check's proof that the database answers (ahead of queued work on PGlite). */
export async function pingDb(db: Db): Promise<void> {
  await (db.urgent ?? db).query("SELECT 1");
}

export async function openDb(options: OpenDbOptions = {}): Promise<Db> {
  const env = options.env ?? process.env;
  const url = options.databaseUrl ?? (options.dataDir === undefined ? env.DATABASE_URL : undefined);
  const db = url
    ? await openPostgres(url, options)
    : await openPglite(options.dataDir ?? DEFAULT_DATA_DIR, options);
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
  const connection = await inProcess("memory://");
  try {
    await applyMigrations(wrapPglite(connection));
    return await connection.dump();
  } finally {
    await connection.close();
  }
}

async function openPglite(dataDir: string, options: OpenDbOptions): Promise<Db> {
  let template = options.loadDataDir;
  const inMemory = dataDir.includes("://");
  const inOwnProcess = options.pgliteProcess ?? !inMemory;
  if (!inMemory) {
    await mkdir(dirname(resolve(dataDir)), { recursive: true });
    // PGlite refuses to load a dump over an existing database.
    if (existsSync(join(dataDir, "PG_VERSION"))) template = undefined;
    // A new data directory: initdb grows the WebAssembly memory to ~750 MB, which is never given back,
    // so it runs in a process of its own that then ends; the database proper starts at ~170 MB.
    else if (inOwnProcess) {
      await (await forkPglite(dataDir, template)).close();
      template = undefined;
    }
  }
  return wrapPglite(await (inOwnProcess ? forkPglite : inProcess)(dataDir, template));
}

/** PGlite in this process, loaded on demand (the App's own runs in a process of its own). */
async function inProcess(dataDir: string, loadDataDir?: Blob) {
  const { openPgliteConnection } = await import("./pglite-connection.js");
  return openPgliteConnection(dataDir, loadDataDir);
}

/** PGlite in a process of its own (pglite-process.ts), spoken to over IPC. */
async function forkPglite(dataDir: string, loadDataDir?: Blob): Promise<PgliteConnection> {
  const here = fileURLToPath(import.meta.url);
  // The sibling entry point: pglite-process.ts under tsx or vitest, pglite-process.js when compiled.
  const extension = extname(here);
  const child = fork(join(dirname(here), `pglite-process${extension}`), [], {
    serialization: "advanced",
    // Compiled, the child runs with the App's Node options (npm start's heap settings). From source it
    // needs tsx too (by path: `--import` would resolve a bare name from the cwd).
    execArgv:
      extension === ".ts"
        ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href]
        : process.execArgv,
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  type Answer = Extract<PgliteReply, { ok: true }>;
  const pending = new Map<number, { resolve(reply: Answer): void; reject(error: Error): void }>();
  let gone: Error | undefined;
  let opened = false;
  let closed = false;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const fail = (error: Error) => {
    gone ??= error;
    for (const waiting of pending.values()) waiting.reject(gone);
    pending.clear();
  };
  child.on("message", (reply: PgliteReply) => {
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    if (reply.ok) waiting.resolve(reply);
    else waiting.reject(fromPgliteError(reply.error));
  });
  // The App must not limp on without its database: whoever listens learns that the process died while open.
  const lostListeners: ((error: Error) => void)[] = [];
  let lost: Error | undefined;
  child.on("error", fail);
  child.on("exit", (code, signal) => {
    fail(
      new Error(
        closed
          ? "the embedded database is closed"
          : `the embedded database process (PGlite, ${dataDir}) exited ${signal ? `on ${signal}` : `with code ${code}`}`,
      ),
    );
    if (closed || !opened) return;
    lost = gone;
    for (const listener of lostListeners.splice(0)) listener(lost!);
  });
  let nextId = 1;
  const call = (request: PgliteRequest, id: number): Promise<Answer> =>
    new Promise((resolveReply, reject) => {
      if (gone) return reject(gone);
      pending.set(id, { resolve: resolveReply, reject });
      child.send(request);
    });
  const bytes = loadDataDir ? new Uint8Array(await loadDataDir.arrayBuffer()) : undefined;
  try {
    await call({ op: "open", dataDir, ...(bytes ? { loadDataDir: bytes } : {}) }, 0);
    opened = true;
  } catch (error) {
    child.kill();
    throw error;
  }
  return {
    onLost: (listener) => {
      if (lost) queueMicrotask(() => listener(lost!));
      else lostListeners.push(listener);
    },
    query: async <T>(sql: string, params?: unknown[]) => {
      const id = nextId++;
      const reply = await call({ op: "query", id, sql, ...(params ? { params } : {}) }, id);
      return { rows: reply.rows as T[], rowCount: reply.rowCount };
    },
    exec: async (sql) => {
      const id = nextId++;
      await call({ op: "exec", id, sql }, id);
    },
    close: async () => {
      if (gone) return;
      const id = nextId++;
      await call({ op: "close", id }, id);
      closed = true;
      child.disconnect(); // the process ends when its channel closes
      await exited;
    },
  };
}

function wrapPglite(connection: PgliteConnection): Db {
  // PGlite is a single connection: a transaction's statements must not interleave with others. The
  // queue here serialises the work, in two FIFO lanes: urgent statements (webhook acks) run before
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
      serialised(() => connection.query<T>(sql, params), urgent);

  const txDb = (depth: number): Db => ({
    kind: "pglite",
    query: (sql, params) => connection.query(sql, params),
    exec: (sql) => connection.exec(sql),
    transaction: (fn) => savepoint(txDb(depth + 1), depth + 1, fn),
    close: () => Promise.reject(new Error("close() called on a transaction")),
  });

  return {
    kind: "pglite",
    ...(connection.onLost ? { onLost: (listener) => connection.onLost!(listener) } : {}),
    query: query(false),
    urgent: { query: query(true) },
    exec: (sql) => serialised(() => connection.exec(sql)),
    transaction: (fn) =>
      serialised(async () => {
        await connection.query("BEGIN");
        const flag = { active: true };
        try {
          const result = await inTransaction.run(flag, () => fn(txDb(0)));
          await connection.query("COMMIT");
          return result;
        } catch (error) {
          // After a failed COMMIT there is nothing left to roll back; PostgreSQL only warns.
          await connection.query("ROLLBACK").catch(() => undefined);
          throw error;
        } finally {
          flag.active = false;
        }
      }),
    close: () => serialised(() => connection.close()),
  };
}
