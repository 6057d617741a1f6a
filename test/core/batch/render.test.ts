import { describe, expect, test } from "vitest";
import { createBatch, reduceBatch, type BatchState } from "../../../src/core/batch/machine.js";
import {
  MAX_DAG_CHARS,
  progressLine,
  remainingEstimate,
  renderBatchStatus,
  ticketStates,
} from "../../../src/core/batch/render.js";

const AT = Date.parse("2026-11-21T10:00:00Z");
const HOUR = 3_600_000;
const MARKER = "<!-- trellis:batch-status=bat_1 -->";

function created(body: string, parallel: number): BatchState {
  const out = createBatch({
    id: "bat_1",
    repo: { owner: "octo", name: "repo" },
    trackingIssue: 1,
    title: "Ship the API",
    body,
    strategy: "dependency-aware",
    parallel,
    batchSize: parallel,
    at: AT,
    actor: "alice",
  });
  if (!out.ok) throw new Error(out.errors.join("; "));
  return out.state;
}

let runs = 0;
const ctx = { newRunId: () => `run_${++runs}` };

/** A batch whose tickets all have issues (#10 + position), with the first tickets started. */
function batch(body: string, parallel = 2): BatchState {
  runs = 0;
  let s = created(body, parallel);
  s.tickets.forEach((t, i) => {
    if (t.checked && t.kind !== "issue") return;
    s = reduceBatch(
      s,
      { type: "ticket_issue", at: AT, ticket: t.key, issue: t.issue ?? 10 + i, issueId: 500 + i },
      ctx,
    ).state;
  });
  return s;
}

const BODY = [
  "- [ ] [schema] Design the schema est: 2",
  "- [ ] [api] Build the API after [schema] est: 3",
  "- [ ] [ui] Build the UI after [schema] est: 1",
  "- [ ] [docs] Docs after [api] and [ui] est: 1",
].join("\n");

const update = (
  s: BatchState,
  runId: string,
  status: "succeeded" | "failed" | "waiting",
  at: number,
  more = {},
) => reduceBatch(s, { type: "run_update", at, runId, status, costUsd: 1.25, ...more }, ctx).state;

describe("renderBatchStatus", () => {
  test("shows the DAG coloured by state with links, the progress line and the ticket table", () => {
    const s = update(batch(BODY), "run_1", "waiting", AT + HOUR, {
      stage: "dev",
      agent: "dev",
      prNumber: 42,
      check: "🔀 waiting for merge",
    });
    const md = renderBatchStatus(s, { marker: MARKER, now: AT + HOUR });
    expect(md.startsWith(MARKER)).toBe(true);
    expect(md).toContain("### 🔄 In progress · Trellis batch on #1");
    expect(md).toContain("```mermaid\nflowchart TD");
    expect(md).toMatch(/class n0 running/);
    expect(md).toMatch(/class n1,n2,n3 pending/);
    expect(md).toContain('click n0 "https://github.com/octo/repo/issues/10" _blank');
    expect(md).toContain("n0 --> n1");
    expect(md).toContain(
      "**Progress:** 0/4 done · 1 running · 3 waiting · 0 failed · cost $1.25 · ≈ 6 estimate units left",
    );
    expect(md).toContain(
      "| `schema` Design the schema [#10](https://github.com/octo/repo/issues/10) | 🔄 running | — | `dev` | `dev` | #42 | 🔀 waiting for merge | 1h 0m | $1.25 |",
    );
    expect(md).toContain(
      "| `docs` Docs [#13](https://github.com/octo/repo/issues/13) | ⚪ pending | #11, #12 |",
    );
    expect(md).toContain("`/hold`");
  });

  test("estimates time left from the observed pace of finished tickets", () => {
    // schema (est 2) took 2 hours: one unit is an hour; api (3) and ui (1) in parallel then docs (1): 4 units.
    const s = update(batch(BODY), "run_1", "succeeded", AT + 2 * HOUR);
    expect(remainingEstimate(s)).toEqual({ units: 4, ms: 4 * HOUR });
    expect(progressLine(s)).toContain("≈ 4h 0m left (4 estimate units)");
  });

  test("failed tickets block their dependents; a finished batch shows no estimate", () => {
    let s = update(batch(BODY), "run_1", "succeeded", AT + HOUR);
    s = update(s, "run_2", "failed", AT + 2 * HOUR, { reason: "tests failed" });
    const states = ticketStates(s);
    expect(states.get("api")).toBe("failed");
    expect(states.get("docs")).toBe("blocked");
    s = update(s, "run_3", "succeeded", AT + 3 * HOUR);
    expect(s.status).toBe("failed");
    const md = renderBatchStatus(s, { marker: MARKER, now: AT + 3 * HOUR });
    expect(md).toContain("### ❌ Failed");
    expect(md).toContain("❌ failed: tests failed");
    expect(md).toContain("⛔ blocked by #11");
    expect(md).toContain(
      "**Progress:** 2/4 done · 0 running · 0 waiting · 1 failed · 1 blocked · cost $3.75",
    );
    expect(md).not.toContain("left");
  });

  test("a held batch says so and offers /unhold", () => {
    const s = reduceBatch(batch(BODY), { type: "hold", at: AT, actor: "bob" }, { newRunId: () => "x" }).state;
    const md = renderBatchStatus(s, { marker: MARKER, now: AT });
    expect(md).toContain("⏸️ on hold");
    expect(md).toContain("`/unhold`");
  });

  test("hostile titles cannot inject markers, mentions or table cells", () => {
    const s = batch("- [ ] [x] <!-- trellis:status --> @admin | pwn](javascript:alert(1))");
    const md = renderBatchStatus(s, { marker: MARKER, now: AT });
    expect(md.match(/<!--/g)).toHaveLength(1);
    // Outside the Mermaid code block (where nothing notifies), the mention is neutralised.
    expect(md.replace(/```mermaid[\s\S]*?```/, "")).not.toMatch(/(?<!`)@admin/);
    const row = md.split("\n").find((l) => l.startsWith("| `x`"))!;
    expect(row.split(/(?<!\\)\|/).length).toBe(11);
  });

  test("a huge DAG gives way to the table", () => {
    // createBatch refuses more than GitHub's 100 sub-issues; a batch stored before that limit can be this large.
    const s = created("- [ ] [k0] x", 2);
    const [first] = s.tickets;
    s.tickets = Array.from({ length: 600 }, (_, i) => ({
      ...first!,
      key: `k${i}`,
      ref: `k${i}`,
      title: "word ".repeat(12).trim(),
      deps: i > 0 ? [`k${i - 1}`] : [],
      line: i + 1,
      issue: 10 + i,
      issueId: 500 + i,
    }));
    const md = renderBatchStatus(s, { marker: MARKER, now: AT });
    expect(md).not.toContain("```mermaid");
    expect(md).toContain("too large to draw");
    expect(md.length).toBeLessThanOrEqual(65_535);
    expect(MAX_DAG_CHARS).toBeLessThan(65_535);
  });
});
