/** The Action's verdict: a pure function of the facts an attempt collected (action/src/verdict.ts). */
import { describe, expect, it } from "vitest";
import { errorVerdict, verdict } from "../../action/src/verdict.js";
import type { ChangeFacts, DetectFacts, RefineFacts } from "../../action/src/verdict.js";
import { parseRefined } from "../../src/core/batch/refined.js";
import type { CriterionOutcome } from "../../src/core/result.js";

const change = (facts: Partial<ChangeFacts> = {}): ChangeFacts => ({
  kind: "change",
  protectedViolations: [],
  conflicts: [],
  criteria: [],
  ...facts,
});

const refine = (markdown: string | undefined, facts: Partial<RefineFacts> = {}): RefineFacts => ({
  kind: "refine",
  refined: markdown === undefined ? undefined : parseRefined(markdown),
  ...facts,
});

const passed: CriterionOutcome = { criterion: "tests_pass", passed: true, detail: "12 passed" };
const failed: CriterionOutcome = { criterion: "coverage_threshold", passed: false, detail: "71.0 % < 80 %" };

describe("verdict of a change attempt", () => {
  it("succeeds when nothing speaks against it (no criteria run, or all passed)", () => {
    expect(verdict(change())).toEqual({ status: "succeeded" });
    expect(verdict(change({ criteria: [passed] }))).toEqual({ status: "succeeded" });
  });

  it("fails on failed criteria, naming each failed one", () => {
    const other: CriterionOutcome = {
      criterion: "bdd_scenarios_pass",
      passed: false,
      detail: "1 of 2 scenarios failed",
    };
    expect(verdict(change({ criteria: [passed, failed, other] }))).toEqual({
      status: "failed",
      reason: "coverage_threshold: 71.0 % < 80 %; bdd_scenarios_pass: 1 of 2 scenarios failed",
    });
  });

  it("fails when sub-agent work could not be merged, before judging the criteria", () => {
    expect(
      verdict(change({ conflicts: ["docs: README.md", "qa: crashed (boom)"], criteria: [failed] })),
    ).toEqual({
      status: "failed",
      reason: "sub-agent work could not be merged: docs: README.md; qa: crashed (boom)",
    });
  });

  it("asks for input when the agent asked a question, even if it also failed", () => {
    expect(
      verdict(change({ question: "Which database?", agentFailure: "hit max turns", conflicts: ["x"] })),
    ).toEqual({
      status: "needs_input",
      question: "Which database?",
      reason: "the agent asked a question",
    });
  });

  it("fails with the agent's failure before anything else the attempt found", () => {
    expect(
      verdict(change({ agentFailure: "cost cap reached", conflicts: ["x"], criteria: [failed] })),
    ).toEqual({
      status: "failed",
      reason: "cost cap reached",
    });
  });

  it("refuses changes to protected paths above all, question included", () => {
    expect(
      verdict(
        change({ protectedViolations: [".github/workflows/ci.yml", "package.json"], question: "May I?" }),
      ),
    ).toEqual({
      status: "failed",
      reason:
        "refused changes to protected paths: .github/workflows/ci.yml, package.json (set allow_protected_paths in .github/trellis.yml to allow)",
    });
  });
});

describe("verdict of a refine attempt", () => {
  const REFINED = "# Format prices as money\n\n## Acceptance criteria\n\n- [ ] `$1.50`\n\nest: 2\n";

  it("succeeds with a readable refined.md", () => {
    expect(verdict(refine(REFINED))).toEqual({ status: "succeeded" });
  });

  it("fails without a refined.md, or with an unreadable one", () => {
    expect(verdict(refine(undefined))).toEqual({
      status: "failed",
      reason: "the agent wrote no .trellis/refined.md",
    });
    expect(verdict(refine("no title here\n"))).toEqual({
      status: "failed",
      reason: "unreadable .trellis/refined.md: refined.md has no `# title` line",
    });
  });

  it("lets a question or an agent failure speak first", () => {
    expect(verdict(refine(undefined, { question: "Which currency?" }))).toEqual({
      status: "needs_input",
      question: "Which currency?",
      reason: "the agent asked a question",
    });
    expect(verdict(refine(REFINED, { agentFailure: "timed out" }))).toEqual({
      status: "failed",
      reason: "timed out",
    });
  });
});

describe("errorVerdict", () => {
  it("reports an error: the first line is the reason, the message the summary unless there is one", () => {
    expect(errorVerdict("could not read issue #7: 404\nmore detail", "")).toEqual({
      status: "error",
      reason: "could not read issue #7: 404",
      summary: "could not read issue #7: 404\nmore detail",
    });
    expect(errorVerdict("push rejected", "Implemented the cart.")).toEqual({
      status: "error",
      reason: "push rejected",
      summary: "Implemented the cart.",
    });
  });
});

describe("a detection attempt's verdict", () => {
  const detect = (facts: Partial<DetectFacts> = {}): DetectFacts => ({
    kind: "detect",
    review: undefined,
    ...facts,
  });

  it("succeeds with a verdict of either kind: the verdict itself is the App's to act on", () => {
    for (const v of ["approve", "request_changes"] as const)
      expect(verdict(detect({ review: { verdict: v, comments: "" } }))).toEqual({ status: "succeeded" });
  });

  it("fails without a verdict, and a question or an agent failure wins over one", () => {
    expect(verdict(detect())).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/no verdict/),
    });
    const review = { verdict: "approve" as const, comments: "" };
    expect(verdict(detect({ review, agentFailure: "max turns" }))).toEqual({
      status: "failed",
      reason: "max turns",
    });
    expect(verdict(detect({ review, question: "Is evil.example ours?" }))).toMatchObject({
      status: "needs_input",
    });
  });
});
