import { utimes } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkTests, filesystemNow } from "../../../action/src/criteria/tests.js";
import { makeProject, removeProjects } from "./project.js";

afterAll(removeProjects);

const MATH = `import { test } from "node:test";
import assert from "node:assert/strict";
test("adds", () => {
  assert.equal(1 + 2, 3);
});
test("subtracts", () => {
  assert.equal(5 - 2, SUB);
});
`;

const project = (sub: number, extra: Record<string, string> = {}) =>
  makeProject({ "test/math.test.mjs": MATH.replace("SUB", String(sub)), ...extra });

const opts = { timeoutMs: 60_000 };

describe("checkTests", () => {
  it("passes a green node:test run and counts from its output", async () => {
    const cwd = await project(3);
    const r = await checkTests(cwd, "node --test --test-reporter=tap test/", opts);
    expect(r).toMatchObject({
      passed: true,
      detail: "2 passed, 0 failed",
      source: "output",
      annotations: [],
    });
    expect(r.tests).toEqual({ passed: 2, failed: 0, skipped: 0, failures: [] });
  });

  it("fails a red run with an annotation at the failing assertion", async () => {
    const cwd = await project(4);
    const r = await checkTests(cwd, "node --test --test-reporter=spec test/", opts);
    expect(r.passed).toBe(false);
    expect(r.detail).toBe("1 passed, 1 failed");
    expect(r.annotations).toEqual([
      expect.objectContaining({
        path: "test/math.test.mjs",
        start_line: 7,
        annotation_level: "failure",
        title: "Test failed: subtracts",
      }),
    ]);
  });

  it("prefers a JUnit report written during the run", async () => {
    const cwd = await project(4);
    const r = await checkTests(
      cwd,
      "mkdir -p test-results && node --test --test-reporter=junit --test-reporter-destination=test-results/junit.xml test/",
      opts,
    );
    expect(r.source).toBe("junit");
    expect(r.junitFiles).toEqual([path.join(cwd, "test-results/junit.xml")]);
    expect(r.tests).toMatchObject({ passed: 1, failed: 1 });
    expect(r.tests?.failures[0]).toMatchObject({
      name: "test › subtracts",
      file: "test/math.test.mjs",
      line: 7,
    });
    expect(r.annotations).toHaveLength(1);
  });

  it("follows the JUNIT_OUTPUT hint to a custom path", async () => {
    const cwd = await project(3);
    const r = await checkTests(
      cwd,
      'mkdir -p out && node --test --test-reporter=junit --test-reporter-destination="$JUNIT_OUTPUT" test/',
      { ...opts, env: { JUNIT_OUTPUT: "out/report.xml" } },
    );
    expect(r.source).toBe("junit");
    expect(r.junitFiles).toEqual([path.join(cwd, "out/report.xml")]);
    expect(r.passed).toBe(true);
  });

  it("ignores a stale JUnit report from an earlier run", async () => {
    const stale = `<testsuite><testcase name="old"><failure message="old"/></testcase></testsuite>`;
    const cwd = await project(3, { "junit.xml": stale });
    // An hour old on the clock that stamps files (the process's may be another: faketime, a skewed runner).
    const old = new Date((await filesystemNow()) - 3600_000);
    await utimes(path.join(cwd, "junit.xml"), old, old);
    const r = await checkTests(cwd, "node --test --test-reporter=tap test/", opts);
    expect(r.source).toBe("output");
    expect(r.passed).toBe(true);
  });

  it("fails on a non-zero exit even without counts, showing the output tail", async () => {
    const cwd = await project(3);
    const r = await checkTests(cwd, "echo 'Error: cannot find module x' >&2; exit 2", opts);
    expect(r.passed).toBe(false);
    expect(r.source).toBe("none");
    expect(r.detail).toContain("exited with code 2");
    expect(r.detail).toContain("cannot find module x");
  });

  it("passes on exit 0 without counts, and fails when counted tests failed despite exit 0", async () => {
    const cwd = await project(4);
    expect((await checkTests(cwd, "true", opts)).detail).toBe(
      "`true` exited with code 0 (no test counts found)",
    );
    const r = await checkTests(cwd, "node --test --test-reporter=tap test/ || true", opts);
    expect(r.passed).toBe(false);
    expect(r.detail).toBe("1 passed, 1 failed");
  });

  it("fails when no tests ran", async () => {
    const cwd = await project(3);
    const r = await checkTests(cwd, "echo '# pass 0'; echo '# fail 0'", opts);
    expect(r.passed).toBe(false);
    expect(r.detail).toContain("no tests ran");
  });

  it("fails with a clear detail on timeout", async () => {
    const cwd = await project(3);
    const r = await checkTests(cwd, "sleep 20", { timeoutMs: 500 });
    expect(r.passed).toBe(false);
    expect(r.detail).toBe("`sleep 20` timed out after 1 s");
  });
});
