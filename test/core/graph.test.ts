import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  blockedNodes,
  findCycle,
  findCycles,
  stronglyConnectedComponents,
  topologicalOrder,
} from "../../src/core/graph.js";

const graph = (adj: Record<string, string[]>) => ({
  nodes: Object.keys(adj),
  edges: (n: string): readonly string[] => adj[n] ?? [],
});

describe("findCycle", () => {
  it("returns undefined for an acyclic graph", () => {
    const g = graph({ a: [], b: ["a"], c: ["a", "b"] });
    expect(findCycle(g.nodes, g.edges)).toBeUndefined();
  });

  it("names every member in edge order, closing on the first", () => {
    const g = graph({ a: ["b"], b: ["c"], c: ["a"], d: ["a"] });
    expect(findCycle(g.nodes, g.edges)).toEqual(["a", "b", "c", "a"]);
  });

  it("starts at the member listed first, whatever the discovery order", () => {
    const g = graph({ x: ["c"], c: ["b"], b: ["c"] });
    expect(findCycle(g.nodes, g.edges)).toEqual(["c", "b", "c"]);
  });

  it("finds self-loops", () => {
    const g = graph({ a: [], b: ["b"] });
    expect(findCycle(g.nodes, g.edges)).toEqual(["b", "b"]);
  });

  it("ignores edges to unknown nodes", () => {
    const g = graph({ a: ["zzz"], b: ["a"] });
    expect(findCycle(g.nodes, g.edges)).toBeUndefined();
  });

  it("handles 10,000-node chains without overflowing the stack", () => {
    const n = 10_000;
    const nodes = Array.from({ length: n }, (_, i) => `t${i}`);
    const edges = (id: string) => {
      const i = Number(id.slice(1));
      return [`t${(i + 1) % n}`];
    };
    const cycle = findCycle(nodes, edges)!;
    expect(cycle).toHaveLength(n + 1);
    expect(cycle[0]).toBe("t0");
    expect(cycle[n - 1]).toBe(`t${n - 1}`);
    expect(findCycle(nodes, (id) => (id === "t0" ? [] : [`t${Number(id.slice(1)) - 1}`]))).toBeUndefined();
  });
});

describe("findCycles", () => {
  it("reports one cycle per cyclic component, in node order", () => {
    const g = graph({ p: ["q"], q: ["p"], a: ["b"], b: ["a"], c: ["c"], d: ["a"] });
    expect(findCycles(g.nodes, g.edges)).toEqual([
      ["p", "q", "p"],
      ["a", "b", "a"],
      ["c", "c"],
    ]);
  });

  it("gives a shortest cycle through the first member of a larger component", () => {
    // a→b→c→a and a→d→a share a component; the shortest way back to a is via d.
    const g = graph({ a: ["b", "d"], b: ["c"], c: ["a"], d: ["a"] });
    expect(findCycles(g.nodes, g.edges)).toEqual([["a", "d", "a"]]);
  });
});

describe("stronglyConnectedComponents", () => {
  it("groups mutually reachable nodes", () => {
    const g = graph({ a: ["b"], b: ["a", "c"], c: [], d: ["d"] });
    const comps = stronglyConnectedComponents(g.nodes, g.edges).map((c) => [...c].sort());
    expect(comps).toContainEqual(["a", "b"]);
    expect(comps).toContainEqual(["c"]);
    expect(comps).toContainEqual(["d"]);
    expect(comps).toHaveLength(3);
  });
});

describe("topologicalOrder", () => {
  it("puts dependencies first and keeps list order among ties", () => {
    const g = graph({ docs: ["qa", "review"], qa: ["dev"], review: ["dev"], dev: [] });
    expect(topologicalOrder(g.nodes, g.edges)).toEqual({ order: ["dev", "qa", "review", "docs"] });
  });

  it("returns the cycles when there is no order", () => {
    const g = graph({ a: ["b"], b: ["a"], c: [] });
    expect(topologicalOrder(g.nodes, g.edges)).toEqual({ cycles: [["a", "b", "a"]] });
  });

  it("tolerates duplicate edges", () => {
    const g = graph({ a: [], b: ["a", "a"] });
    expect(topologicalOrder(g.nodes, g.edges)).toEqual({ order: ["a", "b"] });
  });
});

describe("blockedNodes", () => {
  it("blocks cycle members, unknown references and everything downstream, with the path to the cause", () => {
    const g = graph({ a: ["b"], b: ["a"], c: ["a"], d: ["c"], e: ["nope"], f: ["e"], ok: [] });
    const blocked = blockedNodes(g.nodes, g.edges);
    expect(Object.fromEntries(blocked)).toEqual({
      a: ["a"],
      b: ["b"],
      c: ["c", "a"],
      d: ["d", "c", "a"],
      e: ["e", "nope"],
      f: ["f", "e", "nope"],
    });
  });

  it("blocks nothing in a healthy graph", () => {
    const g = graph({ a: [], b: ["a"], c: ["a", "b"] });
    expect(blockedNodes(g.nodes, g.edges).size).toBe(0);
  });
});

describe("properties", () => {
  // Random graphs on up to 12 nodes, each node pointing at up to 4 others.
  const arbGraph = fc
    .integer({ min: 1, max: 12 })
    .chain((n) =>
      fc.tuple(
        fc.constant(n),
        fc.array(fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 4 }), {
          minLength: n,
          maxLength: n,
        }),
      ),
    )
    .map(([n, adj]) => {
      const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
      const edges = (id: string) => (adj[Number(id.slice(1))] ?? []).map((j) => `n${j}`);
      return { nodes, edges };
    });

  it("a reported cycle is a real closed walk, and no cycle means a valid topological order", () => {
    fc.assert(
      fc.property(arbGraph, ({ nodes, edges }) => {
        const cycle = findCycle(nodes, edges);
        const topo = topologicalOrder(nodes, edges);
        if (cycle) {
          expect(cycle[0]).toBe(cycle[cycle.length - 1]);
          expect(new Set(cycle.slice(1)).size).toBe(cycle.length - 1); // simple cycle
          for (let i = 0; i + 1 < cycle.length; i++) expect(edges(cycle[i]!)).toContain(cycle[i + 1]);
          expect("cycles" in topo).toBe(true);
        } else {
          expect("order" in topo).toBe(true);
          if (!("order" in topo)) return;
          const pos = new Map(topo.order.map((n, i) => [n, i]));
          expect(pos.size).toBe(nodes.length);
          for (const n of nodes) for (const m of edges(n)) expect(pos.get(m)!).toBeLessThan(pos.get(n)!);
        }
      }),
    );
  });

  it("blocked nodes are exactly those that reach a cycle", () => {
    fc.assert(
      fc.property(arbGraph, ({ nodes, edges }) => {
        const inCycle = new Set(findCycles(nodes, edges).flat());
        const comps = stronglyConnectedComponents(nodes, edges);
        for (const c of comps) if (c.some((m) => inCycle.has(m))) c.forEach((m) => inCycle.add(m));
        const reachesCycle = (start: string): boolean => {
          const seen = new Set<string>();
          const todo = [start];
          while (todo.length > 0) {
            const n = todo.pop()!;
            if (inCycle.has(n)) return true;
            if (seen.has(n)) continue;
            seen.add(n);
            todo.push(...edges(n));
          }
          return false;
        };
        const blocked = blockedNodes(nodes, edges);
        for (const n of nodes) expect(blocked.has(n)).toBe(reachesCycle(n));
      }),
    );
  });
});
