import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Annotation } from "../../../src/core/result.js";

/** GitHub accepts 64 KB per annotation message; far less is readable. */
export const MAX_ANNOTATION_MESSAGE = 4000;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/** Percentages for humans: at most two decimals, no trailing zeros ("72.4", "80", "79.96"). */
export function formatPct(n: number): string {
  return String(Number(n.toFixed(2)));
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * A path as the repository knows it (relative, forward slashes), or undefined when it lies
 * outside `cwd` (annotations can only point into the repository).
 */
export function toRepoPath(file: string, cwd?: string): string | undefined {
  let p = file;
  if (p.startsWith("file://")) {
    try {
      p = fileURLToPath(p);
    } catch {
      return undefined;
    }
  }
  if (path.isAbsolute(p)) {
    if (!cwd) return undefined;
    const rel = path.relative(cwd, p);
    if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
    p = rel;
  }
  p = p.split(path.sep).join("/").replace(/^\.\//, "");
  if (p.startsWith("../")) return undefined;
  return p;
}

// `file:line[:col]`, optionally a file:// URL, as printed in stack traces and reporter output.
const LOCATION = /(file:\/\/[^\s():'"`]+|(?:[A-Za-z]:)?[^\s():'"`<>|❯›»]+\.[A-Za-z0-9]+):(\d+)(?::\d+)?/g;

/**
 * The first `file:line` in `text` that points into the project (not node_modules, not Node's
 * internals), e.g. the test file frame of a stack trace.
 */
export function findSourceLocation(
  text: string,
  cwd?: string,
  preferFile?: string,
): { file: string; line: number } | undefined {
  let first: { file: string; line: number } | undefined;
  for (const m of stripAnsi(text).matchAll(LOCATION)) {
    const raw = m[1] ?? "";
    const line = Number(m[2]);
    if (!Number.isInteger(line) || line < 1) continue;
    if (raw.includes("node_modules") || raw.startsWith("node:") || raw.includes("/node:")) continue;
    if (/^https?:/.test(raw)) continue;
    const file = toRepoPath(raw, cwd);
    if (!file) continue;
    if (!preferFile || file === preferFile) return { file, line };
    first ??= { file, line };
  }
  return first;
}

export function failureAnnotation(
  file: string,
  line: number,
  title: string,
  message: string,
  level: Annotation["annotation_level"] = "failure",
): Annotation {
  return {
    path: file,
    start_line: Math.max(1, line),
    end_line: Math.max(1, line),
    annotation_level: level,
    title: truncate(title, 255),
    message: truncate(message.trim() || title, MAX_ANNOTATION_MESSAGE),
  };
}
