import { describe, expect, it } from "vitest";
import { createBatcher } from "../../src/app/ingest-batcher.js";

/** A `run` whose batches are released by the test, so what is in flight is under control. */
function controlled() {
  const calls: { items: string[]; release(): void; fail(error: unknown): void }[] = [];
  const run = (items: string[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ items, release: () => resolve(items.map((i) => `ok:${i}`)), fail: reject });
    });
  return { calls, run };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("createBatcher", () => {
  it("runs a lone item at once and groups the items that arrive while it is in flight", async () => {
    const { calls, run } = controlled();
    const batcher = createBatcher(run);
    const first = batcher.submit("a");
    expect(calls.map((c) => c.items)).toEqual([["a"]]);
    const rest = ["b", "c", "b"].map((i) => batcher.submit(i));
    expect(batcher.pending).toBe(4);
    calls[0]?.release();
    expect(await first).toBe("ok:a");
    await flush();
    expect(calls.map((c) => c.items)).toEqual([["a"], ["b", "c", "b"]]);
    calls[1]?.release();
    expect(await Promise.all(rest)).toEqual(["ok:b", "ok:c", "ok:b"]);
    expect(batcher.pending).toBe(0);
    await batcher.idle();
  });

  it("bounds a batch's size", async () => {
    const { calls, run } = controlled();
    const batcher = createBatcher(run, { maxBatch: 2 });
    const all = ["a", "b", "c", "d"].map((i) => batcher.submit(i));
    for (let i = 0; i < 3; i++) {
      await flush();
      calls[i]?.release();
    }
    expect(await Promise.all(all)).toEqual(["ok:a", "ok:b", "ok:c", "ok:d"]);
    expect(calls.map((c) => c.items)).toEqual([["a"], ["b", "c"], ["d"]]);
  });

  it("an error that persists rejects every waiter; the batcher then carries on", async () => {
    let down = true;
    const seen: string[][] = [];
    const batcher = createBatcher(async (items: string[]) => {
      seen.push(items);
      await flush();
      if (down) throw new Error("database unavailable");
      return items.map((i) => i.toUpperCase());
    });
    const waiters = ["a", "b", "c"].map((i) => batcher.submit(i));
    const outcomes = await Promise.allSettled(waiters);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(outcomes.map((o) => (o.status === "rejected" ? String(o.reason) : ""))).toEqual(
      Array(3).fill("Error: database unavailable"),
    );
    // The batch of two was tried once more item by item before its waiters were told.
    expect(seen).toEqual([["a"], ["b", "c"], ["b"], ["c"]]);
    down = false;
    expect(await batcher.submit("d")).toBe("D");
    await batcher.idle();
  });

  it("one item the database refuses fails only its own request", async () => {
    const batcher = createBatcher(async (items: string[]) => {
      await flush();
      if (items.includes("bad")) throw new Error("invalid payload");
      return items.map((i) => `ok:${i}`);
    });
    const results = await Promise.allSettled(["a", "b", "bad", "c"].map((i) => batcher.submit(i)));
    expect(results).toEqual([
      { status: "fulfilled", value: "ok:a" },
      { status: "fulfilled", value: "ok:b" },
      { status: "rejected", reason: new Error("invalid payload") },
      { status: "fulfilled", value: "ok:c" },
    ]);
  });

  it("a run returning the wrong number of results is an error, not a silent mismatch", async () => {
    const batcher = createBatcher(async () => [] as string[]);
    await expect(batcher.submit("a")).rejects.toThrow("batch returned 0 results for 1 items");
  });
});
