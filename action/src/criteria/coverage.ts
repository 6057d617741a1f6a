import type { CoverageResult } from "../../../src/core/result.js";
import { round2 } from "./text.js";
import { descendants, parseXml } from "./xml.js";

export type CoverageParse = { ok: true; coverage: CoverageResult } | { ok: false; error: string };

export type CoverageFormat = CoverageResult["source"];

const pct = (covered: number, total: number): number | undefined =>
  total > 0 ? round2((Math.min(covered, total) / total) * 100) : undefined;

function finish(
  source: CoverageFormat,
  lines: number | undefined,
  branches: number | undefined,
  functions: number | undefined,
): CoverageParse {
  if (lines === undefined) return { ok: false, error: `the ${source} report has no instrumented lines` };
  const coverage: CoverageResult = { lines, source };
  if (branches !== undefined) coverage.branches = branches;
  if (functions !== undefined) coverage.functions = functions;
  return { ok: true, coverage };
}

/** lcov tracefile (`coverage/lcov.info`): sums LF/LH, BRF/BRH and FNF/FNH over all records. */
export function parseLcov(text: string): CoverageParse {
  const t = { LF: 0, LH: 0, BRF: 0, BRH: 0, FNF: 0, FNH: 0 };
  let records = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "end_of_record") records++;
    const m = /^(LF|LH|BRF|BRH|FNF|FNH):(\d+)$/.exec(line);
    if (m) t[m[1] as keyof typeof t] += Number(m[2]);
  }
  if (records === 0 && t.LF === 0) return { ok: false, error: "not an lcov tracefile (no records)" };
  return finish("lcov", pct(t.LH, t.LF), pct(t.BRH, t.BRF), pct(t.FNH, t.FNF));
}

/** Istanbul `coverage-summary.json` (json-summary reporter): the `total` entry. */
export function parseIstanbulSummary(text: string): CoverageParse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `coverage-summary.json is not valid JSON: ${(e as Error).message}` };
  }
  const total = (json as { total?: Record<string, unknown> } | null)?.total;
  if (!total || typeof total !== "object")
    return { ok: false, error: 'coverage-summary.json has no "total" entry' };
  const metric = (key: string): number | undefined => {
    const m = total[key] as { total?: unknown; covered?: unknown; pct?: unknown } | undefined;
    if (!m || typeof m !== "object") return undefined;
    if (typeof m.total === "number" && typeof m.covered === "number") return pct(m.covered, m.total);
    return typeof m.pct === "number" ? round2(m.pct) : undefined; // "Unknown" when nothing to cover
  };
  return finish("istanbul", metric("lines"), metric("branches"), metric("functions"));
}

/** Cobertura XML (`cobertura-coverage.xml`, coverage.py's `coverage.xml`). */
export function parseCobertura(text: string): CoverageParse {
  const doc = parseXml(text);
  const root = doc.children.find((c) => c.name === "coverage");
  if (!root) return { ok: false, error: "not a Cobertura report (no <coverage> element)" };
  const a = root.attrs;
  const lines =
    a["lines-valid"] !== undefined && a["lines-covered"] !== undefined
      ? pct(Number(a["lines-covered"]), Number(a["lines-valid"]))
      : rate(a["line-rate"]);
  const branches =
    a["branches-valid"] !== undefined && a["branches-covered"] !== undefined
      ? pct(Number(a["branches-covered"]), Number(a["branches-valid"]))
      : rate(a["branch-rate"]);
  // Cobertura has no function totals; a method counts as covered when any of its lines ran.
  const methods = descendants(root, "method");
  const hit = methods.filter(
    (m) => descendants(m, "line").some((l) => Number(l.attrs.hits) > 0) || Number(m.attrs["line-rate"]) > 0,
  ).length;
  const linesFromElements = lines ?? linesFromLineElements(root);
  return finish("cobertura", linesFromElements, branches, pct(hit, methods.length));
}

function rate(s: string | undefined): number | undefined {
  if (s === undefined || s === "") return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? round2(n * 100) : undefined;
}

function linesFromLineElements(root: ReturnType<typeof parseXml>): number | undefined {
  // Count each file's lines once: <class><lines><line> (methods repeat them).
  const lines = descendants(root, "class").flatMap((c) =>
    c.children.filter((x) => x.name === "lines").flatMap((x) => x.children.filter((l) => l.name === "line")),
  );
  return pct(lines.filter((l) => Number(l.attrs.hits) > 0).length, lines.length);
}

/** Picks the parser from the file name, then from the content. */
export function parseCoverageReport(fileName: string, text: string): CoverageParse {
  const lower = fileName.toLowerCase();
  if (lower.endsWith(".json")) return parseIstanbulSummary(text);
  if (lower.endsWith(".xml")) return parseCobertura(text);
  if (lower.endsWith(".info") || lower.endsWith(".lcov")) return parseLcov(text);
  const head = text.trimStart();
  if (head.startsWith("{")) return parseIstanbulSummary(text);
  if (head.startsWith("<")) return parseCobertura(text);
  return parseLcov(text);
}

/** Where coverage reports are looked for, in order, when none is configured. */
export const COVERAGE_CANDIDATES = [
  "coverage/lcov.info",
  "coverage/coverage-summary.json",
  "coverage/cobertura-coverage.xml",
  "coverage.xml",
] as const;
