// Seeded random batches shared by the planner tests and `npm run bench:plan`.
import type { Ticket } from "../../../src/core/batch/index.js";

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DagShape {
  size: number;
  /** Mean number of dependencies per ticket (each ticket draws 0..2·meanDeps). */
  meanDeps: number;
  /** Dependencies are drawn from the `window` tickets just before; smaller windows give longer chains. */
  window: number;
  /** Estimates are whole numbers in 1..maxEstimate. */
  maxEstimate: number;
}

/** A random DAG as tickets keyed `t1…tN`; dependencies only point backwards, so it is acyclic. */
export function randomTickets(rand: () => number, shape: DagShape): Ticket[] {
  const tickets: Ticket[] = [];
  for (let i = 0; i < shape.size; i++) {
    const deps = new Set<string>();
    const count = Math.floor(rand() * (2 * shape.meanDeps + 1));
    for (let d = 0; d < count && i > 0; d++) {
      const from = Math.max(0, i - shape.window);
      deps.add(`k${from + Math.floor(rand() * (i - from))}`);
    }
    tickets.push({
      key: `k${i}`,
      ref: `k${i}`,
      kind: "keyed",
      title: `Ticket ${i}`,
      deps: [...deps],
      estimate: 1 + Math.floor(rand() * shape.maxEstimate),
      done: false,
      line: i + 1,
    });
  }
  return tickets;
}

/** A random shape in the ranges the benchmark and the property tests use. */
export function randomShape(rand: () => number, minSize: number, maxSize: number): DagShape {
  return {
    size: minSize + Math.floor(rand() * (maxSize - minSize + 1)),
    meanDeps: 1 + rand() * 2,
    window: 2 + Math.floor(rand() * 60),
    maxEstimate: 1 + Math.floor(rand() * 8),
  };
}

/** The Markdown a tracking issue would hold for these tickets. */
export function toMarkdown(tickets: readonly Ticket[]): string {
  const lines = ["# Batch", ""];
  for (const t of tickets) {
    const deps = t.deps.length > 0 ? ` depends on ${t.deps.map((d) => `[${d}]`).join(", ")}` : "";
    lines.push(`- [${t.done ? "x" : " "}] [${t.key}] ${t.title}${deps} (est: ${t.estimate})`);
  }
  return lines.join("\n") + "\n";
}
