/**
 * The embedded database's own process: PGlite (PostgreSQL compiled to WebAssembly) on a data directory,
 * answering the App's statements over the IPC channel of `fork()`. Running it here instead of in the
 * App keeps its CPU (WASM, on the machine's other core) and its memory (≈ 150 MB of wasm heap and
 * compiled code) out of the App's webhook path, as a PostgreSQL server's are. The App's side is
 * `forkPglite()` in db.ts.
 *
 * Statements arrive already serialised (the App keeps the order of PGlite's single connection) and are
 * answered in turn. When the App goes away, the database is closed cleanly and the process ends.
 */
import { openPgliteConnection, type PgliteConnection } from "./pglite-connection.js";
import { toPgliteError, type PgliteReply, type PgliteRequest } from "./pglite-protocol.js";

const send = (message: PgliteReply): void => void process.send?.(message);

let connection: Promise<PgliteConnection> | undefined;
let closing: Promise<void> | undefined;
const close = (): Promise<void> =>
  (closing ??= connection ? connection.then((db) => db.close()) : Promise.resolve());

async function answer(request: PgliteRequest): Promise<PgliteReply> {
  if (request.op === "open") {
    const loadDataDir = request.loadDataDir ? new Blob([request.loadDataDir]) : undefined;
    connection = openPgliteConnection(request.dataDir, loadDataDir);
    await connection;
    return { id: 0, ok: true, rows: [], rowCount: 0 };
  }
  if (!connection) throw new Error("the database is not open");
  const db = await connection;
  if (request.op === "query") {
    const r = await db.query(request.sql, request.params);
    return { id: request.id, ok: true, ...r };
  }
  if (request.op === "exec") await db.exec(request.sql);
  else await close();
  return { id: request.id, ok: true, rows: [], rowCount: 0 };
}

process.on("message", (request: PgliteRequest) => {
  answer(request).then(send, (error: unknown) =>
    send({ id: request.op === "open" ? 0 : request.id, ok: false, error: toPgliteError(error) }),
  );
});
// The App is gone or closed the channel: close the database so nothing written is lost, then end.
process.on("disconnect", () => {
  void close().finally(() => process.exit(0));
});
