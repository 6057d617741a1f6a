// Schedules batch tickets onto `parallel` slots. Pure. Times are in estimate units.
// Dependency-aware = list scheduling by critical path (longest remaining path including the ticket itself),
// with a binary heap for the ready queue and another for completions: O((n + e) log n).
import { displayTicket, type Ticket } from "./parse.js";

export const STRATEGIES = ["sequential", "parallel", "dependency-aware"] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface PlanOptions {
  strategy: Strategy;
  /** How many tickets may run at once (≥ 1). */
  parallel: number;
  /** `parallel` strategy: tickets per wave (defaults to and is capped at `parallel`). */
  batchSize?: number;
}

export interface ScheduledTicket {
  /** The reference as written: "#123" or the key. */
  ticket: string;
  key: string;
  start: number;
  end: number;
  /** 0-based runner slot, < parallel. */
  slot: number;
}

export interface Plan {
  strategy: Strategy;
  parallel: number;
  /** Sorted by start, then slot. Done tickets are not in it. */
  schedule: ScheduledTicket[];
  makespan: number;
  /** max(critical path, total work / parallel): no schedule can beat it. */
  lowerBound: number;
}

/** A min-heap of small integers ordered by `before(a, b) < 0`. */
export class IndexHeap {
  private readonly items: number[] = [];
  constructor(private readonly before: (a: number, b: number) => number) {}
  get size(): number {
    return this.items.length;
  }
  peek(): number | undefined {
    return this.items[0];
  }
  push(x: number): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.before(a[i] as number, a[p] as number) >= 0) break;
      [a[i], a[p]] = [a[p] as number, a[i] as number];
      i = p;
    }
  }
  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l] as number, a[m] as number) < 0) m = l;
        if (r < a.length && this.before(a[r] as number, a[m] as number) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as number, a[i] as number];
        i = m;
      }
    }
    return top;
  }
}

/** Rounds away binary noise so that 0.1 + 0.2 ends when 0.3 does. */
const roundTime = (x: number): number => Math.round(x * 1e9) / 1e9;

/** The not-done part of the batch as arrays indexed by list position (among the pending tickets). */
interface Graph {
  tickets: Ticket[];
  estimate: Float64Array;
  /** Successors in CSR form: succ[succStart[i] .. succStart[i + 1]). */
  succStart: Int32Array;
  succ: Int32Array;
  /** Pending (not satisfied) dependencies per ticket. */
  indegree: Int32Array;
  /** Topological order; shorter than n when there is a cycle. */
  topo: Int32Array;
  topoLength: number;
}

/**
 * `satisfied` keys (done tickets) count as finished at time 0; dependencies on keys not in the list are
 * ignored here (validateBatch refuses them first).
 */
function buildGraph(all: readonly Ticket[], satisfied: (t: Ticket) => boolean): Graph {
  const tickets = all.filter((t) => !satisfied(t));
  const n = tickets.length;
  const index = new Map<string, number>();
  tickets.forEach((t, i) => index.set(t.key, i));
  const estimate = new Float64Array(n);
  const indegree = new Int32Array(n);
  const outCount = new Int32Array(n + 1);
  // Resolve each dependency once: (dependency, dependent) pairs, then counting sort into CSR.
  const pairs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = tickets[i] as Ticket;
    estimate[i] = t.estimate;
    for (const d of t.deps) {
      const j = index.get(d);
      if (j === undefined) continue;
      pairs.push(j, i);
      indegree[i] = (indegree[i] as number) + 1;
      outCount[j] = (outCount[j] as number) + 1;
    }
  }
  const succStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) succStart[i + 1] = (succStart[i] as number) + (outCount[i] as number);
  const fill = succStart.slice(0, n);
  const succ = new Int32Array(succStart[n] as number);
  for (let p = 0; p < pairs.length; p += 2) {
    const j = pairs[p] as number;
    succ[fill[j] as number] = pairs[p + 1] as number;
    fill[j] = (fill[j] as number) + 1;
  }
  // Kahn's algorithm, for the critical path and to detect cycles.
  const deg = indegree.slice();
  const topo = new Int32Array(n);
  let len = 0;
  for (let i = 0; i < n; i++) if (deg[i] === 0) topo[len++] = i;
  for (let h = 0; h < len; h++) {
    const v = topo[h] as number;
    for (let e = succStart[v] as number; e < (succStart[v + 1] as number); e++) {
      const w = succ[e] as number;
      deg[w] = (deg[w] as number) - 1;
      if (deg[w] === 0) topo[len++] = w;
    }
  }
  return { tickets, estimate, succStart, succ, indegree, topo, topoLength: len };
}

function assertAcyclic(g: Graph): void {
  if (g.topoLength === g.tickets.length) return;
  const inTopo = new Uint8Array(g.tickets.length);
  for (let h = 0; h < g.topoLength; h++) inTopo[g.topo[h] as number] = 1;
  const stuck = g.tickets.filter((_, i) => !inTopo[i]).map(displayTicket);
  throw new Error(
    `cannot schedule a batch with a dependency cycle (run validateBatch first); stuck: ${stuck.slice(0, 10).join(", ")}`,
  );
}

/** Longest path from each ticket to the end of the batch, including its own estimate. */
function criticalPaths(g: Graph): Float64Array {
  const cp = new Float64Array(g.tickets.length);
  for (let h = g.topoLength - 1; h >= 0; h--) {
    const v = g.topo[h] as number;
    let best = 0;
    for (let e = g.succStart[v] as number; e < (g.succStart[v + 1] as number); e++) {
      const c = cp[g.succ[e] as number] as number;
      if (c > best) best = c;
    }
    cp[v] = roundTime(best + (g.estimate[v] as number));
  }
  return cp;
}

/** Critical path first; ties: more successors, then list order. */
function criticalPathOrder(g: Graph, cp = criticalPaths(g)): (a: number, b: number) => number {
  const out = new Int32Array(g.tickets.length);
  for (let i = 0; i < out.length; i++) out[i] = (g.succStart[i + 1] as number) - (g.succStart[i] as number);
  return (a, b) => (cp[b] as number) - (cp[a] as number) || (out[b] as number) - (out[a] as number) || a - b;
}

const listOrder = (a: number, b: number): number => a - b;

/** Event-driven list scheduling: whenever a slot is free, start the best ready ticket. */
function listSchedule(g: Graph, slots: number, before: (a: number, b: number) => number): ScheduledTicket[] {
  const n = g.tickets.length;
  const deg = g.indegree.slice();
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const slotOf = new Int32Array(n);
  const ready = new IndexHeap(before);
  for (let i = 0; i < n; i++) if (deg[i] === 0) ready.push(i);
  // Completions: earliest end first; equal ends release the lower slot first (stable, deterministic).
  const running = new IndexHeap(
    (a, b) => (end[a] as number) - (end[b] as number) || (slotOf[a] as number) - (slotOf[b] as number),
  );
  const free = new IndexHeap((a, b) => a - b);
  // More slots than tickets are never used; don't build them (parallel may be huge).
  for (let s = 0; s < Math.min(slots, n); s++) free.push(s);
  const out: ScheduledTicket[] = [];
  let now = 0;
  while (ready.size > 0 || running.size > 0) {
    while (ready.size > 0 && free.size > 0) {
      const v = ready.pop() as number;
      const s = free.pop() as number;
      start[v] = now;
      end[v] = roundTime(now + (g.estimate[v] as number));
      slotOf[v] = s;
      running.push(v);
      const t = g.tickets[v] as Ticket;
      out.push({ ticket: t.ref, key: t.key, start: now, end: end[v] as number, slot: s });
    }
    const first = running.peek();
    if (first === undefined) break;
    now = end[first] as number;
    while (running.size > 0 && end[running.peek() as number] === now) {
      const v = running.pop() as number;
      free.push(slotOf[v] as number);
      for (let e = g.succStart[v] as number; e < (g.succStart[v + 1] as number); e++) {
        const w = g.succ[e] as number;
        deg[w] = (deg[w] as number) - 1;
        if (deg[w] === 0) ready.push(w);
      }
    }
  }
  return out;
}

/** Waves of `size` ready tickets in list order; the next wave starts when the whole wave has ended. */
function waveSchedule(g: Graph, size: number): ScheduledTicket[] {
  const deg = g.indegree.slice();
  const ready = new IndexHeap(listOrder);
  for (let i = 0; i < g.tickets.length; i++) if (deg[i] === 0) ready.push(i);
  const out: ScheduledTicket[] = [];
  let now = 0;
  while (ready.size > 0) {
    const wave: number[] = [];
    while (wave.length < size && ready.size > 0) wave.push(ready.pop() as number);
    let waveEnd = now;
    wave.forEach((v, s) => {
      const t = g.tickets[v] as Ticket;
      const end = roundTime(now + (g.estimate[v] as number));
      waveEnd = Math.max(waveEnd, end);
      out.push({ ticket: t.ref, key: t.key, start: now, end, slot: s });
    });
    for (const v of wave) {
      for (let e = g.succStart[v] as number; e < (g.succStart[v + 1] as number); e++) {
        const w = g.succ[e] as number;
        deg[w] = (deg[w] as number) - 1;
        if (deg[w] === 0) ready.push(w);
      }
    }
    now = waveEnd;
  }
  return out;
}

function lowerBoundOf(g: Graph, parallel: number, cp = criticalPaths(g)): number {
  let longest = 0;
  let work = 0;
  for (let i = 0; i < g.tickets.length; i++) {
    longest = Math.max(longest, cp[i] as number);
    work += g.estimate[i] as number;
  }
  return roundTime(Math.max(longest, work / parallel));
}

function checkLimit(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a whole number ≥ 1, got ${value}`);
}

function finish(
  strategy: Strategy,
  parallel: number,
  g: Graph,
  schedule: ScheduledTicket[],
  cp = criticalPaths(g),
): Plan {
  schedule.sort((a, b) => a.start - b.start || a.slot - b.slot);
  const makespan = schedule.reduce((m, s) => Math.max(m, s.end), 0);
  return { strategy, parallel, schedule, makespan, lowerBound: lowerBoundOf(g, parallel, cp) };
}

/**
 * Plans a validated batch (see validateBatch). Done tickets are left out and satisfy their dependents at
 * time 0. Every strategy respects dependencies and never runs more than `parallel` tickets at once.
 * Throws on a dependency cycle or a bad limit (programming errors: validate first).
 */
export function planBatch(tickets: readonly Ticket[], options: PlanOptions): Plan {
  const { strategy, parallel } = options;
  checkLimit("parallel", parallel);
  if (options.batchSize !== undefined) checkLimit("batchSize", options.batchSize);
  const g = buildGraph(tickets, (t) => t.done);
  assertAcyclic(g);
  switch (strategy) {
    case "sequential":
      return finish(strategy, parallel, g, listSchedule(g, 1, listOrder));
    case "parallel":
      return finish(
        strategy,
        parallel,
        g,
        waveSchedule(g, Math.min(options.batchSize ?? parallel, parallel)),
      );
    case "dependency-aware": {
      const cp = criticalPaths(g);
      return finish(strategy, parallel, g, listSchedule(g, parallel, criticalPathOrder(g, cp)), cp);
    }
    default:
      // Unreachable for typed callers; strategies may also arrive from untyped input (slash commands, JSON).
      throw new RangeError(
        `unknown strategy "${String(strategy satisfies never)}" (expected ${STRATEGIES.join(", ")})`,
      );
  }
}

/** The naive baseline the benchmark compares against: list scheduling in list order (no critical path). */
export function planListOrder(tickets: readonly Ticket[], parallel: number): Plan {
  checkLimit("parallel", parallel);
  const g = buildGraph(tickets, (t) => t.done);
  assertAcyclic(g);
  return finish("dependency-aware", parallel, g, listSchedule(g, parallel, listOrder));
}

export interface BatchProgress {
  running: readonly string[];
  done: readonly string[];
  failed?: readonly string[];
}

/**
 * For every ticket that (transitively) depends on a failed ticket: the failed keys it waits for, in the
 * order given. Failed tickets themselves are not in the map.
 */
export function blockedBy(tickets: readonly Ticket[], failed: Iterable<string>): Map<string, string[]> {
  const failedList = [...new Set(failed)];
  const result = new Map<string, string[]>();
  if (failedList.length === 0) return result;
  const g = buildGraph(tickets, () => false);
  const rank = new Map(failedList.map((k, i) => [k, i]));
  const blockers: (Set<number> | undefined)[] = new Array(g.tickets.length);
  g.tickets.forEach((t, i) => {
    const r = rank.get(t.key);
    if (r !== undefined) blockers[i] = new Set([r]);
  });
  // Propagate along topological order (tickets on a cycle, refused by validateBatch, are skipped).
  for (let h = 0; h < g.topoLength; h++) {
    const v = g.topo[h] as number;
    const mine = blockers[v];
    if (!mine) continue;
    for (let e = g.succStart[v] as number; e < (g.succStart[v + 1] as number); e++) {
      const w = g.succ[e] as number;
      const theirs = blockers[w] ?? new Set<number>();
      for (const r of mine) theirs.add(r);
      blockers[w] = theirs;
    }
  }
  g.tickets.forEach((t, i) => {
    const set = blockers[i];
    if (set && !rank.has(t.key))
      result.set(
        t.key,
        [...set].sort((a, b) => a - b).map((r) => failedList[r] ?? ""),
      );
  });
  return result;
}

/**
 * The keys that may start now, best first, filling the free slots. This is what the App calls on every
 * completion. Dependencies on keys not in the list never count as satisfied.
 */
export function nextToStart(
  tickets: readonly Ticket[],
  progress: BatchProgress,
  options: PlanOptions,
): string[] {
  const { strategy, parallel } = options;
  checkLimit("parallel", parallel);
  const done = new Set(progress.done);
  const running = new Set(progress.running);
  const failed = new Set(progress.failed ?? []);
  const isDone = (t: Ticket) => t.done || done.has(t.key);
  let free: number;
  if (strategy === "sequential") free = 1 - running.size;
  else if (strategy === "parallel")
    free = running.size > 0 ? 0 : Math.min(options.batchSize ?? parallel, parallel);
  else free = parallel - running.size;
  if (free <= 0) return [];

  const doneKeys = new Set(tickets.filter(isDone).map((t) => t.key));
  const blocked = blockedBy(tickets, failed);
  const g = buildGraph(tickets, isDone);
  const candidates: number[] = [];
  g.tickets.forEach((t, i) => {
    if (running.has(t.key) || failed.has(t.key) || blocked.has(t.key)) return;
    if (t.deps.every((d) => doneKeys.has(d))) candidates.push(i);
  });
  const order = strategy === "dependency-aware" ? criticalPathOrder(g) : listOrder;
  return candidates
    .sort(order)
    .slice(0, free)
    .map((i) => (g.tickets[i] as Ticket).key);
}

export type TicketState = "pending" | "ready" | "running" | "done" | "failed" | "blocked";

/** Each ticket's state for display (Mermaid, status comments). */
export function batchStates(tickets: readonly Ticket[], progress: BatchProgress): Map<string, TicketState> {
  const done = new Set([...progress.done, ...tickets.filter((t) => t.done).map((t) => t.key)]);
  const running = new Set(progress.running);
  const failed = new Set(progress.failed ?? []);
  const blocked = blockedBy(tickets, failed);
  const states = new Map<string, TicketState>();
  for (const t of tickets) {
    let s: TicketState;
    if (done.has(t.key)) s = "done";
    else if (failed.has(t.key)) s = "failed";
    else if (running.has(t.key)) s = "running";
    else if (blocked.has(t.key)) s = "blocked";
    else if (t.deps.every((d) => done.has(d))) s = "ready";
    else s = "pending";
    states.set(t.key, s);
  }
  return states;
}
