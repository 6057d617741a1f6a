import { Octokit } from "@octokit/rest";
import { RequestError } from "@octokit/request-error";
import { describe, expect, expectTypeOf, it } from "vitest";
import { boundBody, isTransient, type GitHub } from "../../src/github/client.js";

const error = (status: number, headers: Record<string, string> = {}, message = "x") =>
  new RequestError(message, status, {
    request: { method: "GET", url: "https://api.github.com/x", headers: {} },
    response: { status, url: "https://api.github.com/x", headers, data: {} },
  });

describe("the GitHub client type", () => {
  it("accepts @octokit/rest's Octokit as well as Probot's", () => {
    expectTypeOf(new Octokit()).toExtend<GitHub>();
  });
});

describe("isTransient", () => {
  it("retries server errors, rate limits and network failures, not client errors", () => {
    expect(isTransient(error(502))).toBe(true);
    expect(isTransient(error(429))).toBe(true);
    expect(isTransient(error(403, { "x-ratelimit-remaining": "0" }))).toBe(true);
    expect(isTransient(error(403, {}, "You have exceeded a secondary rate limit"))).toBe(true);
    expect(isTransient(new TypeError("fetch failed"))).toBe(true);
    expect(isTransient(error(403, {}, "Resource not accessible by integration"))).toBe(false);
    expect(isTransient(error(404))).toBe(false);
    expect(isTransient(error(422))).toBe(false);
  });
});

describe("boundBody", () => {
  it("cuts long bodies to GitHub's limit with a note", () => {
    expect(boundBody("short")).toBe("short");
    const cut = boundBody("z".repeat(70_000));
    expect(cut.length).toBe(65_536);
    expect(cut.endsWith("(truncated)")).toBe(true);
  });

  it("never cuts an emoji in half", () => {
    // 65,536 − 15 (the note) = 65,521 units: an odd count, which would end inside a two-unit emoji.
    const cut = boundBody("🌱".repeat(40_000));
    expect(cut.length).toBeLessThanOrEqual(65_536);
    expect(cut.endsWith("🌱\n\n… (truncated)")).toBe(true);
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(cut)).toBe(false);
  });
});

describe("text at the door", () => {
  it("masks credential shapes in every body the App writes, whoever wrote it", () => {
    const key = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
    expect(boundBody(`see ${key}`)).toBe("see [REDACTED]");
    expect(boundBody(`${key} ${"x".repeat(70_000)}`, 100)).not.toContain(key);
  });
});
