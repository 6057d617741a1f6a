/**
 * Store tests run on both engines: `describe.each(engines())` gives an in-memory PGlite and, when the
 * global setup provided one, a real PostgreSQL where every `open()` gets its own fresh schema (test
 * files run in parallel forks and must not see each other's rows).
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, beforeEach, inject } from "vitest";
import { openDb } from "../../src/store/db.js";
import type { Db, OpenDbOptions } from "../../src/store/db.js";

export interface Engine {
  name: "pglite" | "postgres";
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

/** `describe.each` helper: the engines with a `skip` flag and a readable title. */
export function engineCases(): { title: string; engine: Engine; skip: boolean }[] {
  return engines().map((engine) => ({
    title: engine.url ? engine.name : `${engine.name} (skipped: ${inject("postgresUnavailableReason")})`,
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
