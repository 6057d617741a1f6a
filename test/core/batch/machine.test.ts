import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  createBatch,
  reduceBatch,
  refusalBody,
  storedStatus,
  type BatchEffect,
  type BatchEvent,
  type BatchState,
  type CreateBatchInput,
} from "../../../src/core/batch/machine.js";
import type { Strategy } from "../../../src/core/batch/schedule.js";

const AT = Date.parse("2026-11-21T10:00:00Z");

const BODY = [
  "Ship the API.",
  "",
  "- [ ] [schema] Design the schema est: 2",
  "- [ ] [api] Build the REST API (depends on [schema]) est: 3",
  "- [ ] #7 depends on [schema]",
  "- [ ] [docs] Write the docs after [api] and #7",
  "- [x] [setup] Already done",
].join("\n");

function input(patch: Partial<CreateBatchInput> = {}): CreateBatchInput {
  return {
    id: "bat_1",
    repo: { owner: "octo", name: "repo" },
    trackingIssue: 1,
    title: "Ship the API",
    body: BODY,
    strategy: "dependency-aware",
    parallel: 2,
    batchSize: 2,
    at: AT,
    actor: "alice",
    ...patch,
  };
}

function counter(prefix = "run") {
  let n = 0;
  return { newRunId: () => `${prefix}_${++n}` };
}

function created(patch: Partial<CreateBatchInput> = {}): { state: BatchState; effects: BatchEffect[] } {
  const out = createBatch(input(patch));
  if (!out.ok) throw new Error(out.errors.join("\n"));
  return out;
}

const ofType = <T extends BatchEffect["type"]>(effects: BatchEffect[], type: T) =>
  effects.filter((e): e is Extract<BatchEffect, { type: T }> => e.type === type);

/** Feeds every ticket its issue (numbers from 100, ids from 5000), returning the last output. */
function withIssues(
  state: BatchState,
  ctx = counter(),
): { state: BatchState; effects: BatchEffect[]; all: BatchEffect[] } {
  let s = state;
  const all: BatchEffect[] = [];
  let last: BatchEffect[] = [];
  state.tickets.forEach((t, i) => {
    if (t.checked && t.kind !== "issue") return;
    const out = reduceBatch(
      s,
      { type: "ticket_issue", at: AT, ticket: t.key, issue: t.issue ?? 100 + i, issueId: 5000 + i },
      ctx,
    );
    s = out.state;
    last = out.effects;
    all.push(...out.effects);
  });
  return { state: s, effects: last, all };
}

const finish = (
  state: BatchState,
  runId: string,
  status: "succeeded" | "failed" | "aborted",
  at = AT + 60_000,
) => reduceBatch(state, { type: "run_update", at, runId, status, costUsd: 0.5 }, counter("late"));

describe("createBatch", () => {
  test("parses the task list and asks for every ticket's issue first", () => {
    const { state, effects } = created();
    expect(state.status).toBe("creating");
    expect(state.tickets.map((t) => [t.key, t.status])).toEqual([
      ["schema", "waiting"],
      ["api", "waiting"],
      ["#7", "waiting"],
      ["docs", "waiting"],
      ["setup", "done"],
    ]);
    const issues = ofType(effects, "batch_issue");
    // Raw text is created (verbatim, linked back); the #7 reference is looked up; the checked box needs nothing.
    expect(issues.map((e) => [e.ticket, e.create?.title])).toEqual([
      ["schema", "Design the schema"],
      ["api", "Build the REST API"],
      ["#7", undefined],
      ["docs", "Write the docs"],
    ]);
    expect(issues[0]!.create!.body).toContain("Part of #1");
    expect(issues[0]!.key).toBe("batch:bat_1:issue:schema");
    expect(ofType(effects, "batch_status")).toHaveLength(1);
    expect(ofType(effects, "start_ticket")).toEqual([]);
  });

  test("refuses a cycle, naming every member, and creates nothing", () => {
    const out = createBatch(
      input({ body: "- [ ] [a] A after [c]\n- [ ] [b] B after [a]\n- [ ] [c] C after [b]\n- [ ] [d] D" }),
    );
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.errors).toEqual([
      expect.stringMatching(/cycle: \[a\] → \[c\] → \[b\] → \[a\]|cycle.*\[a\].*\[b\].*\[c\]/),
    ]);
    expect(refusalBody(out.errors)).toMatch(/nothing was created/);
  });

  test("lists every problem at once: unknown references, bad estimates, other repositories", () => {
    const out = createBatch(
      input({
        body: "- [ ] [a] A after [zzz]\n- [ ] [b] B est: lots\n- [ ] other/place#3\n- [ ] [c] C after [c]",
      }),
    );
    expect(out.ok).toBe(false);
    if (out.ok) return;
    const text = out.errors.join("\n");
    expect(text).toMatch(/\[zzz\].*not in the task list/);
    expect(text).toMatch(/line 2/);
    expect(text).toMatch(/another repository/);
    expect(text).toMatch(/cycle/);
  });

  test("refuses up front a batch past GitHub's 100 sub-issues per parent, saying how to split it", () => {
    // 100 tickets become sub-issues (#N references count even when checked); a checked plain line does not.
    const lines = [
      "- [x] Already done, never an issue",
      "- [x] #900",
      ...Array.from({ length: 99 }, (_, i) => `- [ ] Ticket ${i + 1}`),
    ];
    expect(createBatch(input({ body: lines.join("\n") })).ok).toBe(true);
    const out = createBatch(input({ body: [...lines, "- [ ] One too many", "- [ ] #901"].join("\n") }));
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.errors).toHaveLength(1);
    const [message] = out.errors;
    expect(message).toMatch(/at most 100 sub-issues per issue, and this batch would add 102/);
    expect(message).toMatch(/2 or more tracking issues of at most 100 tickets each/);
    expect(message).toMatch(/keep lines 2–101 here and move line 102 onwards/);
    expect(message).toMatch(/dependencies cannot cross tracking issues/);
    // The refusal comment shows the whole message (refusalBody cuts each problem at 500 characters).
    expect(refusalBody(out.errors)).toContain(message);
    expect(message!.length).toBeLessThan(500);
  });

  test("an issue without a task list is refused with a hint", () => {
    const out = createBatch(input({ body: "Just prose." }));
    expect(out).toEqual({ ok: false, errors: [expect.stringMatching(/no task list/)] });
  });

  test("a list of checked boxes finishes at once", () => {
    const out = created({ body: "- [x] [a] A\n- [x] [b] B after [a]" });
    expect(out.state.status).toBe("succeeded");
    expect(ofType(out.effects, "batch_issue")).toEqual([]);
    expect(ofType(out.effects, "reply")[0]!.body).toMatch(/all 2 tickets done/);
  });
});

describe("reduceBatch", () => {
  test("once every ticket has its issue: links them and starts the best tickets under the limit", () => {
    const { state, effects } = withIssues(created().state);
    expect(state.status).toBe("active");
    const links = ofType(effects, "batch_link");
    expect(links.map((l) => [l.ticket, l.issue.number, l.blockedBy.map((b) => b.number)])).toEqual([
      ["schema", 100, []],
      ["api", 101, [100]],
      ["#7", 7, [100]],
      ["docs", 103, [101, 7]],
    ]);
    const starts = ofType(effects, "start_ticket");
    expect(starts.map((s) => [s.ticket, s.issue, s.runId])).toEqual([["schema", 100, "run_1"]]);
    expect(state.tickets.find((t) => t.key === "schema")).toMatchObject({
      status: "running",
      runId: "run_1",
    });
  });

  test("a finished run lets its dependents start; the batch succeeds when all are done", () => {
    let { state } = withIssues(created().state);
    const ctx = counter("r");
    let out = reduceBatch(
      state,
      { type: "run_update", at: AT + 1, runId: "run_1", status: "succeeded", costUsd: 1 },
      ctx,
    );
    state = out.state;
    expect(ofType(out.effects, "start_ticket").map((s) => s.ticket)).toEqual(["api", "#7"]);
    expect(state.tickets.find((t) => t.key === "schema")).toMatchObject({ status: "done", costUsd: 1 });
    out = reduceBatch(
      state,
      { type: "run_update", at: AT + 2, runId: "r_2", status: "succeeded", costUsd: 1 },
      ctx,
    );
    state = out.state;
    expect(ofType(out.effects, "start_ticket")).toEqual([]); // docs still waits for api
    out = reduceBatch(
      state,
      { type: "run_update", at: AT + 3, runId: "r_1", status: "succeeded", costUsd: 1 },
      ctx,
    );
    state = out.state;
    expect(ofType(out.effects, "start_ticket").map((s) => s.ticket)).toEqual(["docs"]);
    out = reduceBatch(
      state,
      { type: "run_update", at: AT + 4, runId: "r_3", status: "succeeded", costUsd: 1 },
      ctx,
    );
    expect(out.state.status).toBe("succeeded");
    expect(ofType(out.effects, "reply")[0]!.body).toMatch(/all 5 tickets done/);
    expect(storedStatus(out.state)).toBe("succeeded");
  });

  test("a failed ticket blocks its dependents and the batch fails once nothing else can run", () => {
    let { state } = withIssues(created().state);
    const ctx = counter("r");
    state = reduceBatch(
      state,
      { type: "run_update", at: AT, runId: "run_1", status: "succeeded", costUsd: 0 },
      ctx,
    ).state;
    // api (r_1) fails: docs is blocked; #7 (r_2) still finishes.
    let out = reduceBatch(
      state,
      { type: "run_update", at: AT, runId: "r_1", status: "failed", costUsd: 0, reason: "tests failed" },
      ctx,
    );
    expect(out.state.status).toBe("active");
    expect(ofType(out.effects, "start_ticket")).toEqual([]);
    out = reduceBatch(
      out.state,
      { type: "run_update", at: AT, runId: "r_2", status: "succeeded", costUsd: 0 },
      ctx,
    );
    expect(out.state.status).toBe("failed");
    expect(out.state.reason).toBe("1 ticket failed, 1 blocked");
    expect(out.state.tickets.find((t) => t.key === "docs")!.status).toBe("waiting");
  });

  test("a failed ticket's run retried by a human runs again and reopens the finished batch", () => {
    const body = "- [ ] [a] A\n- [ ] [b] B after [a]";
    let { state } = withIssues(created({ body }).state);
    state = finish(state, "run_1", "failed").state;
    expect(state.status).toBe("failed");
    let out = reduceBatch(
      state,
      { type: "run_update", at: AT, runId: "run_1", status: "active", costUsd: 1 },
      counter("r"),
    );
    expect(out.state.status).toBe("active");
    expect(out.state.tickets[0]).toMatchObject({ status: "running" });
    out = reduceBatch(
      out.state,
      { type: "run_update", at: AT, runId: "run_1", status: "succeeded", costUsd: 1 },
      counter("r"),
    );
    expect(ofType(out.effects, "start_ticket").map((e) => e.ticket)).toEqual(["b"]);
    // An aborted batch stays aborted.
    const aborted = reduceBatch(
      state,
      { type: "abort", at: AT, actor: "x", reason: "stop" },
      counter(),
    ).state;
    expect(aborted.status).toBe("failed"); // already finished: abort is ignored
  });

  test("updates of a running ticket's run refresh its view without starting anything", () => {
    const { state } = withIssues(created().state);
    const out = reduceBatch(
      state,
      {
        type: "run_update",
        at: AT,
        runId: "run_1",
        status: "waiting",
        stage: "dev",
        agent: "dev",
        prNumber: 9,
        check: "merge",
        costUsd: 0.3,
      },
      counter(),
    );
    expect(out.state.tickets[0]).toMatchObject({
      stage: "dev",
      agent: "dev",
      prNumber: 9,
      costUsd: 0.3,
      status: "running",
    });
    expect(out.effects.map((e) => e.type)).toEqual(["batch_status"]);
    // Unknown runs and repeated identical updates change nothing.
    expect(
      reduceBatch(
        out.state,
        { type: "run_update", at: AT, runId: "nope", status: "succeeded", costUsd: 1 },
        counter(),
      ).effects,
    ).toEqual([]);
  });

  test("hold stops new starts, unhold resumes them", () => {
    let { state } = withIssues(created().state);
    state = reduceBatch(state, { type: "hold", at: AT, actor: "bob" }, counter()).state;
    expect(storedStatus(state)).toBe("held");
    let out = reduceBatch(
      state,
      { type: "run_update", at: AT, runId: "run_1", status: "succeeded", costUsd: 0 },
      counter("r"),
    );
    expect(ofType(out.effects, "start_ticket")).toEqual([]);
    out = reduceBatch(out.state, { type: "unhold", at: AT, actor: "bob" }, counter("r"));
    expect(ofType(out.effects, "start_ticket").map((s) => s.ticket)).toEqual(["api", "#7"]);
    expect(storedStatus(out.state)).toBe("active");
  });

  test("replan: a higher limit starts more at once, a new strategy applies to what starts next", () => {
    const body = "- [ ] [a] A\n- [ ] [b] B\n- [ ] [c] C\n- [ ] [d] D";
    let { state } = withIssues(created({ body, parallel: 1 }).state);
    expect(state.tickets.filter((t) => t.status === "running")).toHaveLength(1);
    const out = reduceBatch(state, { type: "replan", at: AT, actor: "bob", parallel: 3 }, counter("r"));
    expect(ofType(out.effects, "start_ticket").map((s) => s.ticket)).toEqual(["b", "c"]);
    expect(out.state.parallel).toBe(3);
    state = reduceBatch(
      out.state,
      { type: "replan", at: AT, actor: "bob", strategy: "sequential" },
      counter("s"),
    ).state;
    expect(state.strategy).toBe("sequential");
    // Three run; sequential allows one: nothing starts until all three are done.
    const after = reduceBatch(
      state,
      { type: "run_update", at: AT, runId: "run_1", status: "succeeded", costUsd: 0 },
      counter("t"),
    );
    expect(ofType(after.effects, "start_ticket")).toEqual([]);
  });

  test("abort aborts every running ticket's run and the batch; later events start nothing", () => {
    const body = "- [ ] [a] A\n- [ ] [b] B\n- [ ] [c] C after [a]";
    const { state } = withIssues(created({ body }).state);
    const out = reduceBatch(state, { type: "abort", at: AT, actor: "bob", reason: "wrong plan" }, counter());
    expect(out.state.status).toBe("aborted");
    expect(ofType(out.effects, "abort_ticket").map((a) => [a.ticket, a.runId])).toEqual([
      ["a", "run_1"],
      ["b", "run_2"],
    ]);
    const late = finish(out.state, "run_1", "aborted");
    expect(ofType(late.effects, "start_ticket")).toEqual([]);
    expect(
      reduceBatch(out.state, { type: "abort", at: AT, actor: "bob", reason: "again" }, counter()).effects.map(
        (e) => e.type,
      ),
    ).toEqual(["audit"]);
    expect(
      ofType(
        reduceBatch(out.state, { type: "replan", at: AT, actor: "bob", parallel: 5 }, counter()).effects,
        "reply",
      ),
    ).toHaveLength(1);
  });

  test("refresh asks for the status comment with a fresh key each time", () => {
    const { state } = created();
    const a = reduceBatch(state, { type: "refresh", at: AT, actor: "bob" }, counter());
    const b = reduceBatch(a.state, { type: "refresh", at: AT, actor: "bob" }, counter());
    expect(a.effects.map((e) => e.type)).toEqual(["batch_status"]);
    expect(a.effects[0]!.key).not.toBe(b.effects[0]!.key);
    // The older ask is coalesced: the shell sees a later one will render the same latest state.
    const seqOf = (e: BatchEffect | undefined) => (e?.type === "batch_status" ? e.seq : -1);
    expect(seqOf(a.effects[0])).toBeLessThan(b.state.statusSeq!);
    expect(seqOf(b.effects[0])).toBe(b.state.statusSeq);
  });

  test("the ticket's own workflow label travels to its run", () => {
    const { state } = created({ body: "- [ ] #7\n- [ ] [x] X" });
    let s = reduceBatch(
      state,
      { type: "ticket_issue", at: AT, ticket: "#7", issue: 7, issueId: 70, title: "Fix it", workflow: "bdd" },
      counter(),
    ).state;
    const out = reduceBatch(
      s,
      { type: "ticket_issue", at: AT, ticket: "x", issue: 8, issueId: 80 },
      counter(),
    );
    s = out.state;
    expect(ofType(out.effects, "start_ticket").map((e) => [e.ticket, e.workflow, e.title])).toEqual([
      ["#7", "bdd", "Fix it"],
      ["x", undefined, "X"],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties: a fair random scheduler of outcomes over random DAGs.

const dagArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.record({
    deps: fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: n, maxLength: n }),
    checked: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    estimates: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: n, maxLength: n }),
  }),
);

function bodyOf(dag: { deps: number[][]; checked: boolean[]; estimates: number[] }): string {
  return dag.deps
    .map((ds, i) => {
      const deps = [...new Set(ds.filter(() => i > 0).map((d) => d % i))];
      const after = deps.length > 0 ? ` after ${deps.map((d) => `[k${d}]`).join(", ")}` : "";
      return `- [${dag.checked[i] && i % 3 === 0 ? "x" : " "}] [k${i}] Ticket ${i}${after} est: ${dag.estimates[i]}`;
    })
    .join("\n");
}

test("property: never more running than the limit, dependencies respected, every batch terminates", () => {
  fc.assert(
    fc.property(
      dagArb,
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom<Strategy>("sequential", "parallel", "dependency-aware"),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 9 })), { maxLength: 200 }),
      (dag, parallel, strategy, choices) => {
        const out = createBatch(input({ body: bodyOf(dag), parallel, batchSize: parallel, strategy }));
        if (!out.ok) throw new Error(out.errors.join("; "));
        const ctx = counter();
        let state = withIssues(out.state, ctx).state;
        const check = (s: BatchState, effects: BatchEffect[]) => {
          const running = s.tickets.filter((t) => t.status === "running");
          expect(running.length).toBeLessThanOrEqual(strategy === "sequential" ? 1 : parallel);
          const byKey = new Map(s.tickets.map((t) => [t.key, t]));
          for (const start of ofType(effects, "start_ticket")) {
            const t = byKey.get(start.ticket)!;
            for (const d of t.deps) expect(byKey.get(d)!.status).toBe("done");
          }
        };
        let steps = 0;
        let i = 0;
        while (state.status === "active") {
          const running = state.tickets.filter((t) => t.status === "running");
          expect(running.length, "an active batch always has something running").toBeGreaterThan(0);
          const [pick, roll] = choices[i++ % Math.max(choices.length, 1)] ?? [0, 0];
          const t = running[pick % running.length]!;
          const status = roll < 7 ? "succeeded" : roll < 9 ? "failed" : "aborted";
          const next = reduceBatch(
            state,
            { type: "run_update", at: AT + ++steps, runId: t.runId!, status, costUsd: 0 },
            ctx,
          );
          check(next.state, next.effects);
          state = next.state;
          expect(steps).toBeLessThanOrEqual(state.tickets.length);
        }
        expect(["succeeded", "failed"]).toContain(state.status);
        if (state.status === "succeeded") expect(state.tickets.every((t) => t.status === "done")).toBe(true);
        else expect(state.tickets.some((t) => t.status === "failed")).toBe(true);
      },
    ),
    { numRuns: 150 },
  );
});

test("property: effect keys never repeat across a whole batch, and the reducer never throws", () => {
  const eventArb: fc.Arbitrary<(s: BatchState) => BatchEvent> = fc.oneof(
    fc.constant((s: BatchState) => {
      const r = s.tickets.find((t) => t.status === "running");
      return {
        type: "run_update",
        at: AT,
        runId: r?.runId ?? "none",
        status: "succeeded",
        costUsd: 0.1,
      } as const;
    }),
    fc.constant(() => ({ type: "hold", at: AT, actor: "a" }) as const),
    fc.constant(() => ({ type: "unhold", at: AT, actor: "a" }) as const),
    fc.constant(() => ({ type: "refresh", at: AT, actor: "a" }) as const),
    fc
      .integer({ min: 1, max: 4 })
      .map((p) => () => ({ type: "replan", at: AT, actor: "a", parallel: p }) as const),
    fc.constant(() => ({ type: "abort", at: AT, actor: "a", reason: "x" }) as const),
  );
  fc.assert(
    fc.property(dagArb, fc.array(eventArb, { maxLength: 30 }), (dag, events) => {
      const out = createBatch(input({ body: bodyOf(dag) }));
      if (!out.ok) throw new Error(out.errors.join("; "));
      const ctx = counter();
      const first = withIssues(out.state, ctx);
      const keys = [...out.effects, ...first.all].map((e) => e.key);
      let state = first.state;
      for (const make of events) {
        const next = reduceBatch(state, make(state), ctx);
        keys.push(...next.effects.map((e) => e.key));
        state = next.state;
      }
      expect(new Set(keys).size).toBe(keys.length);
    }),
    { numRuns: 100 },
  );
});
