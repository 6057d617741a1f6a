/**
 * Reconciliation's records on both engines: the lease one replica at a time holds, the guids it asked GitHub to
 * redeliver, the deliveries the inbox recorded, and the attempts in flight it looks up.
 */
import { describe, expect, it } from "vitest";
import { quietAttemptsInFlight } from "../../src/store/attempts.js";
import { recordDelivery, recordedDeliveries } from "../../src/store/inbox.js";
import { addRepos, upsertInstallation } from "../../src/store/installations.js";
import {
  noteRedelivery,
  pruneRedeliveries,
  redeliveryTries,
  releaseReconcileLease,
  takeReconcileLease,
} from "../../src/store/reconcile.js";
import { insertRun } from "../../src/store/runs.js";
import type { Db } from "../../src/store/db.js";
import { engineCases, useDb } from "../support/engines.js";
import { attempt, result, runState, stage } from "./fixtures.js";

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const MINUTE = 60_000;

describe.each(engineCases({ withPgliteProcess: true }))("reconciliation on '$title'", ({ engine, skip }) => {
  const getDb = useDb(engine, skip);

  it.skipIf(skip)("the lease is held by one replica at a time, until released or expired", async () => {
    const db = getDb();
    expect(await takeReconcileLease(db, { holder: "a", leaseMs: 60_000 })).toEqual({
      deliveriesCheckedAt: null,
    });
    expect(await takeReconcileLease(db, { holder: "b", leaseMs: 60_000 })).toBeUndefined();
    // Taking it again is refused to its holder too: a pass never overlaps itself.
    expect(await takeReconcileLease(db, { holder: "a", leaseMs: 60_000 })).toBeUndefined();
    expect(await releaseReconcileLease(db, { holder: "b" })).toBe(false);
    const checked = new Date(T0);
    expect(await releaseReconcileLease(db, { holder: "a", deliveriesCheckedAt: checked })).toBe(true);

    // Another replica's scheduled pass waits for the cadence; an explicit one runs, and sees how far a was.
    expect(
      await takeReconcileLease(db, { holder: "b", leaseMs: 60_000, minIntervalMs: 60_000 }),
    ).toBeUndefined();
    expect(await takeReconcileLease(db, { holder: "b", leaseMs: 1 })).toEqual({
      deliveriesCheckedAt: checked,
    });
    await new Promise((r) => setTimeout(r, 20));
    // b died holding it: its lease expired, so c takes over; b's late release changes nothing.
    expect(await takeReconcileLease(db, { holder: "c", leaseMs: 60_000 })).toEqual({
      deliveriesCheckedAt: checked,
    });
    expect(await releaseReconcileLease(db, { holder: "b", deliveriesCheckedAt: new Date(T0 + MINUTE) })).toBe(
      false,
    );
    expect(await releaseReconcileLease(db, { holder: "c" })).toBe(true);
    expect(await takeReconcileLease(db, { holder: "d", leaseMs: 60_000 })).toEqual({
      deliveriesCheckedAt: checked,
    });
  });

  it.skipIf(skip)("two replicas asking together: exactly one gets the lease", async () => {
    const db = getDb();
    // PostgreSQL: two pools, as two processes; PGlite is one connection, shared.
    const other: Db = engine.name === "postgres" ? await db.reopen() : db;
    try {
      for (let round = 0; round < 10; round++) {
        const [a, b] = await Promise.all([
          takeReconcileLease(db, { holder: `a${round}`, leaseMs: 60_000 }),
          takeReconcileLease(other, { holder: `b${round}`, leaseMs: 60_000 }),
        ]);
        expect([a, b].filter((x) => x !== undefined)).toHaveLength(1);
        await releaseReconcileLease(db, { holder: a ? `a${round}` : `b${round}` });
      }
    } finally {
      if (other !== db) await other.close();
    }
  });

  it.skipIf(skip)("counts the redeliveries asked per guid, and forgets old ones", async () => {
    const db = getDb();
    await noteRedelivery(db, "g1", new Date(T0));
    await noteRedelivery(db, "g1", new Date(T0 + MINUTE));
    await noteRedelivery(db, "g2", new Date(T0 + 2 * MINUTE));
    expect(await redeliveryTries(db, ["g1", "g2", "g3"])).toEqual(
      new Map([
        ["g1", 2],
        ["g2", 1],
      ]),
    );
    expect(await pruneRedeliveries(db, new Date(T0 + 2 * MINUTE))).toBe(1);
    expect(await redeliveryTries(db, ["g1", "g2"])).toEqual(new Map([["g2", 1]]));
    expect(await redeliveryTries(db, [])).toEqual(new Map());
  });

  it.skipIf(skip)("tells which delivery ids the inbox recorded", async () => {
    const db = getDb();
    await recordDelivery(db, "seen", "issues");
    expect(await recordedDeliveries(db, ["seen", "lost"])).toEqual(new Set(["seen"]));
    expect(await recordedDeliveries(db, [])).toEqual(new Set());
  });

  it.skipIf(skip)(
    "finds attempts in flight with a known Actions run and nothing heard lately, longest quiet first",
    async () => {
      const db = getDb();
      await insertRun(
        db,
        runState("r1", {
          stages: {
            a: stage("a", "dev", {
              status: "running",
              attempts: [
                attempt("att-quiet", { workflowRunId: 11, dispatchedAt: T0 }),
                attempt("att-started-lately", {
                  number: 2,
                  workflowRunId: 12,
                  dispatchedAt: T0 - 60 * MINUTE,
                  startedAt: T0 + 9 * MINUTE,
                }),
                attempt("att-no-run-id", { number: 3, dispatchedAt: T0 }),
                attempt("att-done", {
                  number: 4,
                  workflowRunId: 14,
                  dispatchedAt: T0,
                  finishedAt: T0 + MINUTE,
                  result: result("att-done"),
                }),
              ],
            }),
            b: stage("b", "dev", {
              status: "running",
              attempts: [
                attempt("att-quieter", {
                  workflowRunId: 15,
                  dispatchedAt: T0 - 30 * MINUTE,
                  startedAt: T0 - 20 * MINUTE,
                }),
              ],
            }),
          },
        }),
        { installationId: 7 },
      );
      // A run stored before runs knew their installation: its repository's installation is used.
      await upsertInstallation(db, { id: 8, account: "other" });
      await addRepos(db, 8, [{ fullName: "other/repo" }]);
      await insertRun(
        db,
        runState("r2", {
          repo: { owner: "other", name: "repo" },
          stages: {
            a: stage("a", "dev", {
              status: "queued",
              attempts: [attempt("att-old", { workflowRunId: 16, dispatchedAt: T0 - MINUTE })],
            }),
          },
        }),
      );

      const quietSince = new Date(T0 + 5 * MINUTE);
      expect(await quietAttemptsInFlight(db, { quietSince, limit: 10 })).toEqual([
        { attemptId: "att-quieter", runId: "r1", repo: "octo/repo", workflowRunId: 15, installationId: 7 },
        { attemptId: "att-old", runId: "r2", repo: "other/repo", workflowRunId: 16, installationId: 8 },
        { attemptId: "att-quiet", runId: "r1", repo: "octo/repo", workflowRunId: 11, installationId: 7 },
      ]);
      expect((await quietAttemptsInFlight(db, { quietSince, limit: 1 })).map((a) => a.attemptId)).toEqual([
        "att-quieter",
      ]);
    },
  );
});
