import { describe, expect, it } from "vitest";
import { parseFeature } from "../../../action/src/criteria/gherkin.js";
import { fixture } from "./fixtures.js";

describe("parseFeature", () => {
  it("lists scenarios with lines, expanding outlines per example row, background steps included", () => {
    const r = parseFeature(fixture("cucumber/calc.feature"), "features/calc.feature");
    expect(r.errors).toEqual([]);
    expect(r.scenarios.map((s) => [s.name, s.line])).toEqual([
      ["add", 5],
      ["broken", 9],
      ["missing", 13],
      ["many (example 1)", 21],
      ["many (example 2)", 22],
      ["pend", 24],
    ]);
    const outline = r.scenarios[4];
    expect(outline?.feature).toBe("Calc");
    expect(outline?.file).toBe("features/calc.feature");
    expect([...(outline?.steps.values() ?? [])]).toEqual([
      { text: "a calculator", line: 3 },
      { text: "I add 2 and 2", line: 17 },
      { text: "the result is 5", line: 18 },
    ]);
  });

  it("handles Rule blocks and other languages", () => {
    const text = [
      "Feature: Rules",
      "  Rule: one",
      "    Background:",
      "      Given setup",
      "    Scenario: inside",
      "      Then ok",
      "",
    ].join("\n");
    const r = parseFeature(text, "r.feature");
    expect(r.scenarios.map((s) => [s.name, s.line, [...s.steps.values()].map((x) => x.line)])).toEqual([
      ["inside", 5, [4, 6]],
    ]);
    const fr = parseFeature("# language: fr\nFonctionnalité: F\n  Scénario: S\n    Soit x\n", "fr.feature");
    expect(fr.scenarios.map((s) => s.name)).toEqual(["S"]);
  });

  it("returns syntax errors with their location instead of throwing", () => {
    const r = parseFeature("Feature: x\n  Scenario: a\n    Given b\n  oops\n", "bad.feature");
    expect(r.errors).toEqual([
      expect.objectContaining({
        file: "bad.feature",
        line: 4,
        column: 3,
        message: expect.stringContaining("got 'oops'"),
      }),
    ]);
  });
});
