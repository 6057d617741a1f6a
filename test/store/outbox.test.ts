import { beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../../src/store/db.js";
import {
  claimEffects,
  completeEffect,
  enqueueEffects,
  extendLease,
  failEffect,
  getEffect,
  listEffects,
  nextEffectDueInMs,
  pruneOutbox,
  releaseEffects,
} from "../../src/store/outbox.js";
import type { OutboxRow } from "../../src/store/outbox.js";
import { engineCases, useDb } from "../support/engines.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const effect = (key: string, payload: unknown = { key }) => ({ key, type: "reply", payload });
/** The App's clock, far from the database's: due times must follow it alone. */
const NOW = new Date("2026-11-30T23:59:59Z");
const at = (ms: number) => new Date(NOW.getTime() + ms);

describe.each(engineCases({ withPgliteProcess: true }))("outbox on $title", ({ engine, skip }) => {
  const getDb = useDb(engine, skip);
  let db: Db;
  beforeEach(() => {
    if (!skip) db = getDb();
  });

  it.skipIf(skip)("stores effects in order and ignores duplicate keys", async () => {
    expect(
      await db.transaction((tx) => enqueueEffects(tx, "run:1", [effect("a"), effect("b"), effect("c")])),
    ).toBe(3);
    expect(await enqueueEffects(db, "run:1", [effect("b"), effect("d"), effect("d")])).toBe(1);
    expect(await enqueueEffects(db, "run:1", [])).toBe(0);
    const rows = await listEffects(db, { aggregate: "run:1" });
    expect(rows.map((r) => r.key)).toEqual(["a", "b", "c", "d"]);
    expect(rows[0]).toMatchObject({ type: "reply", payload: { key: "a" }, status: "pending", attempts: 0 });
  });

  it.skipIf(skip)("keeps payloads intact, including strings that look like SQL or JSON", async () => {
    const payload = { body: "'); DROP TABLE outbox; --", nested: { list: [1, null, "ü"] }, n: 1.5 };
    await enqueueEffects(db, "run:1", [{ key: "k", type: "reply", payload }]);
    const [row] = await claimEffects(db, { workerId: "w", limit: 10, leaseMs: 60_000, now: NOW });
    expect(row?.payload).toEqual(payload);
  });

  it.skipIf(skip)("claims the oldest row per aggregate, in order across completions", async () => {
    await enqueueEffects(db, "run:1", [effect("1a"), effect("1b")]);
    await enqueueEffects(db, "run:2", [effect("2a")]);
    await enqueueEffects(db, "run:1", [effect("1c")]);

    const first = await claimEffects(db, { workerId: "w1", limit: 10, leaseMs: 60_000, now: NOW });
    expect(first.map((r) => r.key)).toEqual(["1a", "2a"]);
    expect(first[0]).toMatchObject({ status: "running", lockedBy: "w1", attempts: 1 });
    // Nothing else is claimable while 1a runs.
    expect(await claimEffects(db, { workerId: "w2", limit: 10, leaseMs: 60_000, now: NOW })).toEqual([]);

    expect(await completeEffect(db, first[0]!.id)).toBe(true);
    expect(
      (await claimEffects(db, { workerId: "w2", limit: 10, leaseMs: 60_000, now: NOW })).map((r) => r.key),
    ).toEqual(["1b"]);
    const done = await getEffect(db, first[0]!.id);
    expect(done).toMatchObject({ status: "done", lockedBy: null });
    expect(done?.doneAt).toBeInstanceOf(Date);
  });

  it.skipIf(skip)("a retrying row holds back the later rows of its aggregate until it is done", async () => {
    await enqueueEffects(db, "run:1", [effect("a"), effect("b")]);
    const [a] = await claimEffects(db, { workerId: "w", limit: 10, leaseMs: 60_000, now: NOW });
    expect(await failEffect(db, a!.id, new Error("HTTP 502"), { retryAt: at(60_000) })).toBe(true);
    expect(await getEffect(db, a!.id)).toMatchObject({
      status: "pending",
      lastError: "HTTP 502",
      lockedBy: null,
    });
    expect(await claimEffects(db, { workerId: "w", limit: 10, leaseMs: 60_000, now: NOW })).toEqual([]);
    expect(await nextEffectDueInMs(db, NOW)).toBe(60_000);

    // A minute later on the App's clock it is due.
    expect(await nextEffectDueInMs(db, at(60_000))).toBe(0);
    const [again] = await claimEffects(db, { workerId: "w", limit: 10, leaseMs: 60_000, now: at(60_000) });
    expect(again).toMatchObject({ key: "a", attempts: 2 });
  });

  it.skipIf(skip)(
    "retries at an absolute time, and fails permanently without blocking later rows",
    async () => {
      await enqueueEffects(db, "run:1", [effect("a"), effect("b")]);
      const [a] = await claimEffects(db, { workerId: "w", limit: 1, leaseMs: 60_000, now: NOW });
      expect(await failEffect(db, a!.id, "timeout", { retryAt: at(-1_000) })).toBe(true);
      const [a2] = await claimEffects(db, { workerId: "w", limit: 1, leaseMs: 60_000, now: NOW });
      expect(a2?.key).toBe("a");
      expect(await failEffect(db, a2!.id, { status: 422 }, { permanent: true })).toBe(true);
      expect(await getEffect(db, a!.id)).toMatchObject({ status: "failed", lastError: '{"status":422}' });
      const [b] = await claimEffects(db, { workerId: "w", limit: 5, leaseMs: 60_000, now: NOW });
      expect(b?.key).toBe("b");
      // The running row's lease expiry is the next moment something becomes claimable.
      expect(await nextEffectDueInMs(db, NOW)).toBeGreaterThan(50_000);
      await completeEffect(db, b!.id);
      expect(await nextEffectDueInMs(db, NOW)).toBeNull();
    },
  );

  it.skipIf(skip)("bounds stored error messages", async () => {
    await enqueueEffects(db, "run:1", [effect("a")]);
    const [a] = await claimEffects(db, { workerId: "w", limit: 1, leaseMs: 60_000, now: NOW });
    await failEffect(db, a!.id, "x".repeat(100_000), { permanent: true });
    expect((await getEffect(db, a!.id))?.lastError).toHaveLength(4_000);
  });

  it.skipIf(skip)("does not run effects scheduled for later", async () => {
    await enqueueEffects(db, "run:1", [{ ...effect("later"), runAfter: at(3_600_000) }]);
    await enqueueEffects(db, "run:2", [effect("now")]);
    expect(
      (await claimEffects(db, { workerId: "w", limit: 10, leaseMs: 60_000, now: NOW })).map((r) => r.key),
    ).toEqual(["now"]);
  });

  it.skipIf(skip)("due times follow the App's clock, whatever the database's says", async () => {
    // The App's clock is weeks behind or ahead of the database's: a row due at once is due on either,
    // and a delayed one only when the App's clock reaches it.
    for (const appNow of [new Date("2001-01-01T00:00:00Z"), new Date("2099-12-31T23:59:59Z")]) {
      const later = new Date(appNow.getTime() + 15 * 60_000);
      const tag = appNow.getUTCFullYear();
      await enqueueEffects(db, `run:${tag}`, [effect(`now-${tag}`)]);
      await enqueueEffects(db, `deadline:${tag}`, [{ ...effect(`deadline-${tag}`), runAfter: later }]);
      const claim = (now: Date) => claimEffects(db, { workerId: "w", limit: 10, leaseMs: 60_000, now });
      const [fresh] = await claim(appNow);
      expect(fresh?.key).toBe(`now-${tag}`);
      await completeEffect(db, fresh!.id);
      expect(await nextEffectDueInMs(db, appNow)).toBe(15 * 60_000);
      expect(await claim(new Date(later.getTime() - 1))).toEqual([]);
      expect((await claim(later)).map((r) => r.key)).toEqual([`deadline-${tag}`]);
      await db.query("UPDATE outbox SET status = 'done' WHERE status = 'running'");
    }
  });

  it.skipIf(skip)("reclaims a row whose lease expired (a crashed worker loses nothing)", async () => {
    await enqueueEffects(db, "run:1", [effect("a")]);
    const [a] = await claimEffects(db, { workerId: "crashed", limit: 1, leaseMs: 1, now: NOW });
    expect(a?.lockedBy).toBe("crashed");
    await sleep(20);
    const [again] = await claimEffects(db, { workerId: "w2", limit: 1, leaseMs: 60_000, now: NOW });
    expect(again).toMatchObject({ id: a!.id, lockedBy: "w2", attempts: 2 });
    // The crashed worker's late completion is refused; the owner's goes through.
    expect(await completeEffect(db, a!.id, { workerId: "crashed" })).toBe(false);
    expect(await failEffect(db, a!.id, "late", { permanent: true, workerId: "crashed" })).toBe(false);
    expect(await completeEffect(db, a!.id, { workerId: "w2" })).toBe(true);
    expect(await completeEffect(db, a!.id)).toBe(false);
  });

  it.skipIf(skip)("extends a lease only for the worker holding the row", async () => {
    await enqueueEffects(db, "run:1", [effect("a")]);
    const [a] = await claimEffects(db, { workerId: "w1", limit: 1, leaseMs: 1, now: NOW });
    expect(await extendLease(db, a!.id, "w1", 60_000)).toBe(true);
    expect(await extendLease(db, a!.id, "w2", 60_000)).toBe(false);
    await sleep(20);
    // The extended lease holds: nobody reclaims the row.
    expect(await claimEffects(db, { workerId: "w2", limit: 1, leaseMs: 60_000, now: NOW })).toEqual([]);
    await completeEffect(db, a!.id);
    expect(await extendLease(db, a!.id, "w1", 60_000)).toBe(false);
  });

  it.skipIf(skip)(
    "releases a stopping worker's rows, its try still counted (the next claim is a retry)",
    async () => {
      await enqueueEffects(db, "run:1", [effect("a")]);
      await enqueueEffects(db, "run:2", [effect("b")]);
      await claimEffects(db, { workerId: "w1", limit: 1, leaseMs: 60_000, now: NOW });
      await claimEffects(db, { workerId: "w2", limit: 1, leaseMs: 60_000, now: NOW });
      expect(await releaseEffects(db, "w1")).toBe(1);
      const rows = await listEffects(db);
      expect(rows.map((r) => [r.key, r.status, r.lockedBy, r.attempts])).toEqual([
        ["a", "pending", null, 1],
        ["b", "running", "w2", 1],
      ]);
      expect(
        (await claimEffects(db, { workerId: "w3", limit: 5, leaseMs: 60_000, now: NOW })).map((r) => r.key),
      ).toEqual(["a"]);
    },
  );

  it.skipIf(skip)("prunes finished rows only", async () => {
    await enqueueEffects(db, "run:1", [effect("a")]);
    await enqueueEffects(db, "run:2", [effect("b")]);
    await enqueueEffects(db, "run:3", [effect("c")]);
    const [a, b] = await claimEffects(db, { workerId: "w", limit: 2, leaseMs: 60_000, now: NOW });
    await completeEffect(db, a!.id);
    await failEffect(db, b!.id, "no", { permanent: true });
    expect(await pruneOutbox(db, 60_000)).toBe(0);
    await db.query("UPDATE outbox SET done_at = done_at - interval '2 minutes' WHERE done_at IS NOT NULL");
    expect(await pruneOutbox(db, 60_000)).toBe(2);
    expect((await listEffects(db)).map((r) => r.key)).toEqual(["c"]);
    // A pruned key may be enqueued again.
    expect(await enqueueEffects(db, "run:1", [effect("a")])).toBe(1);
  });

  it.skipIf(skip)("does not reclaim a row whose lease is still valid", async () => {
    await enqueueEffects(db, "run:1", [effect("a")]);
    await claimEffects(db, { workerId: "w1", limit: 1, leaseMs: 60_000, now: NOW });
    expect(await claimEffects(db, { workerId: "w2", limit: 1, leaseMs: 60_000, now: NOW })).toEqual([]);
  });

  it.skipIf(skip)("claims nothing for a zero limit", async () => {
    await enqueueEffects(db, "run:1", [effect("a")]);
    expect(await claimEffects(db, { workerId: "w", limit: 0, leaseMs: 1000, now: NOW })).toEqual([]);
  });

  it.skipIf(skip)("concurrent claimers in one process split the work without overlap", async () => {
    for (let i = 0; i < 100; i++) await enqueueEffects(db, `run:${i % 10}`, [effect(`e${i}`)]);
    const claimed = await drain([db, db, db], { limit: 7 });
    expectEachOnceInAggregateOrder(claimed, 100);
  });
});

describe.each(engineCases({ withPgliteProcess: true }).filter((c) => c.engine.name === "postgres"))(
  "outbox under contention on $title",
  ({ engine, skip }) => {
    it.skipIf(skip)(
      "4 processes claiming 500 rows get each row exactly once, in per-aggregate order",
      async () => {
        const main = await engine.open();
        const workers = await Promise.all(
          Array.from({ length: 4 }, () => main.reopen({ migrate: false, maxConnections: 4 })),
        );
        try {
          await main.transaction(async (tx) => {
            for (let i = 0; i < 500; i++) await enqueueEffects(tx, `run:${i % 37}`, [effect(`e${i}`)]);
          });
          const claimed = await drain(workers, { limit: 5, concurrencyPerDb: 3 });
          expectEachOnceInAggregateOrder(claimed, 500);
          expect(new Set(claimed.map((c) => c.worker)).size).toBeGreaterThan(1);
          expect(await listEffects(main, { status: "done" })).toHaveLength(500);
        } finally {
          await Promise.all(workers.map((w) => w.close()));
          await main.close();
        }
      },
    );

    it.skipIf(skip)("duplicate deliveries racing across processes are recorded once", async () => {
      const { recordDelivery } = await import("../../src/store/inbox.js");
      const main = await engine.open();
      const others = await Promise.all(Array.from({ length: 3 }, () => main.reopen({ migrate: false })));
      try {
        const dbs = [main, ...others];
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            dbs[i % dbs.length]!.transaction(async (tx) => {
              const fresh = await recordDelivery(tx, `delivery-${i % 10}`, "issues");
              if (fresh) await enqueueEffects(tx, `run:${i % 10}`, [effect(`from-${i % 10}`)]);
              return fresh;
            }),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(10);
        expect(await listEffects(main)).toHaveLength(10);
      } finally {
        await Promise.all(others.map((o) => o.close()));
        await main.close();
      }
    });
  },
);

interface Claimed {
  row: OutboxRow;
  worker: string;
  seq: number;
}

/** Runs claim → complete loops on the given handles until the outbox is empty. */
async function drain(dbs: Db[], options: { limit: number; concurrencyPerDb?: number }): Promise<Claimed[]> {
  const claimed: Claimed[] = [];
  let seq = 0;
  const loops = dbs.flatMap((db, d) =>
    Array.from({ length: options.concurrencyPerDb ?? 1 }, async (_, c) => {
      const workerId = `w${d}.${c}`;
      let idle = 0;
      while (idle < 5) {
        const rows = await claimEffects(db, { workerId, limit: options.limit, leaseMs: 60_000, now: NOW });
        if (rows.length === 0) {
          idle++;
          await sleep(5);
          continue;
        }
        idle = 0;
        for (const row of rows) {
          claimed.push({ row, worker: workerId, seq: seq++ });
          await completeEffect(db, row.id, { workerId });
        }
      }
    }),
  );
  await Promise.all(loops);
  return claimed;
}

function expectEachOnceInAggregateOrder(claimed: Claimed[], total: number): void {
  const ids = claimed.map((c) => c.row.id);
  expect(ids).toHaveLength(total);
  expect(new Set(ids).size).toBe(total);
  const byAggregate = new Map<string, number[]>();
  for (const c of [...claimed].sort((a, b) => a.seq - b.seq)) {
    byAggregate.set(c.row.aggregate, [...(byAggregate.get(c.row.aggregate) ?? []), c.row.id]);
  }
  for (const list of byAggregate.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
}
