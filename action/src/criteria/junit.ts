import type { TestsResult } from "../../../src/core/result.js";
import { findSourceLocation, toRepoPath, truncate } from "./text.js";
import { deepText, descendants, parseXml, type XmlElement } from "./xml.js";

type Failure = TestsResult["failures"][number];

const MAX_FAILURE_MESSAGE = 2000;

/**
 * Counts and failures from a JUnit XML report (`<testsuites>`/`<testsuite>`/`<testcase>` with
 * `<failure>`, `<error>` or `<skipped>`), as written by vitest, jest-junit, mocha-junit-reporter,
 * pytest, node:test and most CI tools. Returns undefined when the document is not a JUnit report.
 * `cwd` turns absolute file paths into repository paths.
 */
export function parseJunit(xml: string, cwd?: string): TestsResult | undefined {
  const doc = parseXml(xml);
  const top = doc.children.find((c) => c.name === "testsuites" || c.name === "testsuite");
  if (!top) return undefined;

  const cases = descendants(top, "testcase");
  if (cases.length === 0) return countsFromSuites(top);

  const result: TestsResult = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const tc of cases) {
    const bad = tc.children.find((c) => c.name === "failure" || c.name === "error");
    if (bad) {
      result.failed++;
      result.failures.push(failureOf(tc, bad, cwd));
    } else if (tc.children.some((c) => c.name === "skipped")) {
      result.skipped++;
    } else {
      result.passed++;
    }
  }
  return result;
}

function failureOf(tc: XmlElement, bad: XmlElement, cwd?: string): Failure {
  const name =
    [tc.attrs.classname, tc.attrs.name].filter((s) => s && s.length > 0).join(" › ") || "(unnamed test)";
  const body = deepText(bad).trim();
  const message = [bad.attrs.message, body]
    .filter((s): s is string => !!s && s.length > 0)
    .filter((s, i, all) => i === 0 || !all[0]?.includes(s))
    .join("\n");
  const failure: Failure = { name };
  if (message) failure.message = truncate(message, MAX_FAILURE_MESSAGE);

  // Prefer explicit attributes (pytest, jest-junit with addFileAttribute), then the stack trace.
  const fileAttr = tc.attrs.file ?? tc.attrs.filepath;
  const file = fileAttr ? toRepoPath(fileAttr, cwd) : undefined;
  const lineAttr = Number(tc.attrs.line ?? bad.attrs.line);
  if (file) failure.file = file;
  if (Number.isInteger(lineAttr) && lineAttr > 0) failure.line = lineAttr;
  if (failure.line === undefined) {
    const loc = findSourceLocation(body, cwd, file ?? classnameFile(tc.attrs.classname, cwd));
    if (loc && (!file || loc.file === file)) {
      failure.file = loc.file;
      failure.line = loc.line;
    }
  }
  return failure;
}

/** vitest and some jest setups put the test file path in `classname`. */
function classnameFile(classname: string | undefined, cwd?: string): string | undefined {
  if (!classname || !/\.[cm]?[jt]sx?$|\.py$/.test(classname)) return undefined;
  return toRepoPath(classname, cwd);
}

function countsFromSuites(top: XmlElement): TestsResult | undefined {
  // Suite attributes include nested suites, so count the outermost element that has them.
  const leaves = [top, ...descendants(top, "testsuite")].filter(
    (s) => descendants(s, "testsuite").length === 0,
  );
  const source = top.attrs.tests !== undefined ? [top] : leaves;
  if (!source.some((s) => s.attrs.tests !== undefined)) return undefined;
  let tests = 0;
  let failed = 0;
  let skipped = 0;
  for (const s of source) {
    tests += num(s.attrs.tests);
    failed += num(s.attrs.failures) + num(s.attrs.errors);
    skipped += num(s.attrs.skipped ?? s.attrs.disabled);
  }
  return { passed: Math.max(0, tests - failed - skipped), failed, skipped, failures: [] };
}

function num(s: string | undefined): number {
  const n = Number(s);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/** Sums several reports (one per package or shard). */
export function mergeTests(results: TestsResult[]): TestsResult {
  return results.reduce<TestsResult>(
    (acc, r) => ({
      passed: acc.passed + r.passed,
      failed: acc.failed + r.failed,
      skipped: acc.skipped + r.skipped,
      failures: [...acc.failures, ...r.failures],
    }),
    { passed: 0, failed: 0, skipped: 0, failures: [] },
  );
}
