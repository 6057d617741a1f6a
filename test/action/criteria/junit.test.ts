import { describe, expect, it } from "vitest";
import { mergeTests, parseJunit } from "../../../action/src/criteria/junit.js";
import { decodeEntities, parseXml } from "../../../action/src/criteria/xml.js";
import { fixture } from "./fixtures.js";

describe("parseXml", () => {
  it("reads elements, attributes, entities and CDATA, skipping prolog and comments", () => {
    const doc = parseXml(
      `<?xml version="1.0"?><!-- c --><a x="1 &amp; 2" y='q"'><b/><c>t &lt;x&gt;<![CDATA[<raw>]]></c></a>`,
    );
    const a = doc.children[0];
    expect(a?.name).toBe("a");
    expect(a?.attrs).toEqual({ x: "1 & 2", y: 'q"' });
    expect(a?.children.map((c) => c.name)).toEqual(["b", "c"]);
    expect(a?.children[1]?.text).toBe("t <x><raw>");
  });

  it("tolerates truncated documents and '>' inside attribute values", () => {
    const doc = parseXml(`<testsuite name="a > b"><testcase name="x"><failure message="boom">trace`);
    const suite = doc.children[0];
    expect(suite?.attrs.name).toBe("a > b");
    expect(suite?.children[0]?.children[0]?.text).toBe("trace");
  });

  it("decodes numeric entities and leaves unknown ones", () => {
    expect(decodeEntities("&#65;&#x42;&nbsp;")).toBe("AB&nbsp;");
  });
});

describe("parseJunit", () => {
  it("counts a vitest report and locates the failure from the stack", () => {
    const r = parseJunit(fixture("junit/vitest.xml"), "/tmp/h7vt");
    expect(r).toMatchObject({ passed: 2, failed: 1, skipped: 1 });
    expect(r?.failures).toEqual([
      expect.objectContaining({
        name: "test/math.test.ts › math > subtracts",
        file: "test/math.test.ts",
        line: 7,
        message: expect.stringContaining("expected 3 to be 4"),
      }),
    ]);
  });

  it("reads pytest's report (failure location in the body)", () => {
    const r = parseJunit(fixture("junit/pytest.xml"), "/project");
    expect(r).toMatchObject({ passed: 1, failed: 1, skipped: 1 });
    expect(r?.failures[0]).toMatchObject({
      name: "tests.test_math › test_sub",
      file: "tests/test_math.py",
      line: 7,
    });
  });

  it("reads node:test's report with file:// stack frames", () => {
    const r = parseJunit(fixture("junit/node-test.xml"), "/project");
    expect(r).toMatchObject({ passed: 1, failed: 1 });
    expect(r?.failures[0]).toMatchObject({ name: "test › subtracts", file: "test/math.test.mjs", line: 7 });
  });

  it("prefers file and line attributes, counts <error> as a failure", () => {
    const r = parseJunit(
      `<testsuite tests="2"><testcase name="a" file="/repo/src/a.test.js" line="12"><error message="TypeError: x">stack</error></testcase><testcase name="b"/></testsuite>`,
      "/repo",
    );
    expect(r).toEqual({
      passed: 1,
      failed: 1,
      skipped: 0,
      failures: [{ name: "a", file: "src/a.test.js", line: 12, message: "TypeError: x\nstack" }],
    });
  });

  it("falls back to suite attributes without test cases, without double counting nested suites", () => {
    expect(
      parseJunit(
        `<testsuites tests="5" failures="1" errors="1" skipped="1"><testsuite tests="5"/></testsuites>`,
      ),
    ).toMatchObject({ passed: 2, failed: 2, skipped: 1 });
    expect(
      parseJunit(
        `<testsuites><testsuite tests="3" failures="1"/><testsuite tests="2" skipped="1"/></testsuites>`,
      ),
    ).toMatchObject({ passed: 3, failed: 1, skipped: 1 });
  });

  it("rejects documents that are not JUnit reports", () => {
    expect(parseJunit(`<coverage line-rate="1"/>`)).toBeUndefined();
    expect(parseJunit("not xml at all")).toBeUndefined();
  });

  it("merges reports", () => {
    const a = { passed: 1, failed: 1, skipped: 0, failures: [{ name: "x" }] };
    const b = { passed: 2, failed: 0, skipped: 3, failures: [] };
    expect(mergeTests([a, b])).toEqual({ passed: 3, failed: 1, skipped: 3, failures: [{ name: "x" }] });
  });
});
