/**
 * Small directed-graph helpers shared by workflow templates and the batch planner.
 * A graph is given as its nodes plus `edges(n)`, the nodes `n` points at (for us: what `n` needs).
 * Edges to nodes outside `nodes` are ignored here; callers report them as unknown references.
 * Everything is iterative so that 10,000-node batches cannot overflow the stack.
 */

type Edges = (n: string) => readonly string[];

/**
 * Strongly connected components (Tarjan, iterative). Components come out in reverse topological
 * order of the condensation; members of each component are in discovery order.
 */
export function stronglyConnectedComponents(nodes: readonly string[], edges: Edges): string[][] {
  // Work on integer ids: this runs on every batch re-plan, so it has to stay fast at 10,000 nodes.
  const id = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (!id.has(n)) id.set(n, i);
  });
  const adj: number[][] = nodes.map((n) => {
    const out: number[] = [];
    for (const m of edges(n)) {
      const j = id.get(m);
      if (j !== undefined) out.push(j);
    }
    return out;
  });
  const size = nodes.length;
  const index = new Int32Array(size).fill(-1);
  const low = new Int32Array(size);
  const onStack = new Uint8Array(size);
  const stack: number[] = [];
  const components: string[][] = [];
  let counter = 0;
  // Explicit DFS frames: node and the position in its adjacency list.
  const frameNode: number[] = [];
  const framePos: number[] = [];

  for (let root = 0; root < size; root++) {
    if (index[root] !== -1 || id.get(nodes[root]!) !== root) continue;
    const enter = (v: number): void => {
      index[v] = low[v] = counter++;
      stack.push(v);
      onStack[v] = 1;
      frameNode.push(v);
      framePos.push(0);
    };
    enter(root);
    while (frameNode.length > 0) {
      const top = frameNode.length - 1;
      const v = frameNode[top]!;
      const out = adj[v]!;
      const pos = framePos[top]!;
      if (pos < out.length) {
        framePos[top] = pos + 1;
        const w = out[pos]!;
        if (index[w] === -1) enter(w);
        else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      frameNode.pop();
      framePos.pop();
      if (top > 0) {
        const parent = frameNode[top - 1]!;
        low[parent] = Math.min(low[parent]!, low[v]!);
      }
      if (low[v] === index[v]) {
        const component: string[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          component.push(nodes[w]!);
        } while (w !== v);
        components.push(component.reverse());
      }
    }
  }
  return components;
}

/**
 * One cycle per cyclic component, each as its members in edge order with the first repeated at the
 * end (["a", "b", "c", "a"]). Each cycle starts at its member listed first in `nodes`, and cycles are
 * ordered by that member, so the output is deterministic.
 */
export function findCycles(nodes: readonly string[], edges: Edges): string[][] {
  const order = new Map(nodes.map((n, i) => [n, i]));
  const cycles: string[][] = [];
  for (const component of stronglyConnectedComponents(nodes, edges)) {
    const members = new Set(component);
    const start = component.reduce((a, b) => (order.get(a)! <= order.get(b)! ? a : b));
    if (component.length === 1 && !edges(start).includes(start)) continue;
    cycles.push(cycleThrough(start, members, edges));
  }
  return cycles.sort((a, b) => order.get(a[0]!)! - order.get(b[0]!)!);
}

/** The first cycle (see `findCycles`), or undefined when the graph is acyclic. */
export function findCycle(nodes: string[], edges: (n: string) => readonly string[]): string[] | undefined {
  return findCycles(nodes, edges)[0];
}

/** Shortest path from `start` back to itself inside one strongly connected component (BFS). */
function cycleThrough(start: string, members: ReadonlySet<string>, edges: Edges): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i]!;
    for (const m of edges(n)) {
      if (!members.has(m)) continue;
      if (m === start) {
        const path = [start];
        for (let at: string | undefined = n; at !== start && at !== undefined; at = parent.get(at)) {
          path.push(at);
        }
        return [start, ...path.slice(1).reverse(), start];
      }
      if (!parent.has(m)) {
        parent.set(m, n);
        queue.push(m);
      }
    }
  }
  return [start, start]; // unreachable for a true cycle component; keeps the type total
}

/**
 * Nodes in an order where every node comes after the nodes it points at (dependencies first),
 * ties broken by `nodes` order (Kahn). Returns the cycles instead when there are any.
 */
export function topologicalOrder(
  nodes: readonly string[],
  edges: Edges,
): { order: string[] } | { cycles: string[][] } {
  const known = new Set(nodes);
  const pending = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    const deps = [...new Set(edges(n))].filter((m) => known.has(m));
    pending.set(n, deps.length);
    for (const d of deps) {
      const list = dependents.get(d);
      if (list) list.push(n);
      else dependents.set(d, [n]);
    }
  }
  const ready = nodes.filter((n) => pending.get(n) === 0);
  const order: string[] = [];
  for (let i = 0; i < ready.length; i++) {
    const n = ready[i]!;
    order.push(n);
    for (const d of dependents.get(n) ?? []) {
      const left = pending.get(d)! - 1;
      pending.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  return order.length === known.size ? { order } : { cycles: findCycles(nodes, edges) };
}

/**
 * Nodes that can never be satisfied: members of a cycle, nodes pointing at something outside
 * `nodes`, and everything that depends on those. For each, the path to the cause: the blocked node
 * first, then what it needs, ending at the cycle member or the unknown reference.
 */
export function blockedNodes(nodes: readonly string[], edges: Edges): Map<string, string[]> {
  const known = new Set(nodes);
  const blocked = new Map<string, string[]>();
  for (const component of stronglyConnectedComponents(nodes, edges)) {
    // A cycle member's cause is the cycle itself.
    const first = component[0]!;
    if (component.length > 1 || edges(first).includes(first)) for (const m of component) blocked.set(m, [m]);
  }
  for (const n of nodes) {
    const unknown = edges(n).find((m) => !known.has(m));
    if (unknown !== undefined && !blocked.has(n)) blocked.set(n, [n, unknown]);
  }
  // Propagate to dependents, breadth first, so each path is a shortest one.
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    for (const m of edges(n)) {
      if (!known.has(m)) continue;
      const list = dependents.get(m);
      if (list) list.push(n);
      else dependents.set(m, [n]);
    }
  }
  const queue = [...blocked.keys()];
  for (let i = 0; i < queue.length; i++) {
    const cause = queue[i]!;
    for (const d of dependents.get(cause) ?? []) {
      if (blocked.has(d)) continue;
      blocked.set(d, [d, ...blocked.get(cause)!]);
      queue.push(d);
    }
  }
  return blocked;
}
