import { describe, expect, it } from "vitest";
import { configErrorReply } from "../../src/core/config-error.js";
import type { DomainEvent } from "../../src/core/events.js";
import * as issues from "../../src/handlers/issues.js";
import { examplePayload } from "../support/webhooks.js";

const labeled = (sender: Record<string, unknown> = {}): DomainEvent =>
  issues.toDomainEvent(examplePayload("issues", "labeled", { label: { name: "agent:dev" }, sender }), "d1")!;
const ERRORS = [".github/trellis.yml:1:1: error dry_run: expected `boolean`"];

describe("configErrorReply", () => {
  it("answers a human who asked for something on an issue, once per issue and set of errors", () => {
    const reply = configErrorReply(labeled(), 1, ERRORS);
    expect(reply).toEqual({
      type: "reply",
      key: expect.stringMatching(/^config-error:1:[0-9a-z]+$/),
      body:
        "Trellis can't act: `.github/trellis.yml` (or a profile or template) is invalid.\n\n" +
        "- `.github/trellis.yml:1:1: error dry_run: expected 'boolean'`\n\n" +
        "Fix the file and try again; `npx trellis validate` checks it locally.",
    });
    expect(configErrorReply(labeled(), 1, ERRORS)?.key).toBe(reply?.key);
    expect(configErrorReply(labeled(), 1, ["another error"])?.key).not.toBe(reply?.key);
  });

  it("says nothing to a bot, without an issue, or for an event that asked for nothing", () => {
    expect(configErrorReply(labeled({ login: "ci[bot]", type: "Bot" }), 1, ERRORS)).toBeUndefined();
    expect(configErrorReply(labeled(), undefined, ERRORS)).toBeUndefined();
    expect(
      configErrorReply({ ...labeled(), kind: "label_removed" } as DomainEvent, 1, ERRORS),
    ).toBeUndefined();
  });
});
