/** A transaction whose row another worker has claimed since (its lease ran out) rolls back: one outcome counts. */
import { describe, expect, it } from "vitest";
import type { AppDeps } from "../../src/app/runtime.js";
import { LeaseLost, runCommand } from "../../src/app/unit-of-work.js";
import { claimEffects, enqueueEffects } from "../../src/store/outbox.js";
import { engineCases, useDb } from "../support/engines.js";

describe.each(engineCases())("a lost lease on $title", ({ engine, skip }) => {
  const getDb = useDb(engine, skip);

  it.skipIf(skip)("rolls the late worker's transaction back, audit entries and all", async () => {
    const db = getDb();
    await enqueueEffects(db, "issue:o/r#1", [{ key: "event:d1", type: "event", payload: {} }]);
    const now = new Date();
    // Worker a's lease ends at once; worker b claims the row after it.
    const [row] = await claimEffects(db, { workerId: "a", limit: 1, leaseMs: 0, now });
    await new Promise((r) => setTimeout(r, 5));
    const [again] = await claimEffects(db, { workerId: "b", limit: 1, leaseMs: 60_000, now: new Date() });
    expect(again?.id).toBe(row!.id);
    const deps = { db, now: Date.now, wake: () => undefined } as unknown as AppDeps;
    await expect(
      runCommand(
        deps,
        "issue:o/r#1",
        async ({ pending }) => void pending.audit.push({ repo: "o/r", actor: "a", action: "late" }),
        { row: row!, workerId: "a" },
      ),
    ).rejects.toBeInstanceOf(LeaseLost);
    expect((await db.query("SELECT * FROM audit_log WHERE action = 'late'")).rows).toEqual([]);
    expect((await db.query<{ locked_by: string }>("SELECT locked_by FROM outbox")).rows).toEqual([
      { locked_by: "b" },
    ]);
  });
});
