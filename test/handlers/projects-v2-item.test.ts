import { describe, expect, it } from "vitest";
import { toDomainEvent } from "../../src/handlers/projects-v2-item.js";
import { examplePayload } from "../support/webhooks.js";

describe("projects_v2_item handler", () => {
  it("turns projects_v2_item.edited into projects_v2_item_edited with the field change", () => {
    const payload = examplePayload("projects_v2_item", "edited");
    expect(toDomainEvent(payload, "d-1")).toEqual({
      kind: "projects_v2_item_edited",
      deliveryId: "d-1",
      installationId: payload.installation?.id,
      actor: { login: payload.sender.login, type: "User", isBot: false, isSelf: false },
      organization: "Octocoders",
      item: {
        nodeId: "PVTI_lADOAWcTxs07G84AVqWu",
        projectNodeId: "PVT_kwDOAWcTxs07Gw",
        contentNodeId: "DI_lADOAWcTxs07G84AIjOy",
        contentType: "DraftIssue",
      },
      changes: [{ fieldNodeId: "PVTF_lADOAWcTxs07G84AAali", fieldType: "single_select" }],
    });
  });

  it("keeps from/to of a single-select change (a card moved between columns)", () => {
    const payload = examplePayload("projects_v2_item", "edited", {
      changes: { field_value: { from: { name: "Ready" }, to: { name: "In progress" } } },
    });
    const event = toDomainEvent(payload, "d");
    expect(event?.kind === "projects_v2_item_edited" && event.changes[0]).toMatchObject({
      from: { name: "Ready" },
      to: { name: "In progress" },
    });
  });

  it("ignores other actions", () => {
    expect(toDomainEvent(examplePayload("projects_v2_item", "created"), "d")).toBeUndefined();
  });
});
