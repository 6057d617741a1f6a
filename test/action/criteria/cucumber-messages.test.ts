import type { Envelope } from "@cucumber/messages";
import { describe, expect, it } from "vitest";
import { parseMessageStream, scenariosFromMessages } from "../../../action/src/criteria/cucumber-messages.js";
import { fixture } from "./fixtures.js";

describe("scenariosFromMessages", () => {
  it("maps a real cucumber-js run to scenario results with the failing step", () => {
    const r = scenariosFromMessages(parseMessageStream(fixture("cucumber/run.ndjson")), "/project");
    expect(r.finished).toBe(true);
    expect(r.runError).toBeUndefined();
    expect(r.scenarios.map((s) => [s.name, s.line, s.status, s.allStepsDefined])).toEqual([
      ["add", 5, "passed", true],
      ["broken", 9, "failed", true],
      ["missing", 13, "undefined", false],
      ["many (example 1)", 21, "passed", true],
      ["many (example 2)", 22, "failed", true],
      ["pend", 24, "pending", true],
    ]);
    const broken = r.scenarios[1];
    expect(broken).toMatchObject({ feature: "Calc", file: "features/a.feature" });
    expect(broken?.failedStep).toMatchObject({
      text: "the result is 4",
      line: 11,
      message: expect.stringContaining("3 !== 4"),
    });
    expect(r.scenarios[4]?.failedStep).toMatchObject({ text: "the result is 5", line: 18 });
    expect(r.undefinedSteps).toEqual([
      expect.objectContaining({
        file: "features/a.feature",
        line: 14,
        text: "I frobnicate",
        snippet: expect.stringContaining("When('I frobnicate'"),
      }),
    ]);
    expect(r.pendingSteps).toEqual([
      { file: "features/a.feature", line: 25, text: "I wait", scenario: "pend" },
    ]);
  });

  it("derives step coverage from a dry run (defined steps are skipped, not executed)", () => {
    const r = scenariosFromMessages(parseMessageStream(fixture("cucumber/dry-run.ndjson")));
    expect(r.scenarios.map((s) => [s.status, s.allStepsDefined])).toEqual([
      ["skipped", true],
      ["skipped", true],
      ["undefined", false],
      ["skipped", true],
      ["skipped", true],
      ["skipped", true],
    ]);
  });

  it("uses the final attempt of a retried scenario", () => {
    const envelopes = parseMessageStream(fixture("cucumber/run.ndjson"));
    // Replay the "broken" scenario as attempt 0 (failed, retried) and attempt 1 (passed).
    const tc = envelopes.find(
      (e) =>
        e.testCase &&
        envelopes.some((p) => p.pickle?.name === "broken" && p.pickle.id === e.testCase?.pickleId),
    )?.testCase;
    expect(tc).toBeDefined();
    const ts = { seconds: 0, nanos: 0 };
    const retry: Envelope[] = [
      { testCaseStarted: { id: "r0", testCaseId: tc!.id, attempt: 0, timestamp: ts } },
      ...tc!.testSteps.map((s, i) => ({
        testStepFinished: {
          testCaseStartedId: "r0",
          testStepId: s.id,
          testStepResult: {
            status: (i === 2 ? "FAILED" : "PASSED") as never,
            duration: ts,
            message: "flaky",
          },
          timestamp: ts,
        },
      })),
      { testCaseFinished: { testCaseStartedId: "r0", willBeRetried: true, timestamp: ts } },
      { testCaseStarted: { id: "r1", testCaseId: tc!.id, attempt: 1, timestamp: ts } },
      ...tc!.testSteps.map((s) => ({
        testStepFinished: {
          testCaseStartedId: "r1",
          testStepId: s.id,
          testStepResult: { status: "PASSED" as never, duration: ts },
          timestamp: ts,
        },
      })),
      { testCaseFinished: { testCaseStartedId: "r1", willBeRetried: false, timestamp: ts } },
    ];
    const withoutOriginalRun = envelopes.filter(
      (e) => !e.testCaseStarted && !e.testStepFinished && !e.testCaseFinished,
    );
    const r = scenariosFromMessages([...withoutOriginalRun, ...retry]);
    expect(r.scenarios.find((s) => s.name === "broken")?.status).toBe("passed");
    // Scenarios that never started are reported as skipped.
    expect(r.scenarios.find((s) => s.name === "add")?.status).toBe("skipped");
  });

  it("reports a failed run and a failing hook", () => {
    const envelopes = parseMessageStream(fixture("cucumber/run.ndjson"));
    const add = envelopes.find((e) => e.pickle?.name === "add")?.pickle;
    const ts = { seconds: 0, nanos: 0 };
    const r = scenariosFromMessages([
      ...envelopes.filter((e) => e.gherkinDocument || e.pickle?.name === "add"),
      {
        hook: {
          id: "h1",
          type: "BEFORE_TEST_CASE" as never,
          sourceReference: { uri: "features/support/hooks.mjs", location: { line: 3 } },
        },
      },
      {
        testCase: {
          id: "tc",
          pickleId: add!.id,
          testSteps: [
            { id: "s0", hookId: "h1" },
            { id: "s1", pickleStepId: add!.steps[0]!.id, stepDefinitionIds: ["d"] },
          ],
        },
      },
      { testCaseStarted: { id: "c", testCaseId: "tc", attempt: 0, timestamp: ts } },
      {
        testStepFinished: {
          testCaseStartedId: "c",
          testStepId: "s0",
          testStepResult: {
            status: "FAILED" as never,
            duration: ts,
            exception: { type: "Error", message: "db down" },
          },
          timestamp: ts,
        },
      },
      {
        testStepFinished: {
          testCaseStartedId: "c",
          testStepId: "s1",
          testStepResult: { status: "SKIPPED" as never, duration: ts },
          timestamp: ts,
        },
      },
      { testCaseFinished: { testCaseStartedId: "c", willBeRetried: false, timestamp: ts } },
      {
        testRunFinished: {
          success: false,
          timestamp: ts,
          exception: { type: "Error", message: "AfterAll failed" },
        },
      },
    ]);
    expect(r.runError).toBe("AfterAll failed");
    expect(r.scenarios).toEqual([
      expect.objectContaining({
        name: "add",
        status: "failed",
        failedStep: { text: "Before hook (features/support/hooks.mjs:3)", line: 5, message: "db down" },
      }),
    ]);
  });

  it("skips unreadable lines of a truncated stream", () => {
    const text = fixture("cucumber/run.ndjson");
    const cut = text.slice(0, text.indexOf('"testRunFinished"') - 5);
    const envelopes = parseMessageStream(`${cut}\n{"broken`);
    const r = scenariosFromMessages(envelopes);
    expect(r.finished).toBe(false);
    expect(r.scenarios).toHaveLength(6);
  });
});
