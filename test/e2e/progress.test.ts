/** The demo's pure parts: the board's columns and movements, the board overlay, and the API figures. */
import { describe, expect, test } from "vitest";
import type { RunState } from "../../src/core/model.js";
import { apiFigures } from "../../sandbox/src/demo.js";
import { cardsFrom, columnOf, movements, overlayBoard, renderBoard } from "../../sandbox/src/progress.js";
import type { RecordedRequest } from "../../sandbox/src/sandbox.js";

function run(patch: Partial<RunState>, stage: Partial<RunState["stages"][string]> = {}): RunState {
  return {
    id: "run_1",
    repo: { owner: "octo-org", name: "tiny-shop" },
    issue: 3,
    issueTitle: "Compute sales tax",
    workflow: {
      name: "ship",
      description: "",
      source: "test",
      stages: [
        {
          id: "dev",
          profile: "dev",
          needs: [],
          timeoutMinutes: 10,
          approvals: 0,
          success: {},
          onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "escalate_to_human" } },
          openPr: true,
        },
      ],
    },
    status: "active",
    stages: {
      dev: {
        id: "dev",
        status: "running",
        profile: "dev",
        attempts: [{ id: "att_1", number: 1, profile: "dev", dispatchedAt: 1 }],
        retriesUsed: 0,
        iteration: 0,
        approvals: [],
        answers: [],
        feedback: [],
        ...stage,
      },
    },
    costUsd: 0.5,
    costCapUsd: 10,
    createdAt: 1,
    updatedAt: 1,
    ...patch,
  };
}

describe("the demo's board", () => {
  test("columns follow the run: running, waiting for a merge, for a human, finished", () => {
    expect(columnOf(run({}))).toBe("In progress");
    expect(columnOf(run({}, { status: "queued", attempts: [] }))).toBe("Ready");
    expect(columnOf(run({ status: "waiting" }, { status: "waiting", waitingFor: "merge" }))).toBe(
      "In review",
    );
    expect(columnOf(run({ status: "waiting" }, { status: "waiting", waitingFor: "approval" }))).toBe(
      "Needs human",
    );
    expect(columnOf(run({ status: "succeeded" }, { status: "succeeded" }))).toBe("Done");
    expect(columnOf(run({ status: "failed" }, { status: "failed" }))).toBe("Failed");
  });

  test("issues without a run are in the Backlog; movements are reported once", () => {
    const before = cardsFrom([], [{ issue: 3, title: "Compute sales tax" }]);
    expect(before).toEqual([{ issue: 3, title: "Compute sales tax", column: "Backlog", costUsd: 0 }]);
    const after = cardsFrom([run({})], [{ issue: 3, title: "Compute sales tax" }]);
    expect(movements(before, after)).toEqual(["#3 Compute sales tax: Backlog → In progress (dev)"]);
    expect(movements(after, after)).toEqual([]);
    expect(renderBoard(after, { elapsedMs: 1500 })).toMatch(
      /In progress \(1\)\n {2}#3 Compute sales tax {2}stage dev/,
    );
  });

  test("the Projects board's Status wins over the run state, whatever its case", () => {
    const cards = cardsFrom([run({})]);
    expect(overlayBoard(cards, [{ issue: 3, status: "in review", stage: "dev", costUsd: 0.7 }])).toEqual([
      expect.objectContaining({ column: "In review", costUsd: 0.5 }),
    ]);
    expect(overlayBoard(cards, [{ issue: 3, status: "Todo" }])[0]?.column).toBe("In progress");
  });
});

describe("API figures", () => {
  const req = (r: Partial<RecordedRequest>): RecordedRequest => ({
    method: "GET",
    url: "/api/v3/repos/o/r",
    body: undefined,
    status: 200,
    by: "installation",
    at: 0,
    ...r,
  });

  test("App and Action counted apart, GraphQL mutations are writes, writes per minute in a sliding window", () => {
    const figures = apiFigures([
      req({}),
      req({ method: "POST", url: "/api/v3/repos/o/r/issues/1/comments", at: 1_000 }),
      req({ method: "POST", url: "/api/graphql", body: { query: "query { viewer { login } }" }, at: 2_000 }),
      req({ method: "POST", url: "/api/graphql", body: { query: "mutation { x }" }, at: 30_000 }),
      req({ method: "PATCH", url: "/api/v3/repos/o/r/issues/comments/9", at: 70_000, status: 404 }),
      req({ by: "user:github-actions[bot]", url: "/api/v3/repos/o/r/issues/1" }),
      req({ by: "anonymous" }),
    ]);
    expect(figures).toMatchObject({ app: 5, action: 1, graphql: 2, rest: 4, writes: 3, reads: 3 });
    expect(figures.maxWritesPerMinute).toBe(2);
    expect(figures.errors).toEqual(["PATCH /api/v3/repos/o/r/issues/comments/9 → 404"]);
  });

  test("rate-limited answers are those the stand-in marked, whatever their URL", () => {
    const figures = apiFigures([
      req({ method: "POST", url: "/api/v3/repos/o/r/issues/1/comments", status: 403, rateLimited: true }),
      req({ method: "POST", url: "/api/graphql", status: 429, rateLimited: true }),
      req({ method: "POST", url: "/api/v3/repos/o/r/issues", status: 403 }),
    ]);
    expect(figures.rateLimited).toBe(2);
  });
});
