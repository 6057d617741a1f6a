// `npx tsx test/bench/pglite-prepared.ts`: the webhook's ingest statement (inbox + outbox for a group of
// deliveries) on an embedded PGlite database in a data directory, run by PGlite's own `query()` (the
// baseline) and by `preparedQuery()` (src/store/pglite-prepared.ts), alternating, in the same process.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { openDb } from "../../src/store/db.js";
import { recordDeliveriesWithEvents, type DeliveryWithEvent } from "../../src/store/inbox.js";
import { preparedQuery } from "../../src/store/pglite-connection.js";
import { pgliteOptions } from "../../src/store/pglite-protocol.js";

const ROUNDS = 5;
const STATEMENTS = 200;
const BATCHES = [1, 8, 32];

const dir = await mkdtemp(join(tmpdir(), "trellis-prepared-"));
try {
  const migrated = await openDb({ dataDir: dir, pgliteProcess: false });
  await migrated.close();
  const lite = await PGlite.create(dir, pgliteOptions());
  const engines = {
    "query()": { query: (sql: string, params?: unknown[]) => lite.query(sql, params) },
    prepared: { query: preparedQuery(lite) },
  };
  let next = 0;
  const deliveries = (n: number): DeliveryWithEvent[] =>
    Array.from({ length: n }, () => {
      const id = `bench-${next++}`;
      const event = { kind: "label_added", deliveryId: id, repo: { owner: "octo-org", name: "hello-world" } };
      return {
        deliveryId: id,
        event: "issues",
        row: { aggregate: "issue:octo-org/hello-world#1", key: `event:${id}`, type: "event", payload: event },
      };
    });
  const time = async (name: keyof typeof engines, batch: number): Promise<number> => {
    const db = {
      query: async <T>(sql: string, params?: unknown[]) => {
        const r = await engines[name].query(sql, params);
        return { rows: r.rows as T[], rowCount: r.affectedRows ?? r.rows.length };
      },
    };
    const start = performance.now();
    for (let i = 0; i < STATEMENTS; i++) await recordDeliveriesWithEvents(db, deliveries(batch));
    return (performance.now() - start) / STATEMENTS;
  };
  console.log(`PGlite ingest statement, ${STATEMENTS} statements × ${ROUNDS} alternating rounds per size`);
  console.log("  deliveries per statement   query() ms   prepared ms   prepared / query()");
  for (const batch of BATCHES) {
    const samples = { "query()": [] as number[], prepared: [] as number[] };
    await time("query()", batch); // warm-up: compile, cache, grow the tables
    await time("prepared", batch);
    for (let r = 0; r < ROUNDS; r++) {
      samples["query()"].push(await time("query()", batch));
      samples.prepared.push(await time("prepared", batch));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const base = median(samples["query()"]);
    const prepared = median(samples.prepared);
    console.log(
      `  ${String(batch).padStart(25)}   ${base.toFixed(3).padStart(10)}   ${prepared.toFixed(3).padStart(11)}   ${(prepared / base).toFixed(2).padStart(18)}`,
    );
  }
  await lite.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
