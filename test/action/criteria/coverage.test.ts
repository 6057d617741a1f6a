import { describe, expect, it } from "vitest";
import {
  parseCobertura,
  parseCoverageReport,
  parseIstanbulSummary,
  parseLcov,
} from "../../../action/src/criteria/coverage.js";
import { fixture } from "./fixtures.js";

describe("coverage parsers", () => {
  it("sums lcov records", () => {
    expect(parseLcov(fixture("coverage/lcov.info"))).toEqual({
      ok: true,
      coverage: { source: "lcov", lines: 80, branches: 50, functions: 66.67 },
    });
  });

  it("rejects an lcov file without records", () => {
    expect(parseLcov("hello")).toEqual({ ok: false, error: "not an lcov tracefile (no records)" });
    expect(parseLcov("SF:a.ts\nLF:0\nLH:0\nend_of_record\n")).toMatchObject({
      ok: false,
      error: /no instrumented lines/,
    });
  });

  it("reads the Istanbul summary total, leaving out metrics with nothing to cover", () => {
    expect(parseIstanbulSummary(fixture("coverage/coverage-summary.json"))).toEqual({
      ok: true,
      coverage: { source: "istanbul", lines: 72.4, functions: 75 },
    });
    expect(parseIstanbulSummary("{")).toMatchObject({ ok: false, error: /not valid JSON/ });
    expect(parseIstanbulSummary("{}")).toMatchObject({ ok: false, error: /no "total"/ });
  });

  it("reads Istanbul's Cobertura report with method coverage", () => {
    expect(parseCobertura(fixture("coverage/cobertura-coverage.xml"))).toEqual({
      ok: true,
      coverage: { source: "cobertura", lines: 90, branches: 75, functions: 66.67 },
    });
  });

  it("reads coverage.py's XML, counting line elements when totals are missing", () => {
    expect(parseCobertura(fixture("coverage/coverage-py.xml"))).toEqual({
      ok: true,
      coverage: { source: "cobertura", lines: 83.33 },
    });
    expect(parseCobertura(`<coverage line-rate="0.5"/>`)).toEqual({
      ok: true,
      coverage: { source: "cobertura", lines: 50 },
    });
    expect(parseCobertura("<report/>")).toMatchObject({ ok: false });
  });

  it("picks the parser by file name, then by content", () => {
    expect(parseCoverageReport("x/lcov.info", fixture("coverage/lcov.info"))).toMatchObject({
      coverage: { source: "lcov" },
    });
    expect(parseCoverageReport("report", fixture("coverage/coverage-summary.json"))).toMatchObject({
      coverage: { source: "istanbul" },
    });
    expect(parseCoverageReport("report", fixture("coverage/cobertura-coverage.xml"))).toMatchObject({
      coverage: { source: "cobertura" },
    });
  });
});
