import { describe, expect, it } from "vitest";
import { MAX_TEXT_CHARS } from "../../src/handlers/events.js";
import { toDomainEvent } from "../../src/handlers/issue-comment.js";
import { examplePayload, examplePayloads } from "../support/webhooks.js";

describe("issue_comment handler", () => {
  it("turns every real issue_comment.created example into comment_created", () => {
    const payloads = examplePayloads("issue_comment", "created");
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads) {
      const event = toDomainEvent(payload, "d");
      expect(event).toMatchObject({
        kind: "comment_created",
        repo: { owner: payload.repository.owner.login, name: payload.repository.name },
        issue: { number: payload.issue.number },
        comment: {
          id: payload.comment.id,
          body: payload.comment.body,
          authorAssociation: "OWNER",
          truncated: false,
        },
      });
    }
  });

  it("carries a slash command from a human on a pull request", () => {
    const payload = examplePayload("issue_comment", "created", {
      comment: { body: "/retry dev\nplease" },
      issue: { pull_request: { url: "https://api.github.com/repos/Codertocat/Hello-World/pulls/1" } },
      installation: { id: 7, node_id: "x" },
    });
    const event = toDomainEvent(payload, "d-9");
    expect(event).toMatchObject({
      kind: "comment_created",
      deliveryId: "d-9",
      installationId: 7,
      actor: { login: payload.sender.login, isBot: false, isSelf: false },
      issue: { isPullRequest: true },
      comment: { body: "/retry dev\nplease", author: { login: payload.comment.user?.login, isBot: false } },
    });
  });

  it("marks comments by bots", () => {
    const payload = examplePayload("issue_comment", "created", {
      sender: { login: "github-actions[bot]", type: "Bot" },
      comment: { user: { login: "github-actions[bot]", type: "Bot" } },
    });
    const event = toDomainEvent(payload, "d");
    expect(event?.actor).toMatchObject({ isBot: true, isSelf: false });
    expect(event?.kind === "comment_created" && event.comment.author.isBot).toBe(true);
  });

  it("marks the App's own comments, by app id or by bot login", () => {
    const viaApp = examplePayload("issue_comment", "created", {
      sender: { login: "trellis[bot]", type: "Bot" },
      comment: { user: { login: "trellis[bot]", type: "Bot" }, performed_via_github_app: { id: 321 } },
    });
    const byId = toDomainEvent(viaApp, "d", { id: 321 });
    expect(byId?.actor.isSelf).toBe(true);
    expect(byId?.kind === "comment_created" && byId.comment.viaAppId).toBe(321);
    expect(toDomainEvent(viaApp, "d", { id: 999 })?.actor.isSelf).toBe(false);
    expect(toDomainEvent(viaApp, "d", { slug: "trellis" })?.actor.isSelf).toBe(true);
  });

  it("bounds huge comment bodies and says so", () => {
    const huge = "/run\n" + "A".repeat(1_000_000);
    const event = toDomainEvent(examplePayload("issue_comment", "created", { comment: { body: huge } }), "d");
    if (event?.kind !== "comment_created") throw new Error("expected comment_created");
    expect(event.comment.body.length).toBe(MAX_TEXT_CHARS);
    expect(event.comment.body.startsWith("/run\n")).toBe(true);
    expect(event.comment.truncated).toBe(true);
  });

  it("ignores edited and deleted comments", () => {
    expect(toDomainEvent(examplePayload("issue_comment", "edited"), "d")).toBeUndefined();
    expect(toDomainEvent(examplePayload("issue_comment", "deleted"), "d")).toBeUndefined();
  });
});
