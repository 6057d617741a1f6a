/** What the store needs of a database connection: PostgreSQL (pg) and embedded PGlite both provide it. */

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
  /**
   * Calls `listener` once if the database goes away for good while open: the embedded database's process died.
   * Absent where that cannot happen (PostgreSQL: the pool reconnects; readiness tells whether it answers).
   */
  onLost?(listener: (error: Error) => void): void;
}
