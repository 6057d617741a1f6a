import { readFile } from "node:fs/promises";
import path from "node:path";
import type { CoverageResult } from "../../../src/core/result.js";
import { COVERAGE_CANDIDATES, parseCoverageReport } from "./coverage.js";

export type CoverageRead =
  { ok: true; file: string; coverage: CoverageResult } | { ok: false; error: string };

/**
 * Reads the configured coverage report, or the first of lcov, Istanbul summary and Cobertura
 * found at their usual paths.
 */
export async function readCoverage(cwd: string, coverageFile?: string): Promise<CoverageRead> {
  const candidates = coverageFile ? [coverageFile] : [...COVERAGE_CANDIDATES];
  for (const rel of candidates) {
    let text: string;
    try {
      text = await readFile(path.resolve(cwd, rel), "utf8");
    } catch {
      continue;
    }
    const parsed = parseCoverageReport(rel, text);
    if (!parsed.ok) return { ok: false, error: `${rel}: ${parsed.error}` };
    return { ok: true, file: rel, coverage: parsed.coverage };
  }
  return {
    ok: false,
    error: coverageFile
      ? `no coverage report at ${coverageFile}`
      : `no coverage report found (looked for ${candidates.join(", ")})`,
  };
}
