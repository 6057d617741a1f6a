import type { EmitterWebhookEvent } from "@octokit/webhooks";
import { describe, expect, it } from "vitest";
import { HANDLED_EVENTS, toDomainEvent } from "../../src/handlers/index.js";
import { examplePayload } from "../support/webhooks.js";

const delivery = (name: string, payload: unknown, id = "d") => ({ id, name, payload }) as EmitterWebhookEvent;

describe("toDomainEvent (any delivery)", () => {
  it("routes each subscribed event to its handler", () => {
    const cases: [string, unknown, string][] = [
      ["issues", examplePayload("issues", "labeled"), "label_added"],
      ["issues", examplePayload("issues", "unlabeled"), "label_removed"],
      ["issue_comment", examplePayload("issue_comment", "created"), "comment_created"],
      ["check_run", examplePayload("check_run", "rerequested"), "check_run_rerequested"],
      ["workflow_run", examplePayload("workflow_run", "completed"), "workflow_run"],
      ["pull_request", examplePayload("pull_request", "closed"), "pull_request"],
      ["projects_v2_item", examplePayload("projects_v2_item", "edited"), "projects_v2_item_edited"],
      ["installation", examplePayload("installation", "created"), "installation"],
    ];
    for (const [name, payload, kind] of cases)
      expect(toDomainEvent(delivery(name, payload, `id-${name}`)), name).toMatchObject({
        kind,
        deliveryId: `id-${name}`,
      });
  });

  it("passes the App's identity through", () => {
    const payload = examplePayload("issue_comment", "created", {
      sender: { login: "trellis[bot]", type: "Bot" },
    });
    expect(toDomainEvent(delivery("issue_comment", payload), { slug: "trellis" })?.actor.isSelf).toBe(true);
  });

  it("ignores events Trellis does not subscribe to", () => {
    expect(toDomainEvent(delivery("star", examplePayload("star", "created")))).toBeUndefined();
    expect(toDomainEvent(delivery("issues", examplePayload("issues", "opened")))).toBeUndefined();
  });

  it("subscribes to every event it translates", () => {
    const families = new Set(HANDLED_EVENTS.map((e) => e.split(".")[0]));
    expect([...families].sort()).toEqual(
      [
        "check_run",
        "installation",
        "issue_comment",
        "issues",
        "projects_v2_item",
        "pull_request",
        "workflow_run",
      ].sort(),
    );
  });
});
