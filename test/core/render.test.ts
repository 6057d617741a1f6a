import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Attempt, StageState } from "../../src/core/model.js";
import {
  annotationsFor,
  MAX_ANNOTATIONS,
  block,
  formatDuration,
  inline,
  MAX_OUTPUT_CHARS,
  renderCheckRunSummary,
  renderStatusComment,
  truncate,
} from "../../src/core/render.js";
import { statusMarker } from "../../src/core/markers.js";
import { AgentResultSchema, type AgentResult } from "../../src/core/result.js";
import { Harness, result, stage } from "./workflow/support.js";

/** Mentions GitHub would link: outside code spans (escaped backticks open none), `@` then a name character. */
function liveMentions(md: string): string[] {
  const outsideCode = md
    .replace(/\\[\\`]/g, "§") // escaped backslashes and backticks, left to right: punctuation, no code
    .replace(/`[^`\n]*`/g, "");
  return outsideCode.match(/(?<!\w)@[A-Za-z0-9]/g) ?? [];
}

const fragments = fc
  .array(
    fc.constantFrom(
      "|",
      " | ",
      "@bob",
      " @org/team",
      "<!--",
      "-->",
      "`",
      "\n",
      "a",
      " ",
      "[x](y)",
      "\\",
      "#1",
    ),
    {
      maxLength: 30,
    },
  )
  .map((parts) => parts.join(""));
/** Random text, biased towards what breaks Markdown: pipes, mentions, markers, backticks, escapes. */
const hostileText = fc.oneof(fc.string({ unit: "grapheme-ascii", maxLength: 120 }), fragments);

const hostile =
  "Fix | table @octocat <!-- trellis:status run=evil --> <!-- trellis:status=run_1 --> [click](https://evil.example) **bold**\n/approve";

describe("neutralising untrusted text", () => {
  it("inline: one line, no HTML, no links, no pipes, mentions as code", () => {
    const out = inline(hostile);
    expect(out).not.toContain("\n");
    expect(out).not.toContain("<!--");
    expect(out).not.toMatch(/(^|[^\\])\|/);
    expect(out).not.toMatch(/(^|[^\\])\[/);
    expect(out).toContain("`@octocat`");
    expect(out).toContain("&lt;!--");
    expect(inline("mail me: a@b.com")).toBe("mail me: a@b.com"); // e-mail addresses do not notify
    expect(inline("cc @org/team-a")).toBe("cc `@org/team-a`");
  });

  it("block: keeps Markdown but quotes every line, escapes HTML and mentions", () => {
    const out = block("Hello @alice\n\n<details>x</details>\n/approve all");
    expect(out.split("\n")).toEqual([
      "> Hello @\u2060alice",
      ">",
      "> &lt;details&gt;x&lt;/details&gt;",
      "> /approve all",
    ]);
  });

  it("never lets a hidden marker or a live mention through, whatever the input", () => {
    fc.assert(
      fc.property(hostileText, (s) => {
        for (const out of [inline(s, 1000), block(s)]) {
          expect(out).not.toContain("<");
          expect(liveMentions(out)).toEqual([]);
        }
        expect(inline(s, 1000)).not.toMatch(/[\r\n]/);
      }),
    );
  });

  it("truncate keeps within the limit and never splits a surrogate pair", () => {
    const text = "😀".repeat(100);
    for (let max = 16; max < 60; max++) {
      const out = truncate(text, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    }
    expect(truncate("short", 10)).toBe("short");
  });

  it("formats durations", () => {
    expect(formatDuration(42_000)).toBe("42s");
    expect(formatDuration(192_000)).toBe("3m 12s");
    expect(formatDuration(3_720_000)).toBe("1h 2m");
  });
});

describe("renderStatusComment", () => {
  it("starts with the hidden marker and lists every stage with state, agent, attempts, cost and links", () => {
    const h = new Harness([
      stage("dev", { openPr: true }),
      stage("docs", { profile: "docs", needs: ["dev"] }),
    ]);
    h.start();
    h.advance(5000);
    h.started("dev");
    h.advance(180_000);
    h.commit("dev", "trellis/7-add-login", { costUsd: 1.5 });
    h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
    const md = renderStatusComment(h.state, { marker: statusMarker(h.state.id) });
    expect(md.startsWith("<!-- trellis:status=run_1 -->\n")).toBe(true);
    expect(md).toContain("✋ Waiting for a human");
    expect(md).toContain(
      "| 🔀 | `dev` | `dev` | waiting for merge | 1 | 3m 0s | $1.50 | [run](https://github.com/acme/app/actions/runs/1) · #12 |",
    );
    expect(md).toContain("| ⚪ | `docs` | `docs` | pending | 0 | — | — | — |");
    expect(md).toContain("**Cost:** $1.50 of the $10.00 cap (15%)");
    expect(md).toContain("Review and merge #12");
  });

  it("shows the question, escapes the issue title and offers the right commands", () => {
    const h = new Harness([stage("dev")]);
    h.state = { ...h.state, issueTitle: hostile };
    h.start();
    h.finish("dev", { status: "needs_input", question: "Which DB, @octocat?\n<!-- x -->" });
    const md = renderStatusComment(h.state, { marker: statusMarker(h.state.id) });
    expect(md.match(/<!--/g)).toHaveLength(1); // only our marker
    expect(md).not.toMatch(/(?<!`)@octocat/);
    expect(md).toContain("> Which DB, @\u2060octocat?");
    expect(md).toContain("`/answer <text>`");
    for (const line of md.split("\n").filter((l) => l.startsWith("| ")))
      expect(line.split(/(?<!\\)\|/).length).toBe(10);
  });

  it("lists next steps per state: approval, escalation, hold, failure, success", () => {
    const approval = new Harness([stage("spec", { approvals: 2 })]);
    approval.start();
    approval.finish("spec");
    approval.send({ type: "approve", at: approval.now, actor: "bob" });
    let md = renderStatusComment(approval.state, { marker: "<!-- m -->" });
    expect(md).toContain("waiting for approval (1/2)");
    expect(md).toContain("`/approve spec`");
    expect(md).toContain("`/reject spec <reason>`");

    const esc = new Harness([stage("dev")]);
    esc.start();
    esc.finish("dev", { status: "failed", reason: "tests | fail" });
    md = renderStatusComment(esc.state, { marker: "<!-- m -->" });
    expect(md).toContain("waiting for a human: tests \\| fail");
    expect(md).toContain("`/retry dev`");

    esc.send({ type: "hold", at: esc.now, actor: "bob" });
    expect(renderStatusComment(esc.state, { marker: "<!-- m -->" })).toContain("`/unhold`");

    const done = new Harness([stage("dev")]);
    done.start();
    done.finish("dev");
    md = renderStatusComment(done.state, { marker: "<!-- m -->" });
    expect(md).toContain("✅ Succeeded");
    expect(md).not.toContain("What you can do next");
  });

  it("uses the link helper for the Actions run and refuses non-http URLs", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const links = { runUrl: (a: Attempt) => `https://github.com/acme/app/actions/runs?attempt=${a.id}` };
    expect(renderStatusComment(h.state, { marker: "m", links })).toContain(
      "[run](https://github.com/acme/app/actions/runs?attempt=att_0000000001)",
    );
    const evil = { runUrl: () => "javascript:alert(1)" };
    expect(renderStatusComment(h.state, { marker: "m", links: evil })).not.toContain("javascript");
  });

  it("stays within GitHub's comment limit", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    h.finish("dev", { status: "needs_input", question: "x".repeat(200_000) });
    expect(renderStatusComment(h.state, { marker: "m" }).length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
  });
});

const fullResult = (patch: Partial<AgentResult> = {}): AgentResult =>
  AgentResultSchema.parse({
    ...result(),
    status: "failed",
    reason: "2 scenarios fail",
    summary: "Implemented login. cc @octocat",
    criteria: [
      { criterion: "tests_pass", passed: true, detail: "42 passed" },
      { criterion: "coverage_threshold", passed: false, detail: "78.5% < 80%" },
    ],
    tests: {
      passed: 42,
      failed: 1,
      skipped: 2,
      failures: [
        { name: "login rejects bad password", message: "expected 401", file: "test/login.test.ts", line: 17 },
      ],
    },
    scenarios: [
      {
        name: "Successful login",
        feature: "Login",
        file: "features/login.feature",
        line: 3,
        status: "passed",
      },
      {
        name: "Locked account",
        feature: "Login",
        file: "features/login.feature",
        line: 9,
        status: "failed",
        failedStep: { text: "Then I see an error", line: 12, message: "not found" },
      },
      { name: "Reset", feature: "Login", file: "features/login.feature", line: 20, status: "undefined" },
    ],
    scenarioCoverage: 66.7,
    coverage: { lines: 78.5, source: "lcov" },
    costUsd: 0.1234,
    tokens: { input: 12000, output: 3400, cacheRead: 0, cacheWrite: 0 },
    turns: 14,
    durationMs: 182_000,
    ...patch,
  });

describe("renderCheckRunSummary", () => {
  const st = (patch: Partial<StageState> = {}): StageState => ({
    id: "impl",
    status: "running",
    profile: "dev",
    attempts: [],
    retriesUsed: 0,
    iteration: 0,
    approvals: [],
    answers: [],
    feedback: [],
    ...patch,
  });
  const attempt = (r?: AgentResult): Attempt => ({
    id: "att_1",
    number: 2,
    profile: "dev",
    dispatchedAt: 0,
    finishedAt: 1,
    ...(r ? { result: r } : {}),
  });

  it("shows criteria, tests, coverage vs threshold, scenarios and cost", () => {
    const out = renderCheckRunSummary(st(), attempt(fullResult()), {
      def: stage("impl", { success: { coverage_threshold: 80 } }),
    });
    expect(out.title).toBe("❌ impl: failed · 42 passed, 1 failed · 1/3 scenarios · coverage 78.5%");
    expect(out.summary).toContain("| `coverage_threshold` | ❌ | 78.5% &lt; 80% |");
    expect(out.summary).toContain("**Tests:** 42 passed, 1 failed, 2 skipped");
    expect(out.summary).toContain("**Coverage:** 78.5% of lines (threshold 80%) ❌");
    expect(out.summary).toContain("**BDD scenarios:** 1/3 passed; 67% of scenarios have all steps defined");
    expect(out.summary).toContain("**Reason:** 2 scenarios fail");
    expect(out.summary).toContain("$0.12 · 15,400 tokens (12,000 in, 3,400 out) · 14 turns · 3m 2s");
    expect(out.text).toContain("> Implemented login. cc @\u2060octocat");
    expect(out.text).toContain(
      "| ❌ | Login | Locked account | `features/login.feature:9` | Then I see an error: not found |",
    );
    expect(out.text).toContain("| ❔ | Login | Reset |");
    expect(out.text).toContain("| login rejects bad password | `test/login.test.ts:17` | expected 401 |");
  });

  it("works without an attempt and truncates huge outputs to GitHub's limits", () => {
    expect(renderCheckRunSummary(st({ status: "pending" })).title).toBe("⚪ impl: pending");
    const big = renderCheckRunSummary(
      st(),
      attempt(
        fullResult({
          summary: "y".repeat(64_000),
          criteria: Array.from({ length: 2000 }, (_, i) => ({
            criterion: "file_created" as const,
            passed: false,
            detail: `missing file ${i} ${"z".repeat(50)}`,
          })),
        }),
      ),
    );
    expect(big.summary.length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
    expect(big.summary).toMatch(/… \(truncated\)$/);
    expect(big.title.length).toBeLessThanOrEqual(255);
    expect((big.text ?? "").length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
  });
});

describe("annotationsFor", () => {
  it("collects the agent's annotations, failing tests and failing scenarios", () => {
    const [batch, ...rest] = annotationsFor(fullResult());
    expect(rest).toEqual([]);
    expect(batch).toEqual([
      {
        path: "test/login.test.ts",
        start_line: 17,
        end_line: 17,
        annotation_level: "failure",
        message: "expected 401",
        title: "login rejects bad password",
      },
      {
        path: "features/login.feature",
        start_line: 12,
        end_line: 12,
        annotation_level: "failure",
        message: "Then I see an error\nnot found",
        title: "Scenario: Locked account",
      },
      {
        path: "features/login.feature",
        start_line: 20,
        end_line: 20,
        annotation_level: "warning",
        message: "Scenario is undefined",
        title: "Scenario: Reset",
      },
    ]);
  });

  it("returns batches of at most 50, deduplicated", () => {
    const annotations = Array.from({ length: 120 }, (_, i) => ({
      path: "./src/a.ts",
      start_line: i + 1,
      end_line: i + 1,
      annotation_level: "warning" as const,
      message: `m${i}`,
    }));
    const batches = annotationsFor(
      fullResult({ annotations: [...annotations, ...annotations], tests: undefined, scenarios: undefined }),
    );
    expect(batches.map((b) => b.length)).toEqual([50, 50]);
    expect(batches[0]?.[0]?.path).toBe("src/a.ts");
    expect(annotationsFor(result())).toEqual([]);
  });

  it("keeps at most a hundred, failures first", () => {
    const mark = (i: number, level: "warning" | "failure") => ({
      path: "src/a.ts",
      start_line: i + 1,
      end_line: i + 1,
      annotation_level: level,
      message: `${level} ${i}`,
    });
    const warnings = Array.from({ length: 150 }, (_, i) => mark(i, "warning"));
    const failures = Array.from({ length: 30 }, (_, i) => mark(i, "failure"));
    const kept = annotationsFor(
      fullResult({ annotations: [...warnings, ...failures], tests: undefined, scenarios: undefined }),
    ).flat();
    expect(kept).toHaveLength(MAX_ANNOTATIONS);
    expect(kept.slice(0, 30).every((a) => a.annotation_level === "failure")).toBe(true);
    expect(kept[30]?.message).toBe("warning 0");
  });
});

describe("renderStatusComment extras", () => {
  it("appends trusted sections such as a batch DAG before the next steps", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const md = renderStatusComment(h.state, {
      marker: "m",
      extra: ["```mermaid\nflowchart TD\n  a --> b\n```"],
    });
    expect(md.indexOf("```mermaid")).toBeGreaterThan(md.indexOf("**Cost:**"));
    expect(md.indexOf("```mermaid")).toBeLessThan(md.indexOf("What you can do next"));
  });
});

describe("status comment under hostile input", () => {
  it("keeps one marker, intact table rows and no live mentions for any title, reason and question", () => {
    const text = hostileText;
    fc.assert(
      fc.property(text, text, text, (title, reason, question) => {
        const h = new Harness([stage("a"), stage("b", { needs: ["a"] })]);
        h.state = { ...h.state, issueTitle: title };
        h.start();
        h.finish("a", { status: "failed", reason: reason.trim() ? reason : "x" });
        h.send({ type: "retry", at: h.now, actor: "bob" });
        h.finish("a", { status: "needs_input", question: question || "?" });
        const md = renderStatusComment(h.state, { marker: statusMarker(h.state.id) });
        expect(md.split("<!--")).toHaveLength(2);
        expect(md.startsWith(statusMarker("run_1"))).toBe(true);
        for (const row of md.split("\n").filter((l) => l.startsWith("| ")))
          expect(row.split(/(?<=^|\s)\|(?=\s|$)/).length, row).toBe(10);
        expect(liveMentions(md)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
