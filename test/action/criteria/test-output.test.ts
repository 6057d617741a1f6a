import { describe, expect, it } from "vitest";
import { parseTestOutput } from "../../../action/src/criteria/test-output.js";
import { fixture } from "./fixtures.js";

describe("parseTestOutput", () => {
  it("reads vitest's summary (with colours) and the failing test's location", () => {
    const r = parseTestOutput(fixture("output/vitest.txt"), "/tmp/h7vt");
    expect(r).toMatchObject({ framework: "vitest", passed: 2, failed: 1, skipped: 1 });
    expect(r?.failures).toEqual([
      {
        name: "test/math.test.ts > math > subtracts",
        file: "test/math.test.ts",
        line: 7,
        message: "AssertionError: expected 3 to be 4 // Object.is equality",
      },
    ]);
  });

  it("reads jest's summary and failure blocks", () => {
    const r = parseTestOutput(fixture("output/jest.txt"));
    expect(r).toMatchObject({ framework: "jest", passed: 2, failed: 1, skipped: 1 });
    expect(r?.failures).toEqual([
      {
        name: "math › subtracts",
        file: "test/math.test.js",
        line: 7,
        message: "expect(received).toBe(expected) // Object.is equality",
      },
    ]);
  });

  it("reads mocha's passing/pending/failing lines and multi-line titles", () => {
    const r = parseTestOutput(fixture("output/mocha.txt"), "/project");
    expect(r).toMatchObject({ framework: "mocha", passed: 1, failed: 1, skipped: 1 });
    expect(r?.failures).toEqual([
      {
        name: "math › subtracts",
        file: "test/math.test.mjs",
        line: 7,
        message: "AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:",
      },
    ]);
  });

  it("reads node:test's TAP output, locating the failing assertion rather than the declaration", () => {
    const r = parseTestOutput(fixture("output/node-test-tap.txt"), "/project");
    expect(r).toMatchObject({ framework: "node:test", passed: 1, failed: 1, skipped: 1 });
    expect(r?.failures).toEqual([
      {
        name: "subtracts",
        file: "test/math.test.mjs",
        line: 7,
        message: "Expected values to be strictly equal:",
      },
    ]);
  });

  it("reads node:test's spec output once per failing test", () => {
    const r = parseTestOutput(fixture("output/node-test-spec.txt"), "/project");
    expect(r).toMatchObject({ framework: "node:test", passed: 1, failed: 1, skipped: 1 });
    expect(r?.failures).toEqual([
      expect.objectContaining({ name: "subtracts", file: "test/math.test.mjs", line: 7 }),
    ]);
  });

  it("reads pytest's summary and short test summary", () => {
    const r = parseTestOutput(fixture("output/pytest.txt"), "/project");
    expect(r).toMatchObject({ framework: "pytest", passed: 1, failed: 1, skipped: 1 });
    expect(r?.failures).toEqual([
      {
        name: "tests/test_math.py::test_sub",
        file: "tests/test_math.py",
        line: 7,
        message: "assert (5 - 2) == 4",
      },
    ]);
  });

  it("counts pytest errors as failures and the last summary wins", () => {
    const out = [
      "==== 3 failed in 1.00s ====",
      "rerun",
      "==================== 1 failed, 4 passed, 1 error, 2 xfailed in 0.50s ====================",
    ].join("\n");
    expect(parseTestOutput(out)).toMatchObject({ passed: 4, failed: 2, skipped: 2 });
  });

  it("returns undefined for output without a known summary", () => {
    expect(parseTestOutput("compiling...\nall good\n")).toBeUndefined();
    expect(parseTestOutput("")).toBeUndefined();
  });

  it("does not mistake vitest's 'Test Files' line for the test counts", () => {
    const out = " Test Files  2 failed | 5 passed (7)\n      Tests  3 failed | 40 passed (43)\n";
    expect(parseTestOutput(out)).toMatchObject({ framework: "vitest", passed: 40, failed: 3, skipped: 0 });
  });
});
