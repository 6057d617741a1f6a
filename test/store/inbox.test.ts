import { beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../../src/store/db.js";
import {
  pruneInbox,
  recordDeliveriesWithEvents,
  recordDelivery,
  recordDeliveryWithEvent,
} from "../../src/store/inbox.js";
import { lockAggregate, lockAggregates } from "../../src/store/locks.js";
import { engineCases, useDb } from "../support/engines.js";

describe.each(engineCases({ withPgliteProcess: true }))("inbox and locks on $title", ({ engine, skip }) => {
  const getDb = useDb(engine, skip);
  let db: Db;
  beforeEach(() => {
    if (!skip) db = getDb();
  });

  it.skipIf(skip)("records a delivery once and counts duplicates", async () => {
    expect(await db.transaction((tx) => recordDelivery(tx, "d-1", "issues"))).toBe(true);
    expect(await db.transaction((tx) => recordDelivery(tx, "d-1", "issues"))).toBe(false);
    expect(await recordDelivery(db, "d-1", "issues")).toBe(false);
    expect(await recordDelivery(db, "d-2", "issue_comment")).toBe(true);
    const r = await db.query("SELECT delivery_id, event, duplicates FROM inbox ORDER BY delivery_id");
    expect(r.rows).toEqual([
      { delivery_id: "d-1", event: "issues", duplicates: 2 },
      { delivery_id: "d-2", event: "issue_comment", duplicates: 0 },
    ]);
  });

  it.skipIf(skip)("records a delivery with its event in one statement, exactly once", async () => {
    const row = (id: string) => ({
      aggregate: "repo:o/r",
      key: `event:${id}`,
      type: "event",
      payload: { id },
    });
    const results = await Promise.all(
      ["e-1", "e-1", "e-2", "e-1", "e-2"].map((id) => recordDeliveryWithEvent(db, id, "issues", row(id))),
    );
    expect(results.filter(Boolean)).toHaveLength(2);
    expect(await recordDeliveryWithEvent(db, "e-1", "issues", row("e-1"))).toBe(false);
    const inbox = await db.query("SELECT delivery_id, duplicates FROM inbox ORDER BY delivery_id");
    expect(inbox.rows).toEqual([
      { delivery_id: "e-1", duplicates: 3 },
      { delivery_id: "e-2", duplicates: 1 },
    ]);
    const outbox = await db.query("SELECT aggregate, key, type, payload, status FROM outbox ORDER BY key");
    expect(outbox.rows).toEqual([
      { aggregate: "repo:o/r", key: "event:e-1", type: "event", payload: { id: "e-1" }, status: "pending" },
      { aggregate: "repo:o/r", key: "event:e-2", type: "event", payload: { id: "e-2" }, status: "pending" },
    ]);
  });

  it.skipIf(skip)("records many deliveries in one statement, repeats in the batch applied once", async () => {
    const item = (id: string) => ({
      deliveryId: id,
      event: "issues",
      row: { aggregate: `repo:o/${id}`, key: `event:${id}`, type: "event", payload: { id } },
    });
    expect(await recordDeliveryWithEvent(db, "b-0", "issues", item("b-0").row)).toBe(true);
    const ids = ["b-2", "b-1", "b-0", "b-2", "b-3", "b-2"];
    expect(await recordDeliveriesWithEvents(db, ids.map(item))).toEqual([
      true,
      true,
      false,
      false,
      true,
      false,
    ]);
    expect(await recordDeliveriesWithEvents(db, [item("b-1"), item("b-4")])).toEqual([false, true]);
    expect(await recordDeliveriesWithEvents(db, [])).toEqual([]);
    const inbox = await db.query("SELECT delivery_id, duplicates FROM inbox ORDER BY delivery_id");
    expect(inbox.rows).toEqual([
      { delivery_id: "b-0", duplicates: 1 },
      { delivery_id: "b-1", duplicates: 1 },
      { delivery_id: "b-2", duplicates: 2 },
      { delivery_id: "b-3", duplicates: 0 },
      { delivery_id: "b-4", duplicates: 0 },
    ]);
    // One event row per id, in arrival order (the worker runs an aggregate's rows by id).
    const outbox = await db.query<{ key: string; payload: unknown }>(
      "SELECT key, payload FROM outbox ORDER BY id",
    );
    expect(outbox.rows).toEqual(
      ["b-0", "b-2", "b-1", "b-3", "b-4"].map((id) => ({ key: `event:${id}`, payload: { id } })),
    );
  });

  it.skipIf(skip)("concurrent batches sharing ids store each event exactly once", async () => {
    const item = (id: string) => ({
      deliveryId: id,
      event: "issues",
      row: { aggregate: "repo:o/r", key: `event:${id}`, type: "event", payload: null },
    });
    const batches = [
      ["c-1", "c-2", "c-3"],
      ["c-3", "c-2", "c-4"],
      ["c-4", "c-1", "c-1"],
    ];
    const results = await Promise.all(batches.map((b) => recordDeliveriesWithEvents(db, b.map(item))));
    expect(results.flat().filter(Boolean)).toHaveLength(4);
    const total = await db.query<{ rows: number; dups: number }>(
      "SELECT (SELECT count(*)::int FROM outbox) AS rows, (SELECT sum(duplicates)::int FROM inbox) AS dups",
    );
    expect(total.rows[0]).toEqual({ rows: 4, dups: 5 });
  });

  it.skipIf(skip)(
    "forgets a delivery whose transaction rolled back, so a redelivery is processed",
    async () => {
      await expect(
        db.transaction(async (tx) => {
          expect(await recordDelivery(tx, "d-3", "issues")).toBe(true);
          throw new Error("reducer failed");
        }),
      ).rejects.toThrow("reducer failed");
      expect(await db.transaction((tx) => recordDelivery(tx, "d-3", "issues"))).toBe(true);
    },
  );

  it.skipIf(skip)("accepts concurrent duplicates of one delivery exactly once", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        db.transaction(async (tx) => {
          const fresh = await recordDelivery(tx, "same", "issues");
          await new Promise((resolve) => setTimeout(resolve, 5));
          return fresh;
        }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const r = await db.query("SELECT duplicates FROM inbox WHERE delivery_id = 'same'");
    expect(r.rows).toEqual([{ duplicates: 9 }]);
  });

  it.skipIf(skip)("prunes old deliveries", async () => {
    await db.query(
      "INSERT INTO inbox (delivery_id, event, received_at) VALUES ('old', 'x', now() - interval '30 days')",
    );
    await recordDelivery(db, "new", "x");
    expect(await pruneInbox(db, 7 * 86_400_000)).toBe(1);
    expect((await db.query("SELECT delivery_id FROM inbox")).rows).toEqual([{ delivery_id: "new" }]);
  });

  it.skipIf(skip)("serialises transactions that lock the same aggregate", async () => {
    const order: string[] = [];
    const work = (name: string, key: string) =>
      db.transaction(async (tx) => {
        await lockAggregate(tx, key);
        order.push(`${name}:start`);
        await new Promise((resolve) => setTimeout(resolve, 30));
        order.push(`${name}:end`);
      });
    await Promise.all([work("a", "run:1"), work("b", "run:1"), work("c", "run:1")]);
    // Whatever the order, no transaction starts while another holding the lock is inside.
    for (let i = 0; i < order.length; i += 2) {
      expect(order[i]?.split(":")[0]).toBe(order[i + 1]?.split(":")[0]);
    }
  });
});

describe.each(engineCases({ withPgliteProcess: true }).filter((c) => c.engine.name === "postgres"))(
  "lock ordering on $title",
  ({ engine, skip }) => {
    it.skipIf(skip)("locking the same aggregates from opposite ends does not deadlock", async () => {
      const a = await engine.open();
      const b = await a.reopen({ migrate: false });
      try {
        const both = (db: Db, keys: string[]) =>
          db.transaction(async (tx) => {
            await lockAggregates(tx, keys);
            await new Promise((resolve) => setTimeout(resolve, 30));
            return "ok";
          });
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            i % 2 ? both(a, ["run:r1", "batch:b1", "run:r1"]) : both(b, ["batch:b1", "run:r1"]),
          ),
        );
        expect(results).toEqual(Array(6).fill("ok"));
      } finally {
        await b.close();
        await a.close();
      }
    });
  },
);

describe.each(engineCases({ withPgliteProcess: true }).filter((c) => c.engine.name === "postgres"))(
  "locks across processes on $title",
  ({ engine, skip }) => {
    it.skipIf(skip)("a second pool waits for the aggregate lock, and not for other aggregates", async () => {
      const a = await engine.open();
      const b = await a.reopen({ migrate: false });
      try {
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let locked!: () => void;
        const isLocked = new Promise<void>((resolve) => (locked = resolve));
        const holder = a.transaction(async (tx) => {
          await lockAggregate(tx, "run:x");
          locked();
          await held;
        });
        await isLocked;
        // Another aggregate is free at once.
        await b.transaction((tx) => lockAggregate(tx, "run:y"));
        let acquired = false;
        const waiter = b.transaction(async (tx) => {
          await lockAggregate(tx, "run:x");
          acquired = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(acquired).toBe(false);
        release();
        await holder;
        await waiter;
        expect(acquired).toBe(true);
      } finally {
        await b.close();
        await a.close();
      }
    });
  },
);
