import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  batchStates,
  blockedBy,
  IndexHeap,
  nextToStart,
  parseTaskList,
  planBatch,
  planListOrder,
  STRATEGIES,
  type Plan,
  type Strategy,
  type Ticket,
} from "../../../src/core/batch/index.js";
import { prng, randomShape, randomTickets } from "./random-dag.js";

const batch = (md: string): Ticket[] => {
  const { tickets, errors } = parseTaskList(md);
  expect(errors).toEqual([]);
  return tickets;
};
const rows = (plan: Plan) => plan.schedule.map((s) => [s.ticket, s.start, s.end, s.slot]);
const EPS = 1e-9;

/** Every invariant a plan must satisfy, whatever the strategy. */
function checkPlan(tickets: Ticket[], plan: Plan, parallel: number): void {
  const byKey = new Map(tickets.map((t) => [t.key, t]));
  const entry = new Map(plan.schedule.map((s) => [s.key, s]));
  // Each pending ticket exactly once, done tickets never.
  expect(plan.schedule).toHaveLength(tickets.filter((t) => !t.done).length);
  expect(entry.size).toBe(plan.schedule.length);
  for (const s of plan.schedule) {
    const t = byKey.get(s.key) as Ticket;
    expect(t.done).toBe(false);
    expect(s.ticket).toBe(t.ref);
    expect(s.end - s.start).toBeCloseTo(t.estimate, 9);
    expect(s.slot).toBeGreaterThanOrEqual(0);
    expect(s.slot).toBeLessThan(parallel);
    // Dependencies first (done ones count as finished at 0).
    for (const d of t.deps) {
      const dep = entry.get(d);
      if (dep) expect(s.start).toBeGreaterThanOrEqual(dep.end - EPS);
      else expect(byKey.get(d)?.done).toBe(true);
    }
  }
  // Never more than `parallel` at once, and one ticket per slot at a time.
  for (const s of plan.schedule) {
    const overlapping = plan.schedule.filter((o) => o.start <= s.start + EPS && o.end > s.start + EPS);
    expect(overlapping.length).toBeLessThanOrEqual(parallel);
    expect(new Set(overlapping.map((o) => o.slot)).size).toBe(overlapping.length);
  }
  expect(plan.makespan).toBe(Math.max(0, ...plan.schedule.map((s) => s.end)));
  expect(plan.makespan).toBeGreaterThanOrEqual(plan.lowerBound - EPS);
  // Sorted by start, then slot.
  const sorted = [...plan.schedule].sort((a, b) => a.start - b.start || a.slot - b.slot);
  expect(plan.schedule).toEqual(sorted);
}

/** Random DAGs: each ticket may depend on any earlier one; some are done. */
const dagArbitrary = fc
  .array(
    fc.record({
      deps: fc.array(fc.nat(), { maxLength: 4 }),
      estimate: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constantFrom(0.1, 0.2, 0.5, 2.5)),
      done: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
    }),
    { minLength: 1, maxLength: 40 },
  )
  .map((specs) =>
    specs.map((s, i): Ticket => ({
      key: `k${i}`,
      ref: i % 3 === 0 ? `#${i + 1}` : `k${i}`,
      kind: "keyed",
      title: `ticket ${i}`,
      deps: i === 0 ? [] : [...new Set(s.deps.map((d) => `k${d % i}`))],
      estimate: s.estimate,
      done: s.done,
      line: i + 1,
    })),
  );

const stats = (tickets: Ticket[]) => {
  const pending = tickets.filter((t) => !t.done);
  const byKey = new Map(pending.map((t) => [t.key, t]));
  const memo = new Map<string, number>();
  // Longest chain ending at a ticket (tickets only depend on earlier ones, so list order is topological).
  for (const t of pending) {
    const before = Math.max(0, ...t.deps.filter((d) => byKey.has(d)).map((d) => memo.get(d) ?? 0));
    memo.set(t.key, before + t.estimate);
  }
  return { work: pending.reduce((s, t) => s + t.estimate, 0), critical: Math.max(0, ...memo.values()) };
};

describe("planBatch: known answers", () => {
  // d (3) waits for c: a critical-path scheduler starts c first, a list-order one starts a and b.
  const md = "- [ ] [a] A\n- [ ] [b] B\n- [ ] [c] C\n- [ ] [d] D after [c] est: 3";

  it("dependency-aware starts the critical path first", () => {
    const plan = planBatch(batch(md), { strategy: "dependency-aware", parallel: 2 });
    expect(rows(plan)).toEqual([
      ["c", 0, 1, 0],
      ["a", 0, 1, 1],
      ["d", 1, 4, 0],
      ["b", 1, 2, 1],
    ]);
    expect(plan).toMatchObject({ strategy: "dependency-aware", parallel: 2, makespan: 4, lowerBound: 4 });
  });

  it("the list-order baseline does worse on the same batch", () => {
    const plan = planListOrder(batch(md), 2);
    expect(plan.makespan).toBe(5);
    expect(plan.lowerBound).toBe(4);
  });

  it("sequential runs one at a time in list order where dependencies allow", () => {
    const plan = planBatch(batch("- [ ] [a] A after [c]\n- [ ] [b] B\n- [ ] [c] C est: 2"), {
      strategy: "sequential",
      parallel: 3,
    });
    expect(rows(plan)).toEqual([
      ["b", 0, 1, 0],
      ["c", 1, 3, 0],
      ["a", 3, 4, 0],
    ]);
    expect(plan.makespan).toBe(4);
    expect(plan.lowerBound).toBe(3); // max(critical path 3, work 4 / 3)
  });

  it("parallel runs waves of batchSize in list order; the next wave waits for the whole wave", () => {
    const tickets = batch("- [ ] [a] est: 3\n- [ ] [b]\n- [ ] [c]\n- [ ] [d] after [b]\n- [ ] [e]");
    const plan = planBatch(tickets, { strategy: "parallel", parallel: 3, batchSize: 2 });
    expect(rows(plan)).toEqual([
      ["a", 0, 3, 0],
      ["b", 0, 1, 1],
      ["c", 3, 4, 0],
      ["d", 3, 4, 1],
      ["e", 4, 5, 0],
    ]);
    // Without batchSize a wave is `parallel` wide; batchSize is capped at parallel.
    expect(planBatch(tickets, { strategy: "parallel", parallel: 3 }).makespan).toBe(4);
    expect(planBatch(tickets, { strategy: "parallel", parallel: 3, batchSize: 10 }).makespan).toBe(4);
  });

  it("ties on critical path go to more successors, then to list order", () => {
    const tickets = batch(
      "- [ ] [a] est: 2\n- [ ] [b]\n- [ ] [c] after [b]\n- [ ] [d] after [b]\n- [ ] [e] est: 2",
    );
    const plan = planBatch(tickets, { strategy: "dependency-aware", parallel: 1 });
    expect(plan.schedule.map((s) => s.ticket)).toEqual(["b", "a", "e", "c", "d"]);
  });

  it("leaves done tickets out; they satisfy their dependents at time 0", () => {
    const tickets = batch("- [x] [a] est: 5\n- [ ] [b] after [a]\n- [x] #3\n- [ ] [c] after #3 and [b]");
    const plan = planBatch(tickets, { strategy: "dependency-aware", parallel: 2 });
    expect(rows(plan)).toEqual([
      ["b", 0, 1, 0],
      ["c", 1, 2, 0],
    ]);
    expect(plan.lowerBound).toBe(2);
  });

  it("handles an all-done or empty batch", () => {
    for (const strategy of STRATEGIES) {
      expect(planBatch(batch("- [x] [a]"), { strategy, parallel: 2 })).toEqual({
        strategy,
        parallel: 2,
        schedule: [],
        makespan: 0,
        lowerBound: 0,
      });
    }
  });

  it("keeps fractional estimates exact enough for completions to coincide", () => {
    const tickets = batch(
      "- [ ] [a] est: 0.1\n- [ ] [b] after [a] est: 0.2\n- [ ] [c] est: 0.3\n- [ ] [d] after [b], [c]",
    );
    const plan = planBatch(tickets, { strategy: "dependency-aware", parallel: 2 });
    expect(plan.schedule.find((s) => s.key === "d")).toMatchObject({ start: 0.3, end: 1.3 });
    expect(plan.makespan).toBe(1.3);
  });

  it("refuses a cycle and bad limits with a clear error", () => {
    const cyclic = batch("- [ ] [a] after [b]\n- [ ] [b] after [a]\n- [ ] [c]");
    expect(() => planBatch(cyclic, { strategy: "sequential", parallel: 1 })).toThrow(
      /dependency cycle .*stuck: \[a\], \[b\]/,
    );
    const ok = batch("- [ ] [a]");
    expect(() => planBatch(ok, { strategy: "dependency-aware", parallel: 0 })).toThrow(/parallel must be/);
    expect(() => planBatch(ok, { strategy: "parallel", parallel: 2, batchSize: 1.5 })).toThrow(/batchSize/);
    expect(() => planBatch(ok, { strategy: "fastest" as Strategy, parallel: 2 })).toThrow(
      'unknown strategy "fastest" (expected sequential, parallel, dependency-aware)',
    );
  });

  it("copes with a parallel limit far above the number of tickets", () => {
    const plan = planBatch(batch("- [ ] [a]\n- [ ] [b]"), { strategy: "dependency-aware", parallel: 1e9 });
    expect(plan.makespan).toBe(1);
  });
});

describe("planBatch: properties over random DAGs", () => {
  it("every strategy respects dependencies, the parallel limit and the lower bound", () => {
    fc.assert(
      fc.property(
        dagArbitrary,
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom<Strategy>(...STRATEGIES),
        fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
        (tickets, parallel, strategy, batchSize) => {
          const plan = planBatch(tickets, { strategy, parallel, ...(batchSize ? { batchSize } : {}) });
          expect(plan.strategy).toBe(strategy);
          checkPlan(tickets, plan, parallel);
          if (strategy === "sequential") {
            expect(plan.schedule.every((s) => s.slot === 0)).toBe(true);
            expect(plan.makespan).toBeCloseTo(stats(tickets).work, 6);
          }
          if (strategy === "parallel") {
            const width = Math.min(batchSize ?? parallel, parallel);
            const waves = new Map<number, number>();
            for (const s of plan.schedule) waves.set(s.start, (waves.get(s.start) ?? 0) + 1);
            for (const size of waves.values()) expect(size).toBeLessThanOrEqual(width);
            // A wave starts only when everything started before it has ended.
            for (const s of plan.schedule) {
              for (const o of plan.schedule)
                if (o.start < s.start) expect(o.end).toBeLessThanOrEqual(s.start + EPS);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("dependency-aware is a greedy list schedule: within Graham's bound and never worse than sequential", () => {
    fc.assert(
      fc.property(dagArbitrary, fc.integer({ min: 1, max: 8 }), (tickets, parallel) => {
        const plan = planBatch(tickets, { strategy: "dependency-aware", parallel });
        const { work, critical } = stats(tickets);
        expect(plan.lowerBound).toBeCloseTo(Math.max(critical, work / parallel), 6);
        expect(plan.makespan).toBeLessThanOrEqual(work / parallel + (1 - 1 / parallel) * critical + 1e-6);
        expect(plan.makespan).toBeLessThanOrEqual(work + 1e-6);
      }),
      { numRuns: 300 },
    );
  });

  it("is within 5 % of the lower bound on 20 seeded random DAGs (mean), and beats list order", () => {
    const rand = prng(20261121);
    const ratios: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < 20; i++) {
      const tickets = randomTickets(rand, randomShape(rand, 50, 600));
      const parallel = 2 + Math.floor(rand() * 15);
      const plan = planBatch(tickets, { strategy: "dependency-aware", parallel });
      checkPlan(tickets, plan, parallel);
      ratios.push(plan.makespan / plan.lowerBound);
      baseline.push(planListOrder(tickets, parallel).makespan / plan.lowerBound);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(ratios)).toBeLessThanOrEqual(1.05);
    expect(Math.max(...ratios)).toBeLessThan(1.2);
    expect(mean(ratios)).toBeLessThanOrEqual(mean(baseline));
  });

  // Speed is measured by `npm run bench:plan` against a baseline, not asserted here.
  it("plans 10,000 tickets with ~3 dependencies each, respecting every dependency and the limit", () => {
    const tickets = randomTickets(prng(1), { size: 10_000, meanDeps: 3, window: 200, maxEstimate: 8 });
    expect(tickets.reduce((n, t) => n + t.deps.length, 0)).toBeGreaterThan(25_000);
    const plan: Plan = planBatch(tickets, { strategy: "dependency-aware", parallel: 8 });
    expect(plan.schedule).toHaveLength(10_000);
    checkPlan(tickets, plan, 8);
  });
});

describe("nextToStart", () => {
  const tickets = batch(
    [
      "- [x] [spike] est: 1",
      "- [ ] [db] est: 2",
      "- [ ] [api] after [db] est: 3",
      "- [ ] [ui] after [spike] est: 2",
      "- [ ] [e2e] after [api], [ui] est: 2",
      "- [ ] [notes] est: 0.5",
      "- [ ] [docs] after [e2e]",
    ].join("\n"),
  );

  it("fills the free slots with ready tickets, critical path first", () => {
    const progress = { running: [], done: [] };
    expect(nextToStart(tickets, progress, { strategy: "dependency-aware", parallel: 3 })).toEqual([
      "db",
      "ui",
      "notes",
    ]);
    expect(nextToStart(tickets, progress, { strategy: "dependency-aware", parallel: 1 })).toEqual(["db"]);
  });

  it("only fills what the running tickets leave free", () => {
    expect(
      nextToStart(
        tickets,
        { running: ["db", "ui"], done: [] },
        { strategy: "dependency-aware", parallel: 3 },
      ),
    ).toEqual(["notes"]);
    expect(
      nextToStart(
        tickets,
        { running: ["db", "ui", "notes"], done: [] },
        { strategy: "dependency-aware", parallel: 3 },
      ),
    ).toEqual([]);
  });

  it("releases dependents on completion", () => {
    expect(
      nextToStart(
        tickets,
        { running: ["ui"], done: ["db", "notes"] },
        { strategy: "dependency-aware", parallel: 3 },
      ),
    ).toEqual(["api"]);
    expect(
      nextToStart(
        tickets,
        { running: [], done: ["db", "notes", "ui", "api"] },
        { strategy: "dependency-aware", parallel: 3 },
      ),
    ).toEqual(["e2e"]);
  });

  it("sequential starts one ticket, in list order, when nothing runs", () => {
    expect(nextToStart(tickets, { running: [], done: [] }, { strategy: "sequential", parallel: 3 })).toEqual([
      "db",
    ]);
    expect(
      nextToStart(tickets, { running: ["db"], done: [] }, { strategy: "sequential", parallel: 3 }),
    ).toEqual([]);
  });

  it("parallel starts a whole wave only when the previous one has ended", () => {
    const opts = { strategy: "parallel" as const, parallel: 3, batchSize: 2 };
    expect(nextToStart(tickets, { running: [], done: [] }, opts)).toEqual(["db", "ui"]);
    expect(nextToStart(tickets, { running: ["ui"], done: ["db"] }, opts)).toEqual([]);
    expect(nextToStart(tickets, { running: [], done: ["db", "ui"] }, opts)).toEqual(["api", "notes"]);
  });

  it("never restarts failed tickets nor starts what depends on them", () => {
    const progress = { running: [], done: ["notes"], failed: ["db"] };
    expect(nextToStart(tickets, progress, { strategy: "dependency-aware", parallel: 3 })).toEqual(["ui"]);
    expect(
      nextToStart(
        tickets,
        { running: [], done: ["db", "notes", "api"], failed: ["ui"] },
        {
          strategy: "dependency-aware",
          parallel: 3,
        },
      ),
    ).toEqual([]);
  });

  it("driving nextToStart with simulated completions reproduces planBatch's start times", () => {
    fc.assert(
      fc.property(
        dagArbitrary,
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom<Strategy>(...STRATEGIES),
        (ts, p, s) => {
          const plan = planBatch(ts, { strategy: s, parallel: p });
          const estimate = new Map(ts.map((t) => [t.key, t.estimate]));
          const running = new Map<string, number>();
          const done: string[] = [];
          const started = new Map<string, number>();
          let now = 0;
          for (;;) {
            for (const k of nextToStart(
              ts,
              { running: [...running.keys()], done },
              { strategy: s, parallel: p },
            )) {
              started.set(k, now);
              running.set(k, Math.round((now + (estimate.get(k) ?? 0)) * 1e9) / 1e9);
            }
            if (running.size === 0) break;
            now = Math.min(...running.values());
            for (const [k, end] of running) {
              if (end !== now) continue;
              running.delete(k);
              done.push(k);
            }
          }
          expect(Object.fromEntries(started)).toEqual(
            Object.fromEntries(plan.schedule.map((x) => [x.key, x.start])),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("replaying nextToStart with instant completions runs every ticket exactly once, deps first", () => {
    fc.assert(
      fc.property(
        dagArbitrary,
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom<Strategy>(...STRATEGIES),
        (ts, p, s) => {
          const done: string[] = [];
          const started: string[] = [];
          for (let round = 0; round <= ts.length; round++) {
            const next = nextToStart(ts, { running: [], done }, { strategy: s, parallel: p });
            expect(next.length).toBeLessThanOrEqual(s === "sequential" ? 1 : p);
            for (const k of next) {
              const t = ts.find((x) => x.key === k) as Ticket;
              for (const d of t.deps)
                expect(done.includes(d) || ts.find((x) => x.key === d)?.done).toBeTruthy();
            }
            started.push(...next);
            done.push(...next);
            if (next.length === 0) break;
          }
          expect([...started].sort()).toEqual(
            ts
              .filter((t) => !t.done)
              .map((t) => t.key)
              .sort(),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("blockedBy and batchStates", () => {
  const tickets = batch(
    "- [ ] [a]\n- [ ] [b] after [a]\n- [ ] [c] after [b]\n- [ ] [d]\n- [ ] [e] after [c], [d]\n- [ ] [f]",
  );

  it("maps every transitive dependent of a failed ticket to the failures it waits for", () => {
    expect(blockedBy(tickets, [])).toEqual(new Map());
    expect(blockedBy(tickets, ["b"])).toEqual(
      new Map([
        ["c", ["b"]],
        ["e", ["b"]],
      ]),
    );
    expect(blockedBy(tickets, ["d", "a"])).toEqual(
      new Map([
        ["b", ["a"]],
        ["c", ["a"]],
        ["e", ["d", "a"]],
      ]),
    );
  });

  it("gives each ticket its display state", () => {
    const states = batchStates(tickets, { running: ["d"], done: ["a"], failed: ["b"] });
    expect(Object.fromEntries(states)).toEqual({
      a: "done",
      b: "failed",
      c: "blocked",
      d: "running",
      e: "blocked",
      f: "ready",
    });
    expect(Object.fromEntries(batchStates(tickets, { running: [], done: [] }))).toMatchObject({
      a: "ready",
      b: "pending",
    });
  });
});

describe("IndexHeap", () => {
  it("pops in comparator order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 })), (xs) => {
        const heap = new IndexHeap((a, b) => b - a);
        xs.forEach((x) => heap.push(x));
        const out: number[] = [];
        while (heap.size > 0) out.push(heap.pop() as number);
        expect(out).toEqual([...xs].sort((a, b) => b - a));
        expect(heap.pop()).toBeUndefined();
      }),
    );
  });
});
