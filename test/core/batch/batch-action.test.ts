import { describe, expect, it } from "vitest";
import { readBuiltins } from "../../../src/builtins.js";
import { decideBatchAction, type BatchActionFacts } from "../../../src/core/batch/batch-action.js";
import type { BatchState } from "../../../src/core/batch/machine.js";
import { loadDefinitions, type Definitions } from "../../../src/core/definitions.js";

const builtins = await readBuiltins();
const load = (yml: string): Definitions =>
  loadDefinitions({ builtins, repo: new Map([[".github/trellis.yml", yml]]) }).value!;
const defs = load("");
const AT = Date.parse("2026-11-21T10:00:00Z");
const TASKS = "Ship it.\n\n- [ ] [a] Alpha\n- [ ] [b] Beta (depends on [a])\n";

function facts(patch: Partial<BatchActionFacts> = {}): BatchActionFacts {
  return {
    action: { kind: "create" },
    repo: { owner: "octo", name: "repo" },
    trackingIssue: 1,
    issue: { title: "Ship it", body: TASKS },
    defs,
    actor: "alice",
    at: AT,
    ...patch,
  };
}

function ids() {
  const asked: string[] = [];
  return {
    asked,
    newBatchId: () => (asked.push("bat"), "bat_1"),
    newAttemptId: () => (asked.push("att"), `att_000000000${asked.length}`),
  };
}

const batch = (patch: Partial<BatchState> = {}): BatchState =>
  ({ id: "bat_1", held: false, status: "active", ...patch }) as BatchState;

describe("decideBatchAction without a batch", () => {
  it("creates one from the tracking issue's task list, refining raw tickets with the refine profile", () => {
    const out = decideBatchAction(facts(), ids());
    expect(out.kind).toBe("created");
    if (out.kind !== "created") return;
    expect(out.state).toMatchObject({
      id: "bat_1",
      trackingIssue: 1,
      title: "Ship it",
      strategy: "dependency-aware",
      parallel: 3,
      refine: { parallel: 5, timeoutMinutes: 15 },
    });
    expect(out.state.tickets.map((t) => t.key)).toEqual(["a", "b"]);
  });

  it("creates tickets as written when the config does not refine", () => {
    const out = decideBatchAction(facts({ defs: load("batch:\n  refine: false\n") }), ids());
    expect(out.kind === "created" && out.state.refine).toBeUndefined();
  });

  it("/batch with a strategy and a limit creates the batch that way", () => {
    const out = decideBatchAction(
      facts({ action: { kind: "replan", strategy: "sequential", parallel: 1 } }),
      ids(),
    );
    expect(out.kind === "created" && [out.state.strategy, out.state.parallel]).toEqual(["sequential", 1]);
  });

  it("an unknown strategy is answered, and no id is spent", () => {
    const made = ids();
    expect(decideBatchAction(facts({ action: { kind: "replan", strategy: "zigzag" } }), made)).toEqual({
      kind: "reply",
      body: "Unknown batch strategy `zigzag`: use sequential, parallel or dependency-aware.",
    });
    expect(made.asked).toEqual([]);
  });

  it("a task list that cannot become a batch is refused, with an audit entry", () => {
    const out = decideBatchAction(facts({ issue: { title: "Nothing", body: "no tasks here" } }), ids());
    expect(out).toMatchObject({
      kind: "reply",
      body: expect.stringMatching(/^Trellis can't start this batch; nothing was created/),
      audit: {
        action: "batch_refused",
        detail: { issue: 1, errors: [expect.stringMatching(/no task list/)] },
      },
    });
  });

  it("/status is answered; other commands and an event without the issue change nothing", () => {
    expect(decideBatchAction(facts({ action: { kind: "status" } }), ids())).toEqual({
      kind: "reply",
      body: "There is no batch on this issue; label it with the batch label to start one.",
    });
    expect(decideBatchAction(facts({ action: { kind: "hold" } }), ids())).toEqual({ kind: "nothing" });
    expect(decideBatchAction(facts({ issue: undefined }), ids())).toEqual({ kind: "nothing" });
  });
});

describe("decideBatchAction on a batch", () => {
  it("the label again resumes a held batch, and is answered on a running or finished one", () => {
    expect(decideBatchAction(facts({ batch: batch({ held: true }) }), ids())).toEqual({
      kind: "event",
      event: { type: "unhold", at: AT, actor: "alice" },
    });
    expect(decideBatchAction(facts({ batch: batch({ status: "creating" }) }), ids())).toMatchObject({
      kind: "reply",
      body: expect.stringMatching(/already has a running batch/),
    });
    expect(decideBatchAction(facts({ batch: batch({ status: "succeeded" }) }), ids())).toMatchObject({
      kind: "reply",
      body: expect.stringMatching(/batch has finished/),
    });
  });

  it("maps each command to the batch event", () => {
    const on = (action: BatchActionFacts["action"]) =>
      decideBatchAction(facts({ action, batch: batch() }), ids());
    expect(on({ kind: "replan", strategy: "parallel", parallel: 4 })).toEqual({
      kind: "event",
      event: { type: "replan", at: AT, actor: "alice", strategy: "parallel", parallel: 4 },
    });
    expect(on({ kind: "replan" })).toEqual({
      kind: "event",
      event: { type: "replan", at: AT, actor: "alice" },
    });
    expect(on({ kind: "replan", strategy: "zigzag" })).toMatchObject({ kind: "reply" });
    expect(on({ kind: "hold" })).toEqual({
      kind: "event",
      event: { type: "hold", at: AT, actor: "alice", reason: "held by @alice" },
    });
    expect(on({ kind: "unhold" })).toEqual({
      kind: "event",
      event: { type: "unhold", at: AT, actor: "alice" },
    });
    expect(on({ kind: "abort", reason: "closed" })).toEqual({
      kind: "event",
      event: { type: "abort", at: AT, actor: "alice", reason: "closed" },
    });
    expect(on({ kind: "status" })).toEqual({
      kind: "event",
      event: { type: "refresh", at: AT, actor: "alice" },
    });
  });
});
