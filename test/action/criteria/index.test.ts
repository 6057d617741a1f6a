import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SuccessCriteria } from "../../../src/core/model.js";
import { AgentResultSchema } from "../../../src/core/result.js";
import { allCriteriaPassed, checkCriteria, detectTestCommand } from "../../../action/src/criteria/index.js";
import { FIXTURES } from "./fixtures.js";
import { CUCUMBER, makeProject, removeProjects } from "./project.js";

afterAll(removeProjects);

const lcov = () => readFile(path.join(FIXTURES, "coverage/lcov.info"), "utf8");

const GREEN_TEST = `import { test } from "node:test";
import assert from "node:assert/strict";
test("adds", () => assert.equal(1 + 2, 3));
`;

describe("checkCriteria", () => {
  it("checks only the criteria present", async () => {
    const cwd = await makeProject({ "package.json": JSON.stringify({ scripts: { test: "exit 1" } }) });
    const r = await checkCriteria(cwd, {});
    expect(r).toEqual({ criteria: [], annotations: [], logs: [] });
    expect(allCriteriaPassed(r)).toBe(true);
  });

  it("runs tests, BDD, coverage and files together, in a fixed order", async () => {
    const cwd = await makeProject(
      {
        "test/a.test.mjs": GREEN_TEST,
        "coverage/lcov.info": await lcov(),
        "features/a.feature": "Feature: A\n  Scenario: s\n    Given ok\n",
        "features/steps.mjs": 'import { Given } from "@cucumber/cucumber";\nGiven("ok", () => {});\n',
        "docs/usage.md": "# usage",
      },
      { cucumber: true },
    );
    const criteria: SuccessCriteria = {
      file_created: ["docs/*.md"],
      coverage_threshold: 75,
      scenario_coverage: 100,
      bdd_scenarios_pass: true,
      tests_pass: true,
    };
    const r = await checkCriteria(cwd, criteria, {
      testCommand: "node --test --test-reporter=tap test/",
      bddCommand: CUCUMBER,
      timeoutMs: 60_000,
    });
    expect(r.criteria).toEqual([
      { criterion: "tests_pass", passed: true, detail: "1 passed, 0 failed" },
      { criterion: "bdd_scenarios_pass", passed: true, detail: "1 passed (1 scenario)" },
      {
        criterion: "scenario_coverage",
        passed: true,
        detail: "1/1 scenarios have all steps defined (100 %) ≥ 100 %",
      },
      {
        criterion: "coverage_threshold",
        passed: true,
        detail: "coverage 80 % ≥ 75 % (branches 50 %, functions 66.67 %; coverage/lcov.info)",
      },
      { criterion: "file_created", passed: true, detail: "docs/*.md → docs/usage.md" },
    ]);
    expect(allCriteriaPassed(r)).toBe(true);
    expect(r.tests).toMatchObject({ passed: 1, failed: 0 });
    expect(r.scenarios).toEqual([
      { name: "s", feature: "A", file: "features/a.feature", line: 2, status: "passed" },
    ]);
    expect(r.scenarioCoverage).toBe(100);
    expect(r.coverage).toEqual({ source: "lcov", lines: 80, branches: 50, functions: 66.67 });
    expect(r.logs.map((l) => l.exitCode)).toEqual([0, 0]);
    // What the Action uploads must satisfy the shared result schema.
    const result = AgentResultSchema.parse({
      version: 1,
      attemptId: "a1",
      stage: "dev",
      profile: "dev",
      status: "succeeded",
      summary: "ok",
      criteria: r.criteria,
      tests: r.tests,
      scenarios: r.scenarios,
      scenarioCoverage: r.scenarioCoverage,
      coverage: r.coverage,
      annotations: r.annotations,
    });
    expect(result.criteria).toHaveLength(5);
  });

  it("fails the BDD criteria with readable details and annotations", async () => {
    const cwd = await makeProject(
      {
        "features/a.feature": [
          "Feature: A",
          "  Scenario: ok",
          "    Given ok",
          "  Scenario: broken",
          "    Given ok",
          "    Then it breaks",
          "  Scenario: missing",
          "    Given ok",
          "    When nobody wrote this step",
          "",
        ].join("\n"),
        "features/steps.mjs":
          'import { Given, Then } from "@cucumber/cucumber";\nGiven("ok", () => {});\nThen("it breaks", () => { throw new Error("kaput"); });\n',
      },
      { cucumber: true },
    );
    const r = await checkCriteria(
      cwd,
      { bdd_scenarios_pass: true, scenario_coverage: 100 },
      { bddCommand: CUCUMBER, timeoutMs: 60_000 },
    );
    expect(r.criteria).toEqual([
      {
        criterion: "bdd_scenarios_pass",
        passed: false,
        detail: "1 passed, 1 failed, 1 undefined (3 scenarios)",
      },
      {
        criterion: "scenario_coverage",
        passed: false,
        detail: "2/3 scenarios have all steps defined (66.67 %) < 100 %",
      },
    ]);
    expect(r.annotations.map((a) => [a.start_line, a.annotation_level])).toEqual([
      [6, "failure"],
      [9, "warning"],
    ]);
    expect(r.undefinedSteps?.map((s) => s.text)).toEqual(["nobody wrote this step"]);
  });

  it("fails BDD criteria when there are no feature files", async () => {
    const cwd = await makeProject({ "README.md": "" });
    const r = await checkCriteria(
      cwd,
      { bdd_scenarios_pass: true, scenario_coverage: 80 },
      { bddCommand: CUCUMBER },
    );
    expect(r.criteria).toEqual([
      { criterion: "bdd_scenarios_pass", passed: false, detail: "no .feature files found" },
      { criterion: "scenario_coverage", passed: false, detail: "no .feature files found" },
    ]);
  });

  it("fails coverage under the threshold, and without a report", async () => {
    const cwd = await makeProject({ "coverage/lcov.info": await lcov() });
    const under = await checkCriteria(cwd, { coverage_threshold: 85 });
    expect(under.criteria).toEqual([
      {
        criterion: "coverage_threshold",
        passed: false,
        detail: "coverage 80 % < 85 % (branches 50 %, functions 66.67 %; coverage/lcov.info)",
      },
    ]);
    const none = await checkCriteria(await makeProject({}), { coverage_threshold: 80 });
    expect(none.criteria[0]).toEqual({
      criterion: "coverage_threshold",
      passed: false,
      detail:
        "no coverage report found (looked for coverage/lcov.info, coverage/coverage-summary.json, coverage/cobertura-coverage.xml, coverage.xml)",
    });
    const configured = await checkCriteria(
      cwd,
      { coverage_threshold: 80 },
      { coverageFile: "reports/cov.xml" },
    );
    expect(configured.criteria[0]?.detail).toBe("no coverage report at reports/cov.xml");
  });

  it("runs the test command to produce coverage when tests_pass is not a criterion", async () => {
    const summary = await readFile(path.join(FIXTURES, "coverage/coverage-summary.json"), "utf8");
    const cwd = await makeProject({ "summary.json": summary });
    const r = await checkCriteria(
      cwd,
      { coverage_threshold: 70 },
      { testCommand: "mkdir -p coverage && cp summary.json coverage/coverage-summary.json" },
    );
    expect(r.criteria).toEqual([
      {
        criterion: "coverage_threshold",
        passed: true,
        detail: "coverage 72.4 % ≥ 70 % (functions 75 %; coverage/coverage-summary.json)",
      },
    ]);
    expect(r.logs).toHaveLength(1);
  });

  it("rejects thresholds that are not percentages", async () => {
    const r = await checkCriteria(await makeProject({}), { coverage_threshold: 120 });
    expect(r.criteria[0]).toEqual({
      criterion: "coverage_threshold",
      passed: false,
      detail: "coverage_threshold must be a percentage (0–100), got 120",
    });
  });

  it("detects `npm test` from package.json, but not npm's placeholder", async () => {
    const real = await makeProject({ "package.json": JSON.stringify({ scripts: { test: "node --test" } }) });
    const placeholder = await makeProject({
      "package.json": JSON.stringify({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }),
    });
    expect(await detectTestCommand(real)).toBe("npm test");
    expect(await detectTestCommand(placeholder)).toBeUndefined();
    const r = await checkCriteria(placeholder, { tests_pass: true });
    expect(r.criteria).toEqual([
      {
        criterion: "tests_pass",
        passed: false,
        detail: "no test command configured (and package.json has no test script)",
      },
    ]);
  });

  it("turns a crashing checker into a failed criterion instead of throwing", async () => {
    const cwd = await makeProject({});
    const r = await checkCriteria(cwd, { file_created: [42 as unknown as string] });
    expect(r.criteria).toEqual([
      { criterion: "file_created", passed: false, detail: expect.stringMatching(/^checker crashed: /) },
    ]);
  });

  it("never throws for a missing working directory", async () => {
    const r = await checkCriteria(
      "/nonexistent/trellis/project",
      { tests_pass: true, coverage_threshold: 50, file_created: ["a"] },
      { testCommand: "true" },
    );
    expect(r.criteria.map((c) => [c.criterion, c.passed])).toEqual([
      ["tests_pass", false],
      ["coverage_threshold", false],
      ["file_created", false],
    ]);
    expect(r.criteria[0]?.detail).toMatch(/could not run/);
  });
});
