import { readFile } from "node:fs/promises";
import path from "node:path";
import type { SuccessCriteria } from "../../../src/core/model.js";
import type {
  Annotation,
  CoverageResult,
  CriterionOutcome,
  ScenarioResult,
  TestsResult,
} from "../../../src/core/result.js";
import { checkBdd, toScenarioResults, type BddCheck } from "./bdd.js";
import type { StepRef } from "./cucumber-messages.js";
import { checkFiles } from "./files.js";
import { readCoverage } from "./read-coverage.js";
import { checkTests, type TestsCheck } from "./tests.js";
import { formatPct } from "./text.js";

export { checkBdd, DEFAULT_BDD_COMMAND, findFeatureFiles, toScenarioResults } from "./bdd.js";
export type { BddCheck, BddScenario } from "./bdd.js";
export {
  COVERAGE_CANDIDATES,
  parseCobertura,
  parseCoverageReport,
  parseIstanbulSummary,
  parseLcov,
} from "./coverage.js";
export type { CoverageParse } from "./coverage.js";
export { parseMessageStream, scenariosFromMessages } from "./cucumber-messages.js";
export type { MessagesReport, ScenarioRun, StepRef } from "./cucumber-messages.js";
export { checkFiles } from "./files.js";
export { parseFeature } from "./gherkin.js";
export type { FeatureParse, GherkinSyntaxError, ParsedScenario } from "./gherkin.js";
export { mergeTests, parseJunit } from "./junit.js";
export { readCoverage } from "./read-coverage.js";
export { runCommand } from "./run-command.js";
export type { CommandResult } from "./run-command.js";
export { parseTestOutput } from "./test-output.js";
export type { ParsedTestOutput, TestFramework } from "./test-output.js";
export { checkTests, findJunitReports, JUNIT_PATTERNS } from "./tests.js";
export type { TestsCheck } from "./tests.js";
export { parseXml } from "./xml.js";

export interface CriteriaOptions {
  /** Shell command for `tests_pass` (and to produce coverage); defaults to `npm test` when package.json has a test script. */
  testCommand?: string;
  /** cucumber-js invocation; `--format message:<file>` (and `--dry-run`) are appended. Default `npx cucumber-js`. */
  bddCommand?: string;
  /** Coverage report path relative to cwd; default: auto-detect lcov, Istanbul summary, Cobertura. */
  coverageFile?: string;
  env?: Record<string, string>;
  /** Per command. Default 15 minutes. */
  timeoutMs?: number;
}

export interface CriteriaReport {
  criteria: CriterionOutcome[];
  tests?: TestsResult;
  scenarios?: ScenarioResult[];
  scenarioCoverage?: number;
  coverage?: CoverageResult;
  annotations: Annotation[];
  /** Steps without a definition and pending steps (also annotated). */
  undefinedSteps?: StepRef[];
  pendingSteps?: StepRef[];
  /** Tail of each command's output, for the job log. */
  logs: { command: string; exitCode: number | undefined; durationMs: number; output: string }[];
}

export const DEFAULT_CRITERIA_TIMEOUT_MS = 15 * 60_000;
const LOG_TAIL = 20_000;
// npm's placeholder script fails on purpose; it is not a test suite.
const NPM_PLACEHOLDER = /no test specified/;

/** `npm test` when package.json defines a real test script. */
export async function detectTestCommand(cwd: string): Promise<string | undefined> {
  try {
    const pkg = JSON.parse(await readFile(path.join(cwd, "package.json"), "utf8")) as {
      scripts?: Record<string, unknown>;
    };
    const script = pkg.scripts?.test;
    if (typeof script === "string" && script.trim() && !NPM_PLACEHOLDER.test(script)) return "npm test";
  } catch {
    // No package.json, or unreadable: nothing to detect.
  }
  return undefined;
}

export function allCriteriaPassed(report: CriteriaReport): boolean {
  return report.criteria.every((c) => c.passed);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function dedupeAnnotations(annotations: Annotation[]): Annotation[] {
  const seen = new Set<string>();
  return annotations.filter((a) => {
    const key = `${a.path}:${a.start_line}:${a.annotation_level}:${a.title ?? ""}:${a.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function scenarioCounts(scenarios: BddCheck["scenarios"]): string {
  const count = (st: ScenarioResult["status"]): number =>
    scenarios.filter((s) => s.status === st && !s.notRun).length;
  const notRun = scenarios.filter((s) => s.notRun).length;
  const parts = [`${count("passed")} passed`];
  for (const st of ["failed", "undefined", "pending", "ambiguous", "skipped"] as const) {
    const n = count(st);
    if (n > 0) parts.push(`${n} ${st}`);
  }
  if (notRun > 0) parts.push(`${notRun} not run`);
  return `${parts.join(", ")} (${scenarios.length} scenario${scenarios.length === 1 ? "" : "s"})`;
}

function syntaxDetail(bdd: BddCheck): string {
  const first = bdd.syntaxErrors[0];
  const where = first ? `${first.file}:${first.line}` : "";
  return `${bdd.syntaxErrors.length} Gherkin syntax error${bdd.syntaxErrors.length === 1 ? "" : "s"} (first at ${where})`;
}

function judgeScenariosPass(bdd: BddCheck): CriterionOutcome {
  const c = "bdd_scenarios_pass" as const;
  if (bdd.featureFiles.length === 0)
    return { criterion: c, passed: false, detail: "no .feature files found" };
  if (bdd.syntaxErrors.length > 0) return { criterion: c, passed: false, detail: syntaxDetail(bdd) };
  if (bdd.scenarios.length === 0)
    return { criterion: c, passed: false, detail: "the .feature files define no scenarios" };
  if (bdd.runError)
    return { criterion: c, passed: false, detail: `${scenarioCounts(bdd.scenarios)}; ${bdd.runError}` };
  const ran = bdd.scenarios.filter((s) => !s.notRun);
  const bad = ran.filter((s) => s.status !== "passed" && s.status !== "skipped").length;
  const exitOk = bdd.run?.exitCode === 0;
  const passed = bad === 0 && exitOk && ran.some((s) => s.status === "passed");
  const detail =
    scenarioCounts(bdd.scenarios) +
    (bad === 0 && !exitOk ? `; cucumber-js exited with code ${bdd.run?.exitCode}` : "");
  return { criterion: c, passed, detail };
}

function judgeScenarioCoverage(bdd: BddCheck, threshold: number): CriterionOutcome {
  const c = "scenario_coverage" as const;
  if (bdd.featureFiles.length === 0)
    return { criterion: c, passed: false, detail: "no .feature files found" };
  if (bdd.syntaxErrors.length > 0) return { criterion: c, passed: false, detail: syntaxDetail(bdd) };
  if (bdd.scenarios.length === 0 || bdd.scenarioCoverage === undefined) {
    return { criterion: c, passed: false, detail: "the .feature files define no scenarios" };
  }
  const defined = bdd.scenarios.filter((s) => s.allStepsDefined).length;
  const pct = bdd.scenarioCoverage;
  const passed = pct >= threshold && !bdd.runError;
  let detail = `${defined}/${bdd.scenarios.length} scenarios have all steps defined (${formatPct(pct)} %) ${pct >= threshold ? "≥" : "<"} ${formatPct(threshold)} %`;
  if (bdd.runError) detail += `; ${bdd.runError}`;
  return { criterion: c, passed, detail };
}

function invalidThreshold(value: number): boolean {
  return !Number.isFinite(value) || value < 0 || value > 100;
}

/**
 * Checks the stage's success criteria in `cwd`. Only the criteria present are checked, in a
 * fixed order; a checker that crashes yields a failed criterion with the error, never a throw.
 */
export async function checkCriteria(
  cwd: string,
  criteria: SuccessCriteria,
  options: CriteriaOptions = {},
): Promise<CriteriaReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CRITERIA_TIMEOUT_MS;
  const report: CriteriaReport = { criteria: [], annotations: [], logs: [] };
  const outcome = (criterion: CriterionOutcome["criterion"], passed: boolean, detail: string): void => {
    report.criteria.push({ criterion, passed, detail });
  };
  const guarded = async (
    criteria: CriterionOutcome["criterion"][],
    fn: () => Promise<void>,
  ): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      for (const c of criteria) {
        if (!report.criteria.some((o) => o.criterion === c))
          outcome(c, false, `checker crashed: ${errorText(e)}`);
      }
    }
  };
  const log = (r: TestsCheck["run"] | undefined): void => {
    if (!r) return;
    report.logs.push({
      command: r.command,
      exitCode: r.exitCode,
      durationMs: r.durationMs,
      output: r.output.slice(-LOG_TAIL),
    });
  };

  let testCommand: string | undefined;
  let testsRan = false;
  const runTests = async (): Promise<TestsCheck | undefined> => {
    testCommand ??= options.testCommand?.trim() || (await detectTestCommand(cwd));
    if (!testCommand) return undefined;
    testsRan = true;
    const t = await checkTests(cwd, testCommand, { env: options.env, timeoutMs });
    log(t.run);
    if (t.tests) report.tests = t.tests;
    report.annotations.push(...t.annotations);
    return t;
  };

  if (criteria.tests_pass) {
    await guarded(["tests_pass"], async () => {
      const t = await runTests();
      if (!t)
        outcome("tests_pass", false, "no test command configured (and package.json has no test script)");
      else outcome("tests_pass", t.passed, t.detail);
    });
  }

  const wantScenarios = criteria.bdd_scenarios_pass === true;
  const wantCoverage = criteria.scenario_coverage !== undefined;
  if (wantScenarios || wantCoverage) {
    const names: CriterionOutcome["criterion"][] = [];
    if (wantScenarios) names.push("bdd_scenarios_pass");
    if (wantCoverage) names.push("scenario_coverage");
    await guarded(names, async () => {
      const bdd = await checkBdd(cwd, {
        command: options.bddCommand,
        execute: wantScenarios,
        env: options.env,
        timeoutMs,
      });
      log(bdd.run);
      if (bdd.scenarios.length > 0) report.scenarios = toScenarioResults(bdd.scenarios);
      if (bdd.scenarioCoverage !== undefined) report.scenarioCoverage = bdd.scenarioCoverage;
      if (bdd.undefinedSteps.length > 0) report.undefinedSteps = bdd.undefinedSteps;
      if (bdd.pendingSteps.length > 0) report.pendingSteps = bdd.pendingSteps;
      report.annotations.push(...bdd.annotations);
      if (wantScenarios) report.criteria.push(judgeScenariosPass(bdd));
      if (wantCoverage) {
        const threshold = criteria.scenario_coverage ?? 100;
        if (invalidThreshold(threshold)) {
          outcome(
            "scenario_coverage",
            false,
            `scenario_coverage must be a percentage (0–100), got ${threshold}`,
          );
        } else report.criteria.push(judgeScenarioCoverage(bdd, threshold));
      }
    });
  }

  if (criteria.coverage_threshold !== undefined) {
    const threshold = criteria.coverage_threshold;
    await guarded(["coverage_threshold"], async () => {
      if (invalidThreshold(threshold)) {
        outcome(
          "coverage_threshold",
          false,
          `coverage_threshold must be a percentage (0–100), got ${threshold}`,
        );
        return;
      }
      // The test run writes the report; run it here when tests_pass did not already.
      if (!testsRan) await runTests();
      const read = await readCoverage(cwd, options.coverageFile);
      if (!read.ok) {
        outcome("coverage_threshold", false, read.error);
        return;
      }
      report.coverage = read.coverage;
      const { lines, branches, functions } = read.coverage;
      const extras = [
        branches !== undefined ? `branches ${formatPct(branches)} %` : undefined,
        functions !== undefined ? `functions ${formatPct(functions)} %` : undefined,
      ].filter(Boolean);
      const passed = lines >= threshold;
      const detail = `coverage ${formatPct(lines)} % ${passed ? "≥" : "<"} ${formatPct(threshold)} %${extras.length ? ` (${extras.join(", ")}; ${read.file})` : ` (${read.file})`}`;
      outcome("coverage_threshold", passed, detail);
    });
  }

  const patterns = criteria.file_created ?? [];
  if (patterns.length > 0) {
    await guarded(["file_created"], async () => {
      const f = await checkFiles(cwd, patterns);
      outcome("file_created", f.passed, f.detail);
    });
  }

  report.annotations = dedupeAnnotations(report.annotations);
  return report;
}
