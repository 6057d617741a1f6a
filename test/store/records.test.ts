import { beforeEach, describe, expect, it } from "vitest";
import { appendAudit, appendAuditEntries, listAudit } from "../../src/store/audit.js";
import {
  StaleBatchError,
  findBatchByTicketIssue,
  findBatchByTrackingIssue,
  getBatch,
  insertBatch,
  listTickets,
  saveBatch,
  upsertTickets,
} from "../../src/store/batches.js";
import { monthBounds, monthlyCost, recordCost, runCost, yearMonthOf } from "../../src/store/costs.js";
import type { Db } from "../../src/store/db.js";
import { recordDelivery } from "../../src/store/inbox.js";
import {
  addRepos,
  deleteInstallation,
  listRepos,
  removeRepos,
  setInstallationSuspended,
  upsertInstallation,
} from "../../src/store/installations.js";
import { storeMetrics } from "../../src/store/metrics.js";
import { claimEffects, completeEffect, enqueueEffects, failEffect } from "../../src/store/outbox.js";
import { insertRun } from "../../src/store/runs.js";
import { engineCases, useDb } from "../support/engines.js";
import { attempt, result, runState, stage } from "./fixtures.js";

const batch = {
  id: "octo/repo#1",
  repo: "octo/repo",
  trackingIssue: 1,
  strategy: "dependency-aware",
  parallel: 2,
  status: "active",
  state: { order: ["a", "b"] },
};

describe.each(engineCases({ withPgliteProcess: true }))("records on $title", ({ engine, skip }) => {
  const getDb = useDb(engine, skip);
  let db: Db;
  beforeEach(() => {
    if (!skip) db = getDb();
  });

  it.skipIf(skip)("stores batches with versions and finds them by tracking issue", async () => {
    await insertBatch(db, batch);
    expect(await getBatch(db, batch.id)).toEqual({ ...batch, version: 1 });
    expect(await findBatchByTrackingIssue(db, { owner: "octo", name: "repo" }, 1)).toMatchObject({
      id: batch.id,
    });
    expect(await findBatchByTrackingIssue(db, "octo/repo", 2)).toBeUndefined();
    const v2 = await db.transaction(async (tx) => {
      const stored = await getBatch<{ order: string[] }>(tx, batch.id, { forUpdate: true });
      return saveBatch(
        tx,
        { id: batch.id, status: "done", state: { order: [] }, parallel: 3 },
        {
          expectedVersion: stored?.version,
        },
      );
    });
    expect(v2).toBe(2);
    expect(await getBatch(db, batch.id)).toEqual({
      ...batch,
      status: "done",
      state: { order: [] },
      parallel: 3,
      version: 2,
    });
    await expect(saveBatch(db, { ...batch }, { expectedVersion: 1 })).rejects.toThrow(StaleBatchError);
    await expect(saveBatch(db, { ...batch, id: "nope" })).rejects.toThrow("Batch nope does not exist");
    // One batch per tracking issue.
    await expect(insertBatch(db, { ...batch, id: "other" })).rejects.toThrow();
  });

  it.skipIf(skip)("upserts tickets and finds a ticket's batch", async () => {
    await insertBatch(db, batch);
    await insertRun(db, runState("r-a", { issue: 12 }));
    await upsertTickets(db, batch.id, [
      { key: "a", title: "First", issue: null, runId: null, status: "refining", dependsOn: [] },
      { key: "b", title: "Second", issue: 13, runId: null, status: "blocked", dependsOn: ["a"] },
    ]);
    await upsertTickets(db, batch.id, [
      { key: "a", title: "First, refined", issue: 12, runId: "r-a", status: "running", dependsOn: [] },
    ]);
    expect(await listTickets(db, batch.id)).toEqual([
      { key: "a", title: "First, refined", issue: 12, runId: "r-a", status: "running", dependsOn: [] },
      { key: "b", title: "Second", issue: 13, runId: null, status: "blocked", dependsOn: ["a"] },
    ]);
    expect((await findBatchByTicketIssue(db, "octo/repo", 13))?.id).toBe(batch.id);
    expect(await findBatchByTicketIssue(db, "octo/repo", 99)).toBeUndefined();
  });

  it.skipIf(skip)(
    "sums costs per repository per UTC month and per run, idempotently per attempt",
    async () => {
      await recordCost(db, {
        attemptId: "a1",
        runId: "r1",
        repo: "octo/repo",
        usd: 1.5,
        at: new Date("2025-06-01T00:00:00Z"),
      });
      await recordCost(db, {
        attemptId: "a2",
        runId: "r1",
        repo: "octo/repo",
        usd: 2.25,
        at: new Date("2025-06-30T23:59:59Z"),
      });
      await recordCost(db, {
        attemptId: "a3",
        runId: "r2",
        repo: "octo/repo",
        usd: 4,
        at: new Date("2025-07-01T00:00:00Z"),
      });
      await recordCost(db, {
        attemptId: "a4",
        runId: "r3",
        repo: "octo/other",
        usd: 8,
        at: new Date("2025-06-15T00:00:00Z"),
      });
      // The Action's result read twice (redelivery) does not double count.
      await recordCost(db, {
        attemptId: "a2",
        runId: "r1",
        repo: "octo/repo",
        usd: 2.25,
        inputTokens: 10,
        at: new Date("2025-06-30T23:59:59Z"),
      });
      expect(await monthlyCost(db, "octo/repo", "2025-06")).toBeCloseTo(3.75, 6);
      expect(await monthlyCost(db, "octo/repo", "2025-07")).toBe(4);
      expect(await monthlyCost(db, "octo/repo", "2025-05")).toBe(0);
      expect(await runCost(db, "r1")).toBeCloseTo(3.75, 6);
      await expect(
        recordCost(db, { attemptId: "x", runId: "r", repo: "o/r", usd: -1, at: new Date() }),
      ).rejects.toThrow(/Invalid cost/);
      await expect(monthlyCost(db, "octo/repo", "2025-13")).rejects.toThrow(/Invalid month/);
    },
  );

  it.skipIf(skip)("appends to the audit log and lists it newest first", async () => {
    await appendAudit(db, {
      repo: "octo/repo",
      actor: "alice",
      action: "command.run",
      detail: { issue: 7 },
      at: new Date("2025-06-01T00:00:00Z"),
    });
    await appendAuditEntries(db, [
      {
        repo: "octo/repo",
        actor: "trellis[bot]",
        action: "dispatch",
        detail: { attempt: "a1" },
        at: new Date("2025-06-01T00:00:01Z"),
      },
      { repo: "octo/other", actor: "bob", action: "approve" },
    ]);
    await appendAuditEntries(db, []);
    const rows = await listAudit(db, { repo: "octo/repo" });
    expect(rows.map((r) => [r.actor, r.action, r.detail])).toEqual([
      ["trellis[bot]", "dispatch", { attempt: "a1" }],
      ["alice", "command.run", { issue: 7 }],
    ]);
    expect(rows[0]?.at).toEqual(new Date("2025-06-01T00:00:01Z"));
    expect((await listAudit(db, { actor: "bob" })).map((r) => r.detail)).toEqual([{}]);
    expect(await listAudit(db, { limit: 1 })).toHaveLength(1);
  });

  it.skipIf(skip)("tracks installations and their repositories", async () => {
    await upsertInstallation(db, { id: 1, account: "octo" });
    await upsertInstallation(db, { id: 2, account: "alice", accountType: "User" });
    await addRepos(db, 1, [{ fullName: "octo/a", githubId: 11 }, { fullName: "octo/b" }]);
    await addRepos(db, 2, [{ fullName: "alice/x", githubId: 21 }]);
    expect((await listRepos(db)).map((r) => r.fullName)).toEqual(["alice/x", "octo/a", "octo/b"]);
    await removeRepos(db, ["octo/b"]);
    expect(await listRepos(db, 1)).toEqual([{ fullName: "octo/a", githubId: 11, installationId: 1 }]);
    await setInstallationSuspended(db, 1, true);
    expect(
      (await db.query("SELECT suspended_at IS NOT NULL AS s FROM installations WHERE id = 1")).rows,
    ).toEqual([{ s: true }]);
    await setInstallationSuspended(db, 1, false);
    await deleteInstallation(db, 2);
    expect((await listRepos(db)).map((r) => r.fullName)).toEqual(["octo/a"]);
    // Re-installing brings the installation and re-added repos back.
    await upsertInstallation(db, { id: 2, account: "alice", accountType: "User" });
    await addRepos(db, 2, [{ fullName: "alice/x" }]);
    expect(await listRepos(db, 2)).toEqual([{ fullName: "alice/x", githubId: 21, installationId: 2 }]);
  });

  it.skipIf(skip)(
    "reports metrics: the outbox's depth, attempts, stages and runs (never scanning the inbox or finished effects)",
    async () => {
      expect(await storeMetrics(db)).toEqual({
        outbox: { pending: 0, running: 0 },
        attemptsByStatus: {},
        stagesByStatus: {},
        runsByStatus: {},
      });
      await recordDelivery(db, "d1", "issues");
      await recordDelivery(db, "d1", "issues");
      await recordDelivery(db, "d1", "issues");
      await recordDelivery(db, "d2", "issues");
      await enqueueEffects(db, "run:1", [
        { key: "a", type: "dispatch", payload: {} },
        { key: "b", type: "reply", payload: {} },
      ]);
      await enqueueEffects(db, "run:2", [
        { key: "c", type: "reply", payload: {} },
        { key: "d", type: "reply", payload: {} },
      ]);
      const [a, c] = await claimEffects(db, { workerId: "w", limit: 5, leaseMs: 60_000, now: new Date() });
      await completeEffect(db, a!.id);
      await failEffect(db, c!.id, "gone", { permanent: true });
      await claimEffects(db, { workerId: "w", limit: 1, leaseMs: 60_000, now: new Date() });
      await insertRun(
        db,
        runState("r1", {
          stages: {
            implement: stage("implement", "dev", {
              status: "succeeded",
              attempts: [attempt("a1", { result: result("a1") })],
            }),
            review: stage("review", "review", {
              status: "running",
              attempts: [attempt("a2", { startedAt: 1 })],
            }),
          },
        }),
      );
      await recordCost(db, { attemptId: "a1", runId: "r1", repo: "octo/repo", usd: 1.25, at: new Date() });
      expect(await storeMetrics(db)).toEqual({
        outbox: { pending: 1, running: 1 },
        attemptsByStatus: { succeeded: 1, running: 1 },
        stagesByStatus: { succeeded: 1, running: 1 },
        runsByStatus: { active: 1 },
      });
    },
  );
});

describe("month helpers", () => {
  it("computes UTC month bounds, including December", () => {
    expect(monthBounds("2025-12")).toEqual({
      start: new Date("2025-12-01T00:00:00Z"),
      end: new Date("2026-01-01T00:00:00Z"),
    });
    expect(yearMonthOf(Date.UTC(2025, 0, 31, 23, 59))).toBe("2025-01");
    expect(() => monthBounds("2025-6")).toThrow(/Invalid month/);
  });
});
