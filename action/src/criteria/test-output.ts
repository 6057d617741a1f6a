import type { TestsResult } from "../../../src/core/result.js";
import { findSourceLocation, stripAnsi, toRepoPath, truncate } from "./text.js";

type Failure = TestsResult["failures"][number];

export type TestFramework = "vitest" | "jest" | "mocha" | "node:test" | "pytest";

export interface ParsedTestOutput extends TestsResult {
  framework: TestFramework;
}

const MAX_FAILURES = 100;

/**
 * Counts (and, where the reporter prints them, failing tests with file:line) from the summary a
 * test runner prints: vitest, jest, mocha, node:test (TAP and spec reporters) and pytest. The
 * last summary wins, so a watch-mode re-run or a retry reports its final state. Returns
 * undefined when no known summary is found.
 */
export function parseTestOutput(output: string, cwd?: string): ParsedTestOutput | undefined {
  const lines = stripAnsi(output).replace(/\r\n?/g, "\n").split("\n");
  for (const parse of [parseVitest, parseJest, parsePytest, parseMocha, parseNodeTest]) {
    const result = parse(lines, cwd);
    if (result) {
      result.failures = dedupe(result.failures).slice(0, MAX_FAILURES);
      return result;
    }
  }
  return undefined;
}

function lastMatch(lines: string[], re: RegExp): RegExpExecArray | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = re.exec(lines[i] ?? "");
    if (m) return m;
  }
  return undefined;
}

/** "1 failed | 12 passed | 2 skipped" or "1 failed, 12 passed" → counts by word. */
function countWords(s: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of s.matchAll(/(\d+)\s+([a-z]+)/gi)) {
    const word = (m[2] ?? "").toLowerCase();
    counts.set(word, (counts.get(word) ?? 0) + Number(m[1]));
  }
  return counts;
}

const sum = (c: Map<string, number>, ...words: string[]): number =>
  words.reduce((acc, w) => acc + (c.get(w) ?? 0), 0);

function dedupe(failures: Failure[]): Failure[] {
  const seen = new Map<string, Failure>();
  for (const f of failures) {
    const prev = seen.get(f.name);
    if (!prev || (prev.line === undefined && f.line !== undefined)) seen.set(f.name, f);
  }
  return [...seen.values()];
}

/** Lines after `start` up to (not including) the next line matching `stop`. */
function blockAfter(lines: string[], start: number, stop: RegExp, max = 60): string {
  const out: string[] = [];
  for (let i = start + 1; i < lines.length && out.length < max; i++) {
    const l = lines[i] ?? "";
    if (stop.test(l)) break;
    out.push(l);
  }
  return out.join("\n");
}

function firstMessageLine(block: string): string | undefined {
  const line = block
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.length > 0 && !/^(at |❯ |⎯|-+$|={3,})/.test(l));
  return line ? truncate(line, 500) : undefined;
}

function withLocation(f: Failure, block: string, cwd: string | undefined): Failure {
  const loc = findSourceLocation(block, cwd, f.file);
  if (loc && (!f.file || loc.file === f.file)) {
    f.file = loc.file;
    f.line = loc.line;
  }
  return f;
}

// ---------------------------------------------------------------------------------------------

function parseVitest(lines: string[], cwd?: string): ParsedTestOutput | undefined {
  const m = lastMatch(lines, /^\s*Tests\s+(\d+\s+(?:passed|failed|skipped|todo).*?)\s*\((\d+)\)\s*$/);
  if (!m) return undefined;
  const c = countWords(m[1] ?? "");
  const result: ParsedTestOutput = {
    framework: "vitest",
    passed: sum(c, "passed"),
    failed: sum(c, "failed"),
    skipped: sum(c, "skipped", "todo"),
    failures: [],
  };
  const header = /^\s*FAIL\s+(\S+)\s+>\s+(.+?)\s*$/;
  lines.forEach((l, i) => {
    const h = header.exec(l);
    if (!h) return;
    const file = toRepoPath(h[1] ?? "", cwd);
    const block = blockAfter(lines, i, /^\s*FAIL\s|^\s*⎯{3,}\s*\[\d+\/\d+\]|^\s*Test Files\s/);
    const f: Failure = { name: `${h[1]} > ${h[2]}` };
    if (file) f.file = file;
    const msg = firstMessageLine(block);
    if (msg) f.message = msg;
    result.failures.push(withLocation(f, block, cwd));
  });
  return result;
}

function parseJest(lines: string[], cwd?: string): ParsedTestOutput | undefined {
  const m = lastMatch(lines, /^\s*Tests:\s+(.*\d+\s+total.*)$/);
  if (!m) return undefined;
  const c = countWords(m[1] ?? "");
  const result: ParsedTestOutput = {
    framework: "jest",
    passed: sum(c, "passed"),
    failed: sum(c, "failed"),
    skipped: sum(c, "skipped", "todo", "pending"),
    failures: [],
  };
  lines.forEach((l, i) => {
    const h = /^\s*●\s+(.+?)\s*$/.exec(l);
    if (!h || /^Console$|^Test suite failed to run$/.test(h[1] ?? "")) return;
    const block = blockAfter(lines, i, /^\s*●\s|^\s*(PASS|FAIL)\s|^Test Suites:/);
    const f: Failure = { name: h[1] ?? "" };
    const msg = firstMessageLine(block);
    if (msg) f.message = msg;
    result.failures.push(withLocation(f, block, cwd));
  });
  return result;
}

function parsePytest(lines: string[], cwd?: string): ParsedTestOutput | undefined {
  const m = lastMatch(
    lines,
    /^=+\s+((?:\d+\s+(?:passed|failed|skipped|errors?|xfailed|xpassed|deselected|warnings?)(?:,\s*)?)+)\s+in\s+[\d.]+s.*=+\s*$/,
  );
  if (!m) return undefined;
  const c = countWords(m[1] ?? "");
  const result: ParsedTestOutput = {
    framework: "pytest",
    passed: sum(c, "passed", "xpassed"),
    failed: sum(c, "failed", "error", "errors"),
    skipped: sum(c, "skipped", "xfailed"),
    failures: [],
  };
  const text = lines.join("\n");
  for (const l of lines) {
    const h = /^(?:FAILED|ERROR)\s+(\S+?)::(\S+)(?:\s+-\s+(.*))?$/.exec(l);
    if (!h) continue;
    const file = toRepoPath(h[1] ?? "", cwd);
    const f: Failure = { name: `${h[1]}::${h[2]}` };
    if (h[3]) f.message = truncate(h[3], 500);
    if (file) {
      f.file = file;
      // Tracebacks print "path/to/test_x.py:12: AssertionError" for the failing line.
      const esc = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const loc = new RegExp(`^${esc}:(\\d+): `, "m").exec(text);
      if (loc) f.line = Number(loc[1]);
    }
    result.failures.push(f);
  }
  return result;
}

function parseMocha(lines: string[], cwd?: string): ParsedTestOutput | undefined {
  const passing = lastMatch(lines, /^\s*(\d+)\s+passing\b/);
  const failing = lastMatch(lines, /^\s*(\d+)\s+failing\s*$/);
  if (!passing && !failing) return undefined;
  const pending = lastMatch(lines, /^\s*(\d+)\s+pending\s*$/);
  const result: ParsedTestOutput = {
    framework: "mocha",
    passed: Number(passing?.[1] ?? 0),
    failed: Number(failing?.[1] ?? 0),
    skipped: Number(pending?.[1] ?? 0),
    failures: [],
  };
  const start = lines.findIndex((l) => /^\s*\d+\s+failing\s*$/.test(l));
  if (start === -1) return result;
  for (let i = start + 1; i < lines.length; i++) {
    const h = /^\s*\d+\)\s+(.+?)\s*$/.exec(lines[i] ?? "");
    if (!h) continue;
    // The title spans lines (suite, nested suites, test) and ends with ":".
    const parts = [h[1] ?? ""];
    let j = i;
    while (!parts[parts.length - 1]?.endsWith(":") && j + 1 < lines.length && j - i < 10) {
      j++;
      const next = (lines[j] ?? "").trim();
      if (next === "") break;
      parts.push(next);
    }
    const name = parts.join(" › ").replace(/:$/, "");
    const block = blockAfter(lines, j, /^\s*\d+\)\s/);
    const f: Failure = { name };
    const msg = firstMessageLine(block);
    if (msg) f.message = msg;
    result.failures.push(withLocation(f, block, cwd));
    i = j;
  }
  return result;
}

function parseNodeTest(lines: string[], cwd?: string): ParsedTestOutput | undefined {
  const count = (word: string): RegExpExecArray | undefined =>
    lastMatch(lines, new RegExp(`^\\s*(?:#|ℹ)\\s+${word}\\s+(\\d+)\\s*$`));
  const pass = count("pass");
  const fail = count("fail");
  if (!pass && !fail) return undefined;
  const result: ParsedTestOutput = {
    framework: "node:test",
    passed: Number(pass?.[1] ?? 0),
    failed: Number(fail?.[1] ?? 0) + Number(count("cancelled")?.[1] ?? 0),
    skipped: Number(count("skipped")?.[1] ?? 0) + Number(count("todo")?.[1] ?? 0),
    failures: [],
  };
  lines.forEach((l, i) => {
    // TAP: "not ok 3 - name" followed by a YAML block with `location:` and `error:`.
    const tap = /^\s*not ok \d+ - (.+?)(?:\s+#\s.*)?$/.exec(l);
    if (tap) {
      const block = blockAfter(lines, i, /^\s*(?:not )?ok \d+ /);
      const f: Failure = { name: tap[1] ?? "" };
      const msg = tapError(block);
      if (msg) f.message = msg;
      const loc = /^\s*location:\s*'?(.+?):(\d+):\d+'?\s*$/m.exec(block);
      const file = loc ? toRepoPath(loc[1] ?? "", cwd) : undefined;
      if (loc && file) {
        f.file = file;
        f.line = Number(loc[2]);
      }
      // The stack points at the failing assertion, `location` only at the test's declaration.
      const frame = findSourceLocation(block.replace(/^\s*location:.*$/m, ""), cwd, file);
      if (frame && (!file || frame.file === file)) {
        f.file = frame.file;
        f.line = frame.line;
      }
      result.failures.push(f);
      return;
    }
    // spec: "✖ name (1.2ms)" followed by the error and its stack.
    const spec = /^\s*✖\s+(.+?)\s+\([\d.]+m?s\)\s*$/.exec(l);
    if (spec) {
      const block = blockAfter(lines, i, /^\s*[✖✔﹣]\s|^\s*ℹ\s/);
      const f: Failure = { name: spec[1] ?? "" };
      const msg = firstMessageLine(block);
      if (msg) f.message = msg;
      result.failures.push(withLocation(f, block, cwd));
    }
  });
  return result;
}

/** The `error:` field of a TAP YAML block, inline or as a block scalar (`|-`). */
function tapError(block: string): string | undefined {
  const lines = block.split("\n");
  const i = lines.findIndex((l) => /^\s*error:/.test(l));
  if (i === -1) return undefined;
  const inline = (lines[i] ?? "").replace(/^\s*error:\s*/, "");
  if (!/^[|>][-+]?$/.test(inline)) return truncate(inline.replace(/^'|'$/g, ""), 500);
  const indent = (lines[i] ?? "").search(/\S/);
  const body: string[] = [];
  for (const l of lines.slice(i + 1)) {
    if (l.trim() !== "" && l.search(/\S/) <= indent) break;
    body.push(l.trim());
  }
  const text = body.join("\n").trim();
  return text ? truncate(text.split("\n")[0] ?? text, 500) : undefined;
}
