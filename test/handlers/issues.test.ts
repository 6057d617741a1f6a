import { describe, expect, it } from "vitest";
import { MAX_TEXT_CHARS } from "../../src/handlers/events.js";
import { toDomainEvent } from "../../src/handlers/issues.js";
import { examplePayload, examplePayloadAs } from "../support/webhooks.js";

describe("issues handler", () => {
  it("turns issues.labeled into label_added with the repo, issue, label and sender", () => {
    const payload = examplePayload("issues", "labeled", {
      label: { name: "agent:dev" },
      installation: { id: 42, node_id: "x" },
    });
    expect(toDomainEvent(payload, "d-1")).toEqual({
      kind: "label_added",
      deliveryId: "d-1",
      installationId: 42,
      actor: { login: "Codertocat", type: "User", isBot: false, isSelf: false },
      repo: { owner: "Codertocat", name: "Hello-World", id: payload.repository.id },
      issue: {
        number: 1,
        id: payload.issue.id,
        nodeId: payload.issue.node_id,
        title: payload.issue.title,
        body: payload.issue.body,
        isPullRequest: false,
        labels: payload.issue.labels?.map((l) => l.name),
        author: "Codertocat",
        authorAssociation: "OWNER",
      },
      label: "agent:dev",
    });
  });

  it("turns issues.unlabeled into label_removed (removing a trigger label holds the run)", () => {
    const event = toDomainEvent(
      examplePayload("issues", "unlabeled", { label: { name: "workflow:bdd" } }),
      "d-2",
    );
    expect(event).toMatchObject({ kind: "label_removed", label: "workflow:bdd", issue: { number: 1 } });
    expect(event?.installationId).toBeUndefined();
  });

  it("flags labels on pull requests (the issues API also covers PRs)", () => {
    const payload = examplePayload("issues", "labeled", {
      issue: { pull_request: { url: "https://api.github.com/repos/Codertocat/Hello-World/pulls/1" } },
    });
    expect(toDomainEvent(payload, "d")).toMatchObject({ issue: { isPullRequest: true } });
  });

  it("marks events sent by bots and by the App itself", () => {
    const byBot = examplePayload("issues", "labeled", { sender: { login: "renovate[bot]", type: "Bot" } });
    expect(toDomainEvent(byBot, "d")?.actor).toEqual({
      login: "renovate[bot]",
      type: "Bot",
      isBot: true,
      isSelf: false,
    });
    const bySelf = examplePayload("issues", "labeled", {
      sender: { login: "trellis-app[bot]", type: "Bot" },
    });
    expect(toDomainEvent(bySelf, "d", { slug: "trellis-app" })?.actor).toMatchObject({
      isBot: true,
      isSelf: true,
    });
    // Without knowing our slug, a bot is still a bot but not "us".
    expect(toDomainEvent(bySelf, "d")?.actor).toMatchObject({ isBot: true, isSelf: false });
  });

  it("turns issues.closed into issue_closed with the state reason", () => {
    const payload = examplePayloadAs("issues", "closed", "reopened", {
      issue: { state: "closed", state_reason: "not_planned" },
    });
    expect(toDomainEvent(payload, "d-3")).toMatchObject({
      kind: "issue_closed",
      deliveryId: "d-3",
      issue: { number: payload.issue.number },
      stateReason: "not_planned",
    });
  });

  it("bounds hostile issue bodies", () => {
    const payload = examplePayload("issues", "labeled", { issue: { body: "x".repeat(MAX_TEXT_CHARS * 4) } });
    const event = toDomainEvent(payload, "d");
    expect(event?.kind === "label_added" && event.issue.body.length).toBe(MAX_TEXT_CHARS);
  });

  it("ignores other actions", () => {
    expect(toDomainEvent(examplePayload("issues", "opened"), "d")).toBeUndefined();
    expect(toDomainEvent(examplePayload("issues", "edited"), "d")).toBeUndefined();
  });
});
