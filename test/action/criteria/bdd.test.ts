import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkBdd, withArgSeparator } from "../../../action/src/criteria/bdd.js";
import { fixture } from "./fixtures.js";
import { CUCUMBER, makeProject, removeProjects } from "./project.js";

afterAll(removeProjects);

const STEPS = `import { Given, When, Then } from "@cucumber/cucumber";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
Given("a calculator", function () { this.r = 0; writeFileSync("executed.txt", "yes"); });
When("I add {int} and {int}", function (a, b) { this.r = a + b; });
Then("the result is {int}", function (c) { assert.equal(this.r, c); });
When("I wait", function () { return "pending"; });
`;

const GREEN = `Feature: Green
  Scenario: adds
    Given a calculator
    When I add 1 and 2
    Then the result is 3
`;

const opts = { command: CUCUMBER, timeoutMs: 60_000 };

describe("withArgSeparator", () => {
  it("adds npm's `--` so the message formatter reaches cucumber-js", () => {
    expect(withArgSeparator("npm run bdd")).toBe("npm run bdd --");
    expect(withArgSeparator("npm test")).toBe("npm test --");
    expect(withArgSeparator("npm run bdd -- --tags @fast")).toBe("npm run bdd -- --tags @fast");
    expect(withArgSeparator("npx cucumber-js")).toBe("npx cucumber-js");
  });

  it("runs cucumber-js through an npm script", async () => {
    const cwd = await makeProject(
      {
        "package.json": JSON.stringify({ scripts: { bdd: CUCUMBER } }),
        "features/green.feature": GREEN,
        "features/step_definitions/steps.mjs": STEPS,
      },
      { cucumber: true },
    );
    const r = await checkBdd(cwd, { command: "npm run bdd", execute: true, timeoutMs: 60_000 });
    expect(r.scenarios.map((s) => s.status)).toEqual(["passed"]);
  });
});

describe("checkBdd with real cucumber-js runs", () => {
  it("reports every scenario's result, undefined and pending steps, and annotations", async () => {
    const cwd = await makeProject(
      {
        "features/calc.feature": fixture("cucumber/calc.feature"),
        "features/step_definitions/steps.mjs": STEPS,
      },
      { cucumber: true },
    );
    const r = await checkBdd(cwd, { ...opts, execute: true });
    expect(r.featureFiles).toEqual(["features/calc.feature"]);
    expect(r.run?.exitCode).toBe(1);
    expect(r.runError).toBeUndefined();
    expect(r.scenarios.map((s) => [s.name, s.status, s.notRun])).toEqual([
      ["add", "passed", false],
      ["broken", "failed", false],
      ["missing", "undefined", false],
      ["many (example 1)", "passed", false],
      ["many (example 2)", "failed", false],
      ["pend", "pending", false],
    ]);
    expect(r.scenarioCoverage).toBe(83.33);
    expect(r.annotations.map((a) => [a.path, a.start_line, a.annotation_level, a.title])).toEqual([
      ["features/calc.feature", 11, "failure", 'Scenario "broken" failed'],
      ["features/calc.feature", 18, "failure", 'Scenario "many (example 2)" failed'],
      ["features/calc.feature", 14, "warning", "Undefined step"],
      ["features/calc.feature", 25, "warning", "Pending step"],
    ]);
    expect(r.annotations[0]?.message).toContain("3 !== 4");
    expect(r.annotations[2]?.message).toContain("When('I frobnicate'");
  });

  it("uses --dry-run when only step coverage is needed, so steps do not execute", async () => {
    const cwd = await makeProject(
      {
        "features/calc.feature": fixture("cucumber/calc.feature"),
        "features/step_definitions/steps.mjs": STEPS,
      },
      { cucumber: true },
    );
    const r = await checkBdd(cwd, { ...opts, execute: false });
    expect(r.run?.command).toContain("--dry-run");
    expect(existsSync(path.join(cwd, "executed.txt"))).toBe(false);
    expect(r.scenarioCoverage).toBe(83.33);
    expect(r.undefinedSteps.map((s) => s.text)).toEqual(["I frobnicate"]);
  });

  it("passes a green suite and marks scenarios cucumber did not run", async () => {
    const cwd = await makeProject(
      {
        "features/green.feature": GREEN,
        "features/step_definitions/steps.mjs": STEPS,
        // Outside cucumber's default paths: parsed, but not run.
        "docs/extra.feature": "Feature: Extra\n  Scenario: elsewhere\n    Given a calculator\n",
      },
      { cucumber: true },
    );
    const r = await checkBdd(cwd, { ...opts, execute: true });
    expect(r.run?.exitCode).toBe(0);
    expect(r.scenarios.map((s) => [s.file, s.name, s.status, s.notRun])).toEqual([
      ["docs/extra.feature", "elsewhere", "skipped", true],
      ["features/green.feature", "adds", "passed", false],
    ]);
    expect(r.scenarioCoverage).toBe(50);
    expect(existsSync(path.join(cwd, "executed.txt"))).toBe(true);
  });

  it("reports Gherkin syntax errors as failure annotations", async () => {
    const cwd = await makeProject(
      { "features/bad.feature": "Feature: Bad\n  Scenario: x\n    Given a calculator\n  not gherkin\n" },
      { cucumber: true },
    );
    const r = await checkBdd(cwd, { ...opts, execute: true });
    expect(r.syntaxErrors).toEqual([expect.objectContaining({ file: "features/bad.feature", line: 4 })]);
    expect(r.annotations[0]).toMatchObject({
      path: "features/bad.feature",
      start_line: 4,
      annotation_level: "failure",
      title: "Gherkin syntax error",
      message: expect.stringContaining("got 'not gherkin'"),
    });
  });

  it("explains a run that could not start (broken support code)", async () => {
    const cwd = await makeProject(
      { "features/green.feature": GREEN, "features/step_definitions/steps.mjs": "import './missing.mjs';\n" },
      { cucumber: true },
    );
    const r = await checkBdd(cwd, { ...opts, execute: true });
    expect(r.run?.exitCode).not.toBe(0);
    expect(r.runError).toMatch(/missing\.mjs/);
    expect(r.scenarios.map((s) => s.notRun)).toEqual([true]);
  });

  it("does nothing without feature files", async () => {
    const cwd = await makeProject({ "README.md": "hi" });
    const r = await checkBdd(cwd, { ...opts, execute: true });
    expect(r).toMatchObject({ featureFiles: [], scenarios: [], annotations: [] });
    expect(r.run).toBeUndefined();
  });
});
