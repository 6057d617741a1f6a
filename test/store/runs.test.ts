import { beforeEach, describe, expect, it } from "vitest";
import {
  findAttemptByWorkflowRun,
  getAttempt,
  listAttempts,
  setAttemptWorkflowRun,
  upsertAttempt,
} from "../../src/store/attempts.js";
import { insertBatch } from "../../src/store/batches.js";
import type { Db } from "../../src/store/db.js";
import { lockAggregate } from "../../src/store/locks.js";
import {
  StaleRunError,
  findRunByAttempt,
  findRunsByIssue,
  getRun,
  insertRun,
  listRuns,
  repoKey,
  saveRun,
} from "../../src/store/runs.js";
import { engineCases, useDb } from "../support/engines.js";
import { attempt, result, runState, stage } from "./fixtures.js";

describe.each(engineCases({ withPgliteProcess: true }))("runs and attempts on $title", ({ engine, skip }) => {
  const getDb = useDb(engine, skip);
  let db: Db;
  beforeEach(() => {
    if (!skip) db = getDb();
  });

  it.skipIf(skip)("round-trips a run's state and finds it by id, issue and attempt", async () => {
    const state = runState("r1");
    await db.transaction((tx) => insertRun(tx, state));
    expect(await getRun(db, "r1")).toEqual({ state, version: 1, batchId: null });
    expect(await getRun(db, "nope")).toBeUndefined();
    expect((await findRunsByIssue(db, { owner: "octo", name: "repo" }, 7)).map((r) => r.state.id)).toEqual([
      "r1",
    ]);
    expect(await findRunsByIssue(db, "octo/repo", 8)).toEqual([]);
    expect((await findRunByAttempt(db, "r1-a1"))?.state.id).toBe("r1");
    expect(await findRunByAttempt(db, "unknown")).toBeUndefined();
  });

  it.skipIf(skip)("lists an issue's runs newest first and filters runs by status and batch", async () => {
    await insertBatch(db, {
      id: "b1",
      repo: "octo/repo",
      trackingIssue: 1,
      strategy: "parallel",
      parallel: 2,
      status: "active",
      state: {},
    });
    await insertRun(db, runState("old", { createdAt: Date.UTC(2025, 0, 1), status: "failed" }));
    await insertRun(db, runState("new", { createdAt: Date.UTC(2025, 1, 1) }), { batchId: "b1" });
    expect((await findRunsByIssue(db, "octo/repo", 7)).map((r) => r.state.id)).toEqual(["new", "old"]);
    expect((await listRuns(db, { statuses: ["active", "held"] })).map((r) => r.state.id)).toEqual(["new"]);
    expect((await listRuns(db, { batchId: "b1" })).map((r) => [r.state.id, r.batchId])).toEqual([
      ["new", "b1"],
    ]);
    expect(await listRuns(db, { repo: { owner: "other", name: "x" } })).toEqual([]);
    expect(repoKey({ owner: "a", name: "b" })).toBe("a/b");
  });

  it.skipIf(skip)("saves new versions and refuses a stale expected version", async () => {
    const state = runState("r1");
    await insertRun(db, state);
    const next = { ...state, status: "held" as const, updatedAt: state.updatedAt + 5 };
    expect(await db.transaction((tx) => saveRun(tx, next, { expectedVersion: 1 }))).toBe(2);
    await expect(db.transaction((tx) => saveRun(tx, state, { expectedVersion: 1 }))).rejects.toThrow(
      StaleRunError,
    );
    await expect(saveRun(db, state, { expectedVersion: 1 })).rejects.toThrow(
      "Run r1 is at version 2, expected 1",
    );
    await expect(saveRun(db, runState("ghost"))).rejects.toThrow("Run ghost does not exist");
    expect(await saveRun(db, next)).toBe(3);
    const stored = await getRun(db, "r1");
    expect(stored?.state.status).toBe("held");
    expect(stored?.version).toBe(3);
    const row = await db.query("SELECT status FROM runs WHERE id = 'r1'");
    expect(row.rows).toEqual([{ status: "held" }]);
  });

  it.skipIf(skip)("sets or keeps the batch on save", async () => {
    await insertBatch(db, {
      id: "b1",
      repo: "octo/repo",
      trackingIssue: 1,
      strategy: "parallel",
      parallel: 2,
      status: "active",
      state: {},
    });
    await insertRun(db, runState("r1"));
    await saveRun(db, runState("r1"), { batchId: "b1" });
    await saveRun(db, runState("r1"));
    expect((await getRun(db, "r1"))?.batchId).toBe("b1");
    await saveRun(db, runState("r1"), { batchId: null });
    expect((await getRun(db, "r1"))?.batchId).toBeNull();
  });

  it.skipIf(skip)(
    "locks the row with forUpdate so concurrent read-modify-writes do not lose updates",
    async () => {
      await insertRun(db, runState("r1"));
      await Promise.all(
        Array.from({ length: 8 }, () =>
          db.transaction(async (tx) => {
            await lockAggregate(tx, "run:r1");
            const stored = await getRun(tx, "r1", { forUpdate: true });
            if (!stored) throw new Error("missing");
            await new Promise((resolve) => setTimeout(resolve, 2));
            const state = { ...stored.state, costUsd: stored.state.costUsd + 1 };
            await saveRun(tx, state, { expectedVersion: stored.version });
          }),
        ),
      );
      const stored = await getRun(db, "r1");
      expect(stored?.state.costUsd).toBe(8);
      expect(stored?.version).toBe(9);
    },
  );

  it.skipIf(skip)("projects stages and attempts from the state on every save", async () => {
    const state = runState("r1");
    await insertRun(db, state);
    expect(await getAttempt(db, "r1-a1")).toMatchObject({
      runId: "r1",
      stage: "implement",
      number: 1,
      profile: "dev",
      status: "dispatched",
      startedAt: null,
      costUsd: 0,
    });
    const finished = runState("r1", {
      updatedAt: state.updatedAt + 60_000,
      stages: {
        implement: stage("implement", "dev", {
          status: "succeeded",
          attempts: [
            attempt("r1-a1", {
              startedAt: state.createdAt + 2_000,
              finishedAt: state.createdAt + 50_000,
              runUrl: "https://github.com/octo/repo/actions/runs/99",
              workflowRunId: 99,
              result: result("r1-a1"),
            }),
          ],
        }),
        review: stage("review", "review", {
          status: "queued",
          attempts: [attempt("r1-a2", { profile: "review" })],
        }),
      },
    });
    await saveRun(db, finished);
    const attempts = await listAttempts(db, "r1");
    expect(attempts.map((a) => [a.id, a.stage, a.status, a.costUsd, a.inputTokens, a.outputTokens])).toEqual([
      ["r1-a1", "implement", "succeeded", 1.25, 1000, 200],
      ["r1-a2", "review", "dispatched", 0, 0, 0],
    ]);
    expect(attempts[0]?.finishedAt?.getTime()).toBe(state.createdAt + 50_000);
    expect(attempts[0]?.runUrl).toBe("https://github.com/octo/repo/actions/runs/99");
    expect(attempts.map((a) => a.workflowRunId)).toEqual([99, null]);
    const stages = await db.query(
      "SELECT stage, status, profile FROM stages WHERE run_id = 'r1' ORDER BY stage",
    );
    expect(stages.rows).toEqual([
      { stage: "implement", status: "succeeded", profile: "dev" },
      { stage: "review", status: "queued", profile: "review" },
    ]);
  });

  it.skipIf(skip)("links attempts to Actions runs and keeps the link across projections", async () => {
    await insertRun(db, runState("r1"));
    expect(
      await setAttemptWorkflowRun(db, "r1-a1", 123456789012, "https://github.com/o/r/actions/runs/1"),
    ).toBe(true);
    expect(await setAttemptWorkflowRun(db, "missing", 1)).toBe(false);
    await saveRun(db, runState("r1"));
    expect(await findAttemptByWorkflowRun(db, 123456789012)).toMatchObject({
      id: "r1-a1",
      workflowRunId: 123456789012,
      runUrl: "https://github.com/o/r/actions/runs/1",
    });
    expect(await findAttemptByWorkflowRun(db, 5)).toBeUndefined();
  });

  it.skipIf(skip)("upserts attempts directly, keeping fields not given", async () => {
    await insertRun(db, runState("r1", { stages: {} }));
    await upsertAttempt(db, {
      id: "x1",
      runId: "r1",
      stage: "implement",
      number: 1,
      profile: "dev",
      status: "dispatched",
    });
    const first = await getAttempt(db, "x1");
    expect(first?.dispatchedAt).toBeInstanceOf(Date);
    await upsertAttempt(db, {
      id: "x1",
      runId: "r1",
      stage: "implement",
      number: 1,
      profile: "dev",
      status: "running",
      workflowRunId: 42,
      startedAt: new Date("2025-06-01T12:00:00Z"),
    });
    await upsertAttempt(db, {
      id: "x1",
      runId: "r1",
      stage: "implement",
      number: 1,
      profile: "dev",
      status: "succeeded",
      costUsd: 0.5,
    });
    expect(await getAttempt(db, "x1")).toMatchObject({
      status: "succeeded",
      workflowRunId: 42,
      startedAt: new Date("2025-06-01T12:00:00Z"),
      dispatchedAt: first?.dispatchedAt,
      costUsd: 0.5,
    });
  });
});
