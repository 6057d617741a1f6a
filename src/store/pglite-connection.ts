/**
 * PGlite in this process, as the one connection the store speaks to (db.ts in-process, and the embedded
 * database's own process, pglite-process.ts).
 *
 * Statements run as prepared statements. PGlite's `query()` enters the WASM backend six times per
 * statement (parse, describe, bind, describe, execute, sync) and parses and plans the SQL every time.
 * Trellis sends the same few dozen statements over and over, so each is parsed once as a named prepared
 * statement and afterwards runs in ONE trip (bind, describe, execute, sync) on PostgreSQL's cached
 * plan: the webhook's ingest statement takes 0.34 (one delivery) to 0.70 (32 deliveries) of the time
 * (`npx tsx test/bench/pglite-prepared.ts`). Values are serialised and rows parsed by PGlite's own
 * code, so results are exactly those of `query()`.
 */
import { parse, PGlite, protocol, type Results } from "@electric-sql/pglite";
import type { QueryResult } from "./connection.js";
import { lockDataDir } from "./data-dir-lock.js";
import { pgliteOptions } from "./pglite-protocol.js";

/** PGlite's single connection, wherever it runs: statements one at a time, in the order given. */
export interface PgliteConnection {
  query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  /** The database's own process died while open (db.ts `forkPglite`); in this process it never happens. */
  onLost?(listener: (error: Error) => void): void;
}

/**
 * Opens (creating, or loading `loadDataDir` into, a new directory) PGlite in this process. A data directory on disk
 * is locked first (data-dir-lock.ts): a second process on it gets a clear error instead of corrupting it.
 */
export async function openPgliteConnection(
  dataDir: string,
  loadDataDir?: Blob,
): Promise<PgliteConnection & { dump(): Promise<Blob> }> {
  const lock = dataDir.includes("://") ? undefined : await lockDataDir(dataDir);
  let lite: PGlite;
  try {
    lite = await PGlite.create(dataDir, { ...pgliteOptions(), ...(loadDataDir ? { loadDataDir } : {}) });
  } catch (error) {
    await lock?.release();
    throw error;
  }
  const prepared = preparedQuery(lite);
  return {
    query: async <T>(sql: string, params?: unknown[]) => {
      const r = await prepared<T>(sql, params);
      return { rows: r.rows, rowCount: r.affectedRows || r.rows.length };
    },
    exec: async (sql) => {
      await lite.exec(sql);
    },
    close: async () => {
      try {
        await lite.close();
      } finally {
        await lock?.release();
      }
    },
    dump: () => lite.dumpDataDir("none"),
  };
}

/** A bound on server-side statements; a process that somehow builds SQL dynamically falls back. */
const MAX_PREPARED = 500;

// "cached plan must not change result type" (a table under a `SELECT *` changed) and an unknown
// statement name: the statement is prepared again on the next call.
const STALE_STATEMENT = new Set(["0A000", "26000"]);

type Query = <T>(sql: string, params?: unknown[]) => Promise<Results<T>>;

export function preparedQuery(lite: PGlite): Query {
  const statements = new Map<string, { name: string; paramTypes: number[] }>();
  let nextName = 1;
  const { serialize } = protocol;

  const prepare = async (sql: string) => {
    const name = `trellis_${nextName++}`;
    const { messages } = await lite.execProtocol(
      concat([
        serialize.parse({ name, text: sql, types: [] }),
        serialize.describe({ type: "S", name }),
        serialize.sync(),
      ]),
    );
    const statement = { name, paramTypes: parse.parseDescribeStatementResults(messages) };
    statements.set(sql, statement);
    return statement;
  };

  return async <T>(sql: string, params: unknown[] = []): Promise<Results<T>> => {
    const known = statements.get(sql);
    if (!known && statements.size >= MAX_PREPARED) return lite.query<T>(sql, params);
    const { name, paramTypes } = known ?? (await prepare(sql));
    const values = params.map((param, i) => {
      if (param === null || param === undefined) return null;
      const serializer = lite.serializers[paramTypes[i] ?? 0];
      return serializer ? serializer(param) : String(param);
    });
    try {
      const { messages } = await lite.execProtocol(
        concat([
          serialize.bind({ statement: name, values }),
          serialize.describe({ type: "P" }),
          serialize.execute({}),
          serialize.sync(),
        ]),
      );
      return parse.parseResults(messages, lite.parsers)[0] as Results<T>;
    } catch (error) {
      if (STALE_STATEMENT.has((error as { code?: string }).code ?? "")) statements.delete(sql);
      throw error;
    }
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
