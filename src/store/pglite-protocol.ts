/**
 * What the App and the embedded database's process (pglite-process.ts) say to each other over IPC
 * (`serialization: "advanced"`: Dates, typed arrays and nested rows cross as they are).
 */
import type { PGliteOptions } from "@electric-sql/pglite";

// int8 (ids, counters) and numeric (money) as JS numbers on both engines: the values stay far
// below 2^53, and one representation keeps the repository code engine-independent.
export const INT8_OID = 20;
export const NUMERIC_OID = 1700;
export const toNumber = (value: string): number => Number(value);

/** PGlite's settings, the same in the App's process and in the database's own. */
export function pgliteOptions(): PGliteOptions {
  return {
    parsers: { [INT8_OID]: toNumber, [NUMERIC_OID]: toNumber },
    // PostgreSQL's default 128 MB of shared buffers lives inside the wasm heap; Trellis' working set
    // is small, and 16 MB takes the resident memory from ~290 MB to ~170 MB.
    postgresqlconf: ["shared_buffers=16MB"],
  };
}

/** The first message: which database to open (a dump to start from when the directory is new). */
export interface PgliteOpen {
  op: "open";
  dataDir: string;
  loadDataDir?: Uint8Array;
}

export type PgliteRequest =
  | PgliteOpen
  | { op: "query"; id: number; sql: string; params?: unknown[] }
  | { op: "exec"; id: number; sql: string }
  | { op: "close"; id: number };

/** An error's PostgreSQL fields (`code` 23505 and so on) survive the trip. */
export interface PgliteErrorData {
  message: string;
  code?: string;
  detail?: string;
  constraint?: string;
}

/** Id 0 answers `open`. */
export type PgliteReply =
  | { id: number; ok: true; rows: unknown[]; rowCount: number }
  | { id: number; ok: false; error: PgliteErrorData };

export function toPgliteError(error: unknown): PgliteErrorData {
  if (!(error instanceof Error)) return { message: String(error) };
  const fields = error as Error & { code?: unknown; detail?: unknown; constraint?: unknown };
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  const code = text(fields.code);
  const detail = text(fields.detail);
  const constraint = text(fields.constraint);
  return {
    message: error.message,
    ...(code ? { code } : {}),
    ...(detail ? { detail } : {}),
    ...(constraint ? { constraint } : {}),
  };
}

export function fromPgliteError(data: PgliteErrorData): Error {
  const { message, ...fields } = data;
  return Object.assign(new Error(message), fields);
}
