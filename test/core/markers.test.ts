import { describe, expect, it } from "vitest";
import { marker, readMarker, runIdFromBody } from "../../src/core/markers.js";

describe("hidden markers", () => {
  it("round-trip names and values", () => {
    expect(marker("status")).toBe("<!-- trellis:status -->");
    expect(readMarker(`hello\n${marker("status")}`, "status")).toBe("");
    expect(readMarker(`x ${marker("run", "run_1a")} y`, "run")).toBe("run_1a");
    expect(runIdFromBody(`Closes #4\n${marker("run", "run_42")}`)).toBe("run_42");
  });

  it("do not confuse one marker for another", () => {
    expect(readMarker(marker("status"), "stat")).toBeUndefined();
    expect(readMarker(marker("run", "a"), "status")).toBeUndefined();
    expect(runIdFromBody(null)).toBeUndefined();
    expect(runIdFromBody(marker("run"))).toBeUndefined();
  });

  it("refuse names and values that would not parse back (or could close the HTML comment)", () => {
    expect(() => marker("Bad Name")).toThrow(/invalid marker name/);
    expect(() => marker("run", "x -->")).toThrow(/invalid marker value/);
  });
});
