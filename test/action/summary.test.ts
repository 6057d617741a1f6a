import { describe, expect, it } from "vitest";
import { formatDuration, renderSummary } from "../../action/src/summary.js";
import { AgentResultSchema } from "../../src/core/result.js";

const result = AgentResultSchema.parse({
  version: 1,
  attemptId: "att_0123456789",
  stage: "bdd",
  profile: "bdd",
  status: "failed",
  reason: "bdd_scenarios_pass: 1 of 2 scenarios failed",
  summary: "Implemented the cart | with pipes",
  proposal: {
    base: "0123456789abcdef0123456789abcdef01234567",
    patchFile: "proposal.patch",
    bytes: 120,
    sha256: "a".repeat(64),
    files: [
      { path: "features/steps.ts", status: "A", mode: "100644", blob: "b".repeat(40) },
      { path: "src/cart.ts", status: "M", mode: "100644", blob: "c".repeat(40) },
    ],
  },
  filesChanged: ["src/cart.ts", "features/steps.ts"],
  criteria: [
    { criterion: "bdd_scenarios_pass", passed: false, detail: "1/2 passed" },
    { criterion: "coverage_threshold", passed: true, detail: "85.0 % ≥ 80 %" },
  ],
  tests: {
    passed: 10,
    failed: 1,
    skipped: 2,
    failures: [{ name: "cart adds", file: "test/cart.test.ts", line: 12, message: "expected 2" }],
  },
  scenarios: [
    { name: "Add", feature: "Cart", file: "features/cart.feature", line: 3, status: "passed" },
    {
      name: "Remove",
      feature: "Cart",
      file: "features/cart.feature",
      line: 9,
      status: "failed",
      failedStep: { text: "Then the cart is empty", line: 12 },
    },
  ],
  scenarioCoverage: 100,
  coverage: { lines: 85, branches: 70.25, functions: 90, source: "lcov" },
  costUsd: 0.4321,
  tokens: { input: 12345, output: 678, cacheRead: 9, cacheWrite: 1 },
  turns: 14,
  durationMs: 125_000,
  review: { verdict: "request_changes", comments: "add tests" },
});

describe("renderSummary", () => {
  const md = renderSummary(result, { denials: ["Bash(rm -rf /)"], conflicts: ["docs: README.md"] });
  it("shows the outcome and every number the issue asks for", () => {
    expect(md).toContain("| Outcome | ❌ failed — bdd_scenarios_pass: 1 of 2 scenarios failed |");
    expect(md).toContain("| Turns | 14 |");
    expect(md).toContain("| Duration | 2 min 5 s |");
    expect(md).toContain("| Tokens | 12,345 in · 678 out · 9 cache read · 1 cache write |");
    expect(md).toContain("| Cost | $0.4321 |");
    expect(md).toContain("| Proposal | 2 file(s) against `0123456`, for the App to commit |");
    expect(md).toContain("| Files changed | 2 |");
    expect(md).toContain("| Tests | 10 passed, 1 failed, 2 skipped |");
    expect(md).toContain("| Scenarios | 1/2 passed · 100 % defined |");
    expect(md).toContain("| Coverage | 85.0 % lines · 70.3 % branches · 90.0 % functions (lcov) |");
    expect(md).toContain("| Review verdict | request_changes |");
  });
  it("lists criteria, failing scenarios and tests, denials, conflicts and files", () => {
    expect(md).toContain("| bdd_scenarios_pass | ❌ | 1/2 passed |");
    expect(md).toContain("- **failed** Cart › Remove (`features/cart.feature:9`) — Then the cart is empty");
    expect(md).toContain("- cart adds (`test/cart.test.ts:12`): expected 2");
    expect(md).toContain("- `Bash(rm -rf /)`");
    expect(md).toContain("- docs: README.md");
    expect(md).toContain("- `src/cart.ts`");
    expect(md).toContain("Implemented the cart | with pipes");
    expect(md).not.toContain("Scenarios not passing\n\n- **passed**");
  });
  it("renders a question as a quote and keeps table cells intact", () => {
    const q = renderSummary({
      ...result,
      status: "needs_input",
      question: "Which currency?\nEUR or USD?",
      reason: "a | b",
    });
    expect(q).toContain("| Outcome | ❓ needs_input — a \\| b |");
    expect(q).toContain("> Which currency?\n> EUR or USD?");
  });
  it("formats durations", () => {
    expect(formatDuration(4_400)).toBe("4 s");
    expect(formatDuration(61_000)).toBe("1 min 1 s");
  });
});
