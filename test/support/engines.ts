/**
 * Store tests run on both engines: `describe.each(engines())` gives an in-memory PGlite and, when the
 * global setup provided one, a real PostgreSQL where every `open()` gets its own fresh schema (test
 * files run in parallel forks and must not see each other's rows).
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, inject } from "vitest";
import { openDb } from "../../src/store/db.js";
import type { Db, OpenDbOptions } from "../../src/store/db.js";

export interface Engine {
  name: "pglite" | "postgres";
  /** How this engine runs, when there is more than one way (PGlite in the test's process or its own). */
  variant?: string;
  /** Null when this engine is unavailable here (the suite is then skipped). */
  url: string | null;
  open(options?: Omit<OpenDbOptions, "databaseUrl" | "dataDir" | "schema">): Promise<TestDb>;
}

export interface TestDb extends Db {
  /** PostgreSQL: the schema this database lives in (for opening a second pool on it). */
  schema?: string;
  /** Opens another handle on the same database (a second "process"). */
  reopen(options?: Omit<OpenDbOptions, "databaseUrl" | "dataDir" | "schema">): Promise<Db>;
}

let template: Promise<Blob | undefined> | undefined;

/** The migrated PGlite dump made by the global setup (read once per test file). */
export function pgliteTemplate(): Promise<Blob | undefined> {
  const file = inject("pgliteTemplate");
  template ??= file ? readFile(file).then((buf) => new Blob([buf])) : Promise.resolve(undefined);
  return template;
}

export function postgresUrl(): string | null {
  return inject("postgresUrl");
}

/** PGlite on a data directory in a process of its own, as the App runs it (store tests use it too). */
export function pgliteProcessEngine(): Engine {
  return {
    name: "pglite",
    variant: "own process",
    url: "file://",
    open: async (options = {}) => {
      const template = await pgliteTemplate();
      const dir = await mkdtemp(join(tmpdir(), "trellis-pglite-"));
      const dataDir = join(dir, "db");
      const db = await openDb({
        ...options,
        dataDir,
        pgliteProcess: true,
        ...(template ? { loadDataDir: template } : {}),
      });
      const close = db.close.bind(db);
      return Object.assign(db, {
        reopen: () => Promise.reject(new Error("PGlite is a single connection: one handle at a time")),
        close: async () => {
          await close();
          await rm(dir, { recursive: true, force: true });
        },
      });
    },
  };
}

export function engines(): Engine[] {
  const url = postgresUrl();
  return [
    {
      name: "pglite",
      url: "memory://",
      open: async (options = {}) => {
        const template = await pgliteTemplate();
        const db = await openDb({
          ...options,
          dataDir: "memory://",
          ...(template ? { loadDataDir: template } : {}),
        });
        return Object.assign(db, {
          reopen: () => Promise.reject(new Error("an in-memory PGlite cannot be opened twice")),
        });
      },
    },
    {
      name: "postgres",
      url,
      open: async (options = {}) => {
        if (!url) throw new Error("PostgreSQL is not available");
        const schema = `t_${randomUUID().replaceAll("-", "").slice(0, 20)}`;
        const db = await openDb({ ...options, databaseUrl: url, schema });
        const close = db.close.bind(db);
        return Object.assign(db, {
          schema,
          reopen: (more: Omit<OpenDbOptions, "databaseUrl" | "dataDir" | "schema"> = {}) =>
            openDb({ ...more, databaseUrl: url, schema }),
          close: async () => {
            await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
            await close();
          },
        });
      },
    },
  ];
}

/**
 * `describe.each` helper: the engines with a `skip` flag and a readable title. The store's own tests
 * add PGlite in its own process (`withPgliteProcess`); the App's tests use the in-process one.
 */
export function engineCases(
  options: { withPgliteProcess?: boolean } = {},
): { title: string; engine: Engine; skip: boolean }[] {
  const all = options.withPgliteProcess ? [...engines(), pgliteProcessEngine()] : engines();
  return all.map((engine) => ({
    title: !engine.url
      ? `${engine.name} (skipped: ${inject("postgresUnavailableReason")})`
      : engine.variant
        ? `${engine.name} (${engine.variant})`
        : engine.name,
    engine,
    skip: engine.url === null,
  }));
}

/**
 * Opens one database for the enclosing describe block (opening PGlite costs seconds) and empties
 * every table before each test. Returns a getter for the open database.
 */
export function useDb(engine: Engine, skip: boolean): () => TestDb {
  let db: TestDb | undefined;
  beforeAll(async () => {
    if (!skip) db = await engine.open();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    if (db) await truncateAll(db);
  });
  return () => {
    if (!db) throw new Error("database not open");
    return db;
  };
}

export async function truncateAll(db: Db): Promise<void> {
  const r = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'`,
  );
  if (r.rows.length === 0) return;
  await db.query(`TRUNCATE ${r.rows.map((t) => t.table_name).join(", ")} RESTART IDENTITY CASCADE`);
}
