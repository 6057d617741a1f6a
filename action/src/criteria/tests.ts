import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { glob } from "tinyglobby";
import type { Annotation, TestsResult } from "../../../src/core/result.js";
import { mergeTests, parseJunit } from "./junit.js";
import { runCommand, tail, type CommandResult } from "./run-command.js";
import { parseTestOutput } from "./test-output.js";
import { failureAnnotation, truncate } from "./text.js";

export interface TestsCheck {
  passed: boolean;
  detail: string;
  tests?: TestsResult;
  annotations: Annotation[];
  run: CommandResult;
  /** Where the counts came from. */
  source: "junit" | "output" | "none";
  junitFiles: string[];
}

/** Where JUnit reports are commonly written. */
export const JUNIT_PATTERNS = [
  "junit.xml",
  "test-results/**/*.xml",
  "reports/junit*.xml",
  "reports/**/junit*.xml",
];

/** Environment variables reporters read for their JUnit output path. */
const JUNIT_FILE_ENV = [
  "JUNIT_OUTPUT",
  "JUNIT_OUTPUT_FILE",
  "JUNIT_REPORT_PATH",
  "JEST_JUNIT_OUTPUT_FILE",
  "MOCHA_FILE",
];

/** Files modified before the command started are stale reports from an earlier run. */
const MTIME_SLACK_MS = 2000;

/**
 * Now on the filesystem's clock, the one that stamps the reports' mtimes (read from a directory made for
 * it): comparing an mtime with the process's clock would mix two clocks.
 */
export async function filesystemNow(): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), "trellis-clock-"));
  try {
    return (await stat(dir)).mtimeMs;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function findJunitReports(cwd: string, env: Record<string, string | undefined>, since: number) {
  const candidates = new Set<string>();
  for (const key of JUNIT_FILE_ENV) {
    const v = env[key];
    if (v) candidates.add(path.resolve(cwd, v));
  }
  if (env.JEST_JUNIT_OUTPUT_DIR) {
    candidates.add(path.resolve(cwd, env.JEST_JUNIT_OUTPUT_DIR, env.JEST_JUNIT_OUTPUT_NAME ?? "junit.xml"));
  }
  const found = await glob(JUNIT_PATTERNS, {
    cwd,
    absolute: true,
    dot: false,
    ignore: ["**/node_modules/**"],
  });
  found.forEach((f) => candidates.add(path.resolve(f)));
  const fresh: string[] = [];
  for (const file of candidates) {
    try {
      const s = await stat(file);
      if (s.isFile() && s.mtimeMs >= since - MTIME_SLACK_MS) fresh.push(file);
    } catch {
      // Not written by this run.
    }
  }
  return fresh.sort();
}

function describeCounts(t: TestsResult): string {
  const parts = [`${t.passed} passed`, `${t.failed} failed`];
  if (t.skipped > 0) parts.push(`${t.skipped} skipped`);
  return parts.join(", ");
}

/**
 * Runs the test command and judges it: pass = exit code 0 and no failing test counted. Counts come
 * from JUnit XML written during the run when there is any, else from the runner's summary lines.
 */
export async function checkTests(
  cwd: string,
  command: string,
  options: { env?: Record<string, string>; timeoutMs: number },
): Promise<TestsCheck> {
  const since = await filesystemNow();
  const run = await runCommand(command, { cwd, env: options.env, timeoutMs: options.timeoutMs });

  const junitFiles = await findJunitReports(cwd, { ...process.env, ...options.env }, since);
  const fromJunit: TestsResult[] = [];
  for (const file of junitFiles) {
    const parsed = parseJunit(await readFile(file, "utf8").catch(() => ""), cwd);
    if (parsed) fromJunit.push(parsed);
  }
  let tests: TestsResult | undefined;
  let source: TestsCheck["source"] = "none";
  if (fromJunit.length > 0) {
    tests = mergeTests(fromJunit);
    source = "junit";
  } else {
    const parsed = parseTestOutput(run.output, cwd);
    if (parsed) {
      const { framework: _framework, ...counts } = parsed;
      tests = counts;
      source = "output";
    }
  }

  const annotations = (tests?.failures ?? [])
    .filter((f) => f.file && f.line)
    .map((f) =>
      failureAnnotation(
        f.file ?? "",
        f.line ?? 1,
        `Test failed: ${truncate(f.name, 200)}`,
        f.message ?? f.name,
      ),
    );

  const counts = tests ? describeCounts(tests) : undefined;
  let passed = run.exitCode === 0 && !run.timedOut && (tests?.failed ?? 0) === 0;
  let detail: string;
  if (run.error) detail = `\`${command}\` could not run: ${run.error}`;
  else if (run.timedOut)
    detail = `\`${command}\` timed out after ${Math.round(options.timeoutMs / 1000)} s${counts ? ` (${counts})` : ""}`;
  else if (tests && tests.passed + tests.failed === 0) {
    passed = false;
    detail = `no tests ran (\`${command}\` exited with code ${run.exitCode})`;
  } else if (counts) {
    detail =
      run.exitCode === 0 || tests?.failed
        ? counts
        : `${counts}; \`${command}\` exited with code ${run.exitCode}`;
  } else {
    detail =
      run.exitCode === 0
        ? `\`${command}\` exited with code 0 (no test counts found)`
        : `\`${command}\` exited with code ${run.exitCode}:\n${tail(run.output, 15)}`;
  }
  const result: TestsCheck = { passed, detail, annotations, run, source, junitFiles };
  if (tests) result.tests = tests;
  return result;
}
