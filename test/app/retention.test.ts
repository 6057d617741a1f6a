/**
 * The worker's housekeeping deletes what is past its retention — deliveries, finished effects, audit entries — and
 * nothing else: open effects and recent records stay, whatever their age, and 0 keeps a table's rows forever.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/app/metrics.js";
import type { AppDeps } from "../../src/app/runtime.js";
import { createWorker } from "../../src/app/worker.js";
import { appendAudit } from "../../src/store/audit.js";
import { recordDelivery } from "../../src/store/inbox.js";
import { claimEffects, completeEffect, enqueueEffects } from "../../src/store/outbox.js";
import { engineCases, useDb } from "../support/engines.js";

const DAY = "interval '1 day'";

describe.each(engineCases())("retention on $title", ({ engine, skip }) => {
  const getDb = useDb(engine, skip);

  it.skipIf(skip)("prunes expired records once per period, keeping open and recent ones", async () => {
    const db = getDb();
    await recordDelivery(db, "old", "issues");
    await recordDelivery(db, "new", "issues");
    await db.query(`UPDATE inbox SET received_at = now() - 8 * ${DAY} WHERE delivery_id = 'old'`);
    // One aggregate each: an aggregate's effects are claimed one at a time, in order.
    await enqueueEffects(db, "run:1", [{ key: "done-long-ago", type: "reply", payload: {} }]);
    await enqueueEffects(db, "run:2", [{ key: "done-lately", type: "reply", payload: {} }]);
    const claimed = await claimEffects(db, { workerId: "w", limit: 2, leaseMs: 60_000, now: new Date() });
    expect(claimed).toHaveLength(2);
    for (const row of claimed) await completeEffect(db, row.id);
    await enqueueEffects(db, "run:3", [{ key: "open-long-ago", type: "reply", payload: {} }]);
    await db.query(`UPDATE outbox SET done_at = now() - 31 * ${DAY} WHERE key = 'done-long-ago'`);
    await db.query(`UPDATE outbox SET created_at = now() - 400 * ${DAY} WHERE key = 'open-long-ago'`);
    await appendAudit(db, {
      repo: "o/r",
      actor: "a",
      action: "old",
      at: new Date(Date.now() - 400 * 86_400_000),
    });
    await appendAudit(db, { repo: "o/r", actor: "a", action: "new" });

    let now = Date.now();
    const deps = {
      db,
      metrics: createMetrics(),
      log: pino({ level: "silent" }),
      now: () => now,
    } as unknown as AppDeps;
    const worker = createWorker(deps, { retention: { inboxDays: 7, outboxDays: 30, auditDays: 365 } });
    await worker.housekeeping();

    const keys = async (sql: string) => (await db.query<{ k: string }>(sql)).rows.map((r) => r.k).sort();
    expect(await keys("SELECT delivery_id AS k FROM inbox")).toEqual(["new"]);
    expect(await keys("SELECT key AS k FROM outbox")).toEqual(["done-lately", "open-long-ago"]);
    expect(await keys("SELECT action AS k FROM audit_log")).toEqual(["new"]);

    // Within the period nothing runs again; after it, the next expired rows go.
    await db.query(`UPDATE outbox SET done_at = now() - 31 * ${DAY} WHERE key = 'done-lately'`);
    await worker.housekeeping();
    expect(await keys("SELECT key AS k FROM outbox")).toEqual(["done-lately", "open-long-ago"]);
    now += 60 * 60_000;
    await worker.housekeeping();
    expect(await keys("SELECT key AS k FROM outbox")).toEqual(["open-long-ago"]);
  });

  it.skipIf(skip)("0 keeps a table's rows forever", async () => {
    const db = getDb();
    await appendAudit(db, { repo: "o/r", actor: "a", action: "ancient", at: new Date(0) });
    const deps = {
      db,
      metrics: createMetrics(),
      log: pino({ level: "silent" }),
      now: Date.now,
    } as unknown as AppDeps;
    await createWorker(deps, { retention: { inboxDays: 7, outboxDays: 30, auditDays: 0 } }).housekeeping();
    expect((await db.query("SELECT action FROM audit_log")).rows).toEqual([{ action: "ancient" }]);
  });
});
