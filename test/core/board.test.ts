import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { readBuiltins } from "../../src/builtins.js";
import {
  columnOf,
  currentIteration,
  decideBoardMove,
  desiredCard,
  diffCard,
  handAddedOptions,
  isOlder,
  layoutMisses,
  layoutOf,
  markOf,
  planFields,
  ownerFromRemote,
  restoreWrites,
  userOwnedBoardMessage,
  type BoardMove,
  type ProjectField,
} from "../../src/core/board.js";
import { defaultConfig } from "../../src/core/config.js";
import { loadDefinitions, type Definitions } from "../../src/core/definitions.js";
import type { RunState } from "../../src/core/model.js";
import { singleAgentTemplate } from "../../src/core/templates.js";
import { createRun, reduceRun } from "../../src/core/workflow/machine.js";

const defs: Definitions = loadDefinitions({ builtins: await readBuiltins(), repo: new Map() }).value!;
const board = defaultConfig().board;
const T0 = Date.parse("2026-11-21T10:00:00Z");

let ids = 0;
function run(patch: Partial<RunState> = {}, started = true): RunState {
  const base = createRun({
    id: `run_${++ids}`,
    repo: { owner: "Codertocat", name: "Hello-World" },
    issue: 1,
    issueTitle: "Spelling error",
    workflow: singleAgentTemplate("dev", 30),
    costCapUsd: 10,
    at: T0,
  });
  const s = started
    ? reduceRun(base, { type: "start", at: T0, actor: "octocat" }, { newAttemptId: () => "att_1" }).state
    : base;
  return { ...s, ...patch };
}

const fullFields = (): ProjectField[] => [
  { id: "F_title", name: "Title", dataType: "TITLE" },
  {
    id: "F_status",
    name: "Status",
    dataType: "SINGLE_SELECT",
    options: ["Backlog", "Ready", "In Progress", "Needs human", "In review", "Done", "Failed"].map(
      (n, i) => ({
        id: `s${i}`,
        name: n,
      }),
    ),
  },
  { id: "F_stage", name: "Stage", dataType: "TEXT" },
  {
    id: "F_agent",
    name: "Agent",
    dataType: "SINGLE_SELECT",
    options: [...defs.profiles.keys()].map((n) => ({ id: `a_${n}`, name: n })),
  },
  { id: "F_cost", name: "Cost", dataType: "NUMBER" },
  { id: "F_batch", name: "Batch", dataType: "TEXT" },
];

describe("planFields", () => {
  const agents = [...defs.profiles.keys()];
  test("an empty project gets every field, Status with the configured columns", () => {
    const custom = { ...board, columns: { ...board.columns, in_review: "Review" } };
    const plan = planFields([], { config: custom, agents });
    expect(plan.conflicts).toEqual([]);
    expect(plan.changes.map((c) => [c.op, c.field, c.op === "create" ? c.dataType : ""])).toEqual([
      ["create", "status", "SINGLE_SELECT"],
      ["create", "stage", "TEXT"],
      ["create", "agent", "SINGLE_SELECT"],
      ["create", "cost", "NUMBER"],
      ["create", "batch", "TEXT"],
    ]);
    const status = plan.changes[0]!;
    expect(status.op === "create" && status.options?.map((o) => o.name)).toEqual([
      "Backlog",
      "Ready",
      "In progress",
      "Needs human",
      "Review",
      "Done",
      "Failed",
    ]);
    const agent = plan.changes[2]!;
    expect(agent.op === "create" && agent.options?.map((o) => o.name)).toEqual(agents);
  });

  test("a complete project needs nothing (option names compare case-insensitively)", () => {
    expect(planFields(fullFields(), { config: board, agents })).toEqual({ changes: [], conflicts: [] });
  });

  test("GitHub's default Status (Todo, In Progress, Done) is extended, keeping its options first", () => {
    const fields = fullFields();
    fields[1]!.options = [
      { id: "t", name: "Todo", color: "GRAY", description: "" },
      { id: "p", name: "In Progress", color: "YELLOW", description: "doing" },
      { id: "d", name: "Done", color: "PURPLE", description: "" },
    ];
    const plan = planFields(fields, { config: board, agents });
    expect(plan.changes).toHaveLength(1);
    const c = plan.changes[0]!;
    expect(c.op).toBe("update");
    if (c.op !== "update") return;
    expect(c.fieldId).toBe("F_status");
    expect(c.options.slice(0, 3)).toEqual([
      { name: "Todo", color: "GRAY", description: "" },
      { name: "In Progress", color: "YELLOW", description: "doing" },
      { name: "Done", color: "PURPLE", description: "" },
    ]);
    expect(c.options.slice(3).map((o) => o.name)).toEqual([
      "Backlog",
      "Ready",
      "Needs human",
      "In review",
      "Failed",
    ]);
    expect(c.name).toBe("Status");
    expect(c.added).toEqual(["Backlog", "Ready", "Needs human", "In review", "Failed"]);
    expect(handAddedOptions(plan.changes)).toBe(
      'Status: "Backlog", "Ready", "Needs human", "In review", "Failed"',
    );
  });

  test("after the options are replaced, every card's value is written back by name with its new id", () => {
    const before = [
      { itemId: "I1", fieldId: "F_status", optionName: "Done" },
      { itemId: "I2", fieldId: "F_status", optionName: "In Progress" },
      { itemId: "I2", fieldId: "F_agent", optionName: "dev" },
      { itemId: "I3", fieldId: "F_status", optionName: "Gone" }, // no such option any more: stays cleared
    ];
    const fields = [
      {
        id: "F_status",
        name: "Status",
        dataType: "SINGLE_SELECT",
        options: [
          { id: "n_done", name: "Done" },
          { id: "n_prog", name: "in progress" },
        ],
      },
      { id: "F_agent", name: "Agent", dataType: "SINGLE_SELECT", options: [{ id: "n_dev", name: "dev" }] },
    ];
    expect(restoreWrites(before, fields)).toEqual([
      { itemId: "I1", writes: [{ fieldId: "F_status", value: { singleSelectOptionId: "n_done" } }] },
      {
        itemId: "I2",
        writes: [
          { fieldId: "F_status", value: { singleSelectOptionId: "n_prog" } },
          { fieldId: "F_agent", value: { singleSelectOptionId: "n_dev" } },
        ],
      },
    ]);
    expect(restoreWrites([], fields)).toEqual([]);
  });

  test("a new profile adds an Agent option; a field of another type is a conflict, not overwritten", () => {
    const fields = fullFields().map((f) => (f.name === "Cost" ? { ...f, dataType: "TEXT" } : f));
    const plan = planFields(fields, { config: board, agents: [...agents, "security"] });
    expect(plan.conflicts).toEqual(["Cost is a TEXT field, not NUMBER"]);
    expect(plan.changes).toHaveLength(1);
    expect(plan.changes[0]).toMatchObject({ op: "update", field: "agent", fieldId: "F_agent" });
  });
});

describe("cards", () => {
  const layout = layoutOf("PVT_1", fullFields());

  test("layoutOf finds the fields by name and type and notes iterations", () => {
    expect(layout.fields.status?.id).toBe("F_status");
    expect(layout.fields.status?.options?.["in progress"]).toBe("s2");
    expect(layout.fields.iteration).toBeUndefined();
    const withSprints = layoutOf("PVT_1", [
      ...fullFields(),
      {
        id: "F_it",
        name: "Iteration",
        dataType: "ITERATION",
        iterations: [{ id: "i1", startDate: "2026-11-16", duration: 7 }],
      },
    ]);
    expect(withSprints.fields.iteration?.id).toBe("F_it");
    expect(withSprints.iterations).toHaveLength(1);
  });

  test("desiredCard follows the run; a human's pin holds while the run stays put", () => {
    const r = run();
    expect(desiredCard(r)).toEqual({
      status: "In progress",
      stage: "dev",
      agent: "dev",
      cost: 0,
      batch: null,
    });
    expect(desiredCard({ ...r, costUsd: 1.23456, batch: 7 })).toMatchObject({ cost: 1.23, batch: "#7" });
    const held = { ...r, status: "held" as const };
    expect(desiredCard(held).status).toBe("Needs human");
    expect(desiredCard(held, "Backlog").status).toBe("Backlog");
    expect(desiredCard(r, "Backlog").status).toBe("In progress");
    const aborted = { ...r, status: "aborted" as const };
    expect(desiredCard(aborted)).toMatchObject({ status: "Failed", stage: null, agent: null });
    expect(desiredCard(aborted, "Done").status).toBe("Done");
  });

  test("diffCard writes only what changed, clears emptied fields, and sets the sprint once", () => {
    const card = desiredCard(run());
    const first = diffCard(layout, board, card, {});
    expect(first.writes.map((w) => [w.field, w.value])).toEqual([
      ["status", { singleSelectOptionId: "s2" }],
      ["stage", { text: "dev" }],
      ["agent", { singleSelectOptionId: "a_dev" }],
      ["cost", { number: 0 }],
      ["batch", null],
    ]);
    expect(diffCard(layout, board, card, first.written).writes).toEqual([]);
    const later = diffCard(
      layout,
      board,
      { ...card, status: "Done", stage: null, agent: null },
      first.written,
    );
    expect(later.writes.map((w) => [w.field, w.value])).toEqual([
      ["status", { singleSelectOptionId: "s5" }],
      ["stage", null],
      ["agent", null],
    ]);

    const sprints = layoutOf("PVT_1", [
      ...fullFields(),
      {
        id: "F_it",
        name: "Iteration",
        dataType: "ITERATION",
        iterations: [{ id: "i1", startDate: "2026-11-16", duration: 7 }],
      },
    ]);
    const withSprint = diffCard(sprints, board, card, first.written, { now: T0 });
    expect(withSprint.writes).toEqual([
      { field: "iteration", fieldId: "F_it", value: { iterationId: "i1" } },
    ]);
    expect(diffCard(sprints, board, card, withSprint.written, { now: T0 }).writes).toEqual([]);
  });

  test("fields the project lacks are not written; a missing option is noticed", () => {
    const partial = layoutOf(
      "PVT_1",
      fullFields().filter((f) => f.name !== "Batch"),
    );
    const card = desiredCard(run());
    expect(diffCard(partial, board, card, {}).writes.map((w) => w.field)).not.toContain("batch");
    expect(layoutMisses(partial, card, board)).toBe(true);
    expect(layoutMisses(layout, card, board)).toBe(false);
    expect(layoutMisses(layout, { ...card, agent: "security" }, board)).toBe(true);
  });

  test("columnOf maps configured names back, case-insensitively", () => {
    expect(columnOf(board, "in progress")).toBe("In progress");
    expect(columnOf({ ...board, columns: { ...board.columns, ready: "Go!" } }, "Go!")).toBe("Ready");
    expect(columnOf(board, "Todo")).toBeUndefined();
  });

  test("currentIteration", () => {
    const its = [
      { id: "a", startDate: "2026-11-02", duration: 14 },
      { id: "b", startDate: "2026-11-16", duration: 14 },
    ];
    expect(currentIteration(its, T0)?.id).toBe("b");
    expect(currentIteration(its, Date.parse("2026-11-15T23:59:59Z"))?.id).toBe("a");
    expect(currentIteration(its, Date.parse("2026-12-01T00:00:00Z"))).toBeUndefined();
  });
});

describe("ordering", () => {
  test("an older state of the same run, or an older run, never overwrites a newer one", () => {
    const r = run();
    const mark = markOf({ ...r, seq: 5, updatedAt: T0 + 5 });
    expect(isOlder(markOf({ ...r, seq: 4 }), mark)).toBe(true);
    expect(isOlder(markOf({ ...r, seq: 5, updatedAt: T0 + 5 }), mark)).toBe(false);
    expect(isOlder(markOf({ ...r, seq: 6 }), mark)).toBe(false);
    expect(isOlder(markOf(r), undefined)).toBe(false);
    const older = run({ createdAt: T0 - 1000, seq: 99 });
    expect(isOlder(markOf(older), mark)).toBe(true);
    expect(isOlder(mark, markOf(older))).toBe(false);
  });

  test("whatever order effects arrive in, the last write shows the newest state (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 20 }), (seqs) => {
        const r = run();
        let shown: number | undefined;
        let last: ReturnType<typeof markOf> | undefined;
        for (const seq of seqs) {
          const m = markOf({ ...r, seq, updatedAt: T0 + seq });
          if (isOlder(m, last)) continue;
          shown = seq;
          last = m;
        }
        expect(shown).toBe(Math.max(...seqs));
      }),
    );
  });
});

describe("decideBoardMove", () => {
  const move = (patch: Partial<BoardMove> = {}): BoardMove => ({
    column: "Ready",
    optionName: "Ready",
    issue: 1,
    issueTitle: "Spelling error",
    isPullRequest: false,
    actor: "octocat",
    allowed: true,
    ...patch,
  });
  const kinds = (o: { decisions: { kind: string }[] }) => o.decisions.map((d) => d.kind);

  test("Ready with no run starts the default workflow; every move is audited", () => {
    const out = decideBoardMove(move(), [], defs, T0);
    expect(kinds(out)).toEqual(["audit", "start_run"]);
    expect(out.decisions[0]).toMatchObject({ action: "board_move", detail: { issue: 1, to: "Ready" } });
    expect(out.decisions[1]).toMatchObject({
      issue: 1,
      issueTitle: "Spelling error",
      workflow: { name: "single-agent" },
    });
    // A finished run does not stop a new one.
    expect(kinds(decideBoardMove(move(), [run({ status: "succeeded" })], defs, T0))).toEqual([
      "audit",
      "start_run",
    ]);
  });

  test("Ready resumes a held run, and leaves a running one alone (the card goes back)", () => {
    const held = run({ status: "held" });
    const out = decideBoardMove(move(), [held], defs, T0);
    expect(out.decisions[1]).toEqual({
      kind: "run_event",
      runId: held.id,
      event: { type: "unhold", at: T0, actor: "octocat" },
    });
    const active = run();
    expect(decideBoardMove(move(), [active], defs, T0)).toEqual({
      decisions: [expect.objectContaining({ kind: "audit" })],
      resync: active.id,
    });
  });

  test("Backlog holds and pins; Done/Failed end the run with a reason and pin", () => {
    const r = run();
    const hold = decideBoardMove(move({ column: "Backlog", optionName: "Backlog" }), [r], defs, T0);
    expect(hold.pin).toBe("Backlog");
    expect(hold.decisions[1]).toMatchObject({
      kind: "run_event",
      event: { type: "hold", actor: "octocat", reason: "moved to Backlog on the board" },
    });
    const done = decideBoardMove(move({ column: "Done", optionName: "Done" }), [r], defs, T0);
    expect(done.pin).toBe("Done");
    expect(done.decisions[1]).toMatchObject({
      kind: "run_event",
      event: { type: "abort", reason: "moved to Done on the board" },
    });
    expect(kinds(decideBoardMove(move({ column: "Failed" }), [], defs, T0))).toEqual(["audit"]);
    expect(kinds(decideBoardMove(move({ column: "Backlog" }), [], defs, T0))).toEqual(["audit"]);
  });

  test("people without a steering role are answered and change nothing", () => {
    const r = run();
    const out = decideBoardMove(move({ allowed: false }), [r], defs, T0);
    expect(kinds(out)).toEqual(["audit", "reply"]);
    expect(out.decisions[1]).toMatchObject({
      body: expect.stringMatching(/only people with the admin, maintain, write role/),
    });
    expect(out.resync).toBe(r.id);
    expect(kinds(decideBoardMove(move({ allowed: false }), [], defs, T0))).toEqual(["audit", "reply"]);
  });

  test("Trellis's own columns are answered and put back; pull request cards only audit", () => {
    const r = run();
    const out = decideBoardMove(move({ column: "In review", optionName: "In review" }), [r], defs, T0);
    expect(kinds(out)).toEqual(["audit", "reply"]);
    expect(out.resync).toBe(r.id);
    expect(kinds(decideBoardMove(move({ column: undefined, optionName: "Todo" }), [], defs, T0))).toEqual([
      "audit",
    ]);
    expect(kinds(decideBoardMove(move({ isPullRequest: true }), [r], defs, T0))).toEqual(["audit"]);
  });
});

describe("a board owned by a user", () => {
  test("the repository's owner is read from a GitHub remote, https or ssh", () => {
    expect(ownerFromRemote("https://github.com/octo-org/web.git")).toBe("octo-org");
    expect(ownerFromRemote("git@github.com:octocat/site.git\n")).toBe("octocat");
    expect(ownerFromRemote("https://github.com/octocat/site")).toBe("octocat");
    expect(ownerFromRemote("https://gitlab.com/octocat/site.git")).toBeUndefined();
  });

  test("the message says why it can never work and what to do", () => {
    const configured = userOwnedBoardMessage("octocat", true);
    expect(configured).toContain("`board.owner` is `octocat`, a personal account");
    expect(configured).toMatch(/GitHub Apps can only reach Projects owned by an organization/);
    expect(configured).toMatch(/Use a project owned by an organization/);
    expect(userOwnedBoardMessage("octocat", false)).toContain(
      "`board.owner` is empty, so the board's owner is the repository's owner `octocat`",
    );
  });
});
