import { describe, expect, it } from "vitest";
import {
  failureAnnotation,
  findSourceLocation,
  formatPct,
  stripAnsi,
  toRepoPath,
  truncate,
} from "../../../action/src/criteria/text.js";

describe("text helpers", () => {
  it("maps paths into the repository, refusing those outside it", () => {
    expect(toRepoPath("/repo/src/a.ts", "/repo")).toBe("src/a.ts");
    expect(toRepoPath("file:///repo/src/a.ts", "/repo")).toBe("src/a.ts");
    expect(toRepoPath("./src/a.ts", "/repo")).toBe("src/a.ts");
    expect(toRepoPath("/elsewhere/a.ts", "/repo")).toBeUndefined();
    expect(toRepoPath("/repo/a.ts")).toBeUndefined();
    expect(toRepoPath("../a.ts", "/repo")).toBeUndefined();
  });

  it("finds the first project frame of a stack trace", () => {
    const stack = [
      "Error: boom",
      "    at assert (node:internal/assert:12:3)",
      "    at helper (/repo/node_modules/lib/index.js:5:1)",
      "    at Object.<anonymous> (/repo/test/a.test.js:42:7)",
      "    at other (/repo/src/b.js:3:1)",
    ].join("\n");
    expect(findSourceLocation(stack, "/repo")).toEqual({ file: "test/a.test.js", line: 42 });
    expect(findSourceLocation(stack, "/repo", "src/b.js")).toEqual({ file: "src/b.js", line: 3 });
    expect(findSourceLocation("no locations here", "/repo")).toBeUndefined();
  });

  it("formats percentages and trims text", () => {
    expect([formatPct(72.4), formatPct(80), formatPct(79.956), formatPct(66.666)]).toEqual([
      "72.4",
      "80",
      "79.96",
      "66.67",
    ]);
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(stripAnsi("\u001b[31mred\u001b[39m")).toBe("red");
  });

  it("builds annotations with bounded titles and messages", () => {
    const a = failureAnnotation("a.ts", 0, "t".repeat(300), "m".repeat(5000));
    expect(a.start_line).toBe(1);
    expect(a.title).toHaveLength(255);
    expect(a.message).toHaveLength(4000);
    expect(failureAnnotation("a.ts", 3, "title", "  ").message).toBe("title");
  });
});
