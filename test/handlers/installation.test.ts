import { describe, expect, it } from "vitest";
import { toDomainEvent } from "../../src/handlers/installation.js";
import { examplePayload } from "../support/webhooks.js";

describe("installation handler", () => {
  it("turns installation.created into installation with its account and repositories", () => {
    const payload = examplePayload("installation", "created");
    expect(toDomainEvent(payload, "d-1")).toMatchObject({
      kind: "installation",
      action: "created",
      deliveryId: "d-1",
      installationId: 957387,
      account: { login: "Codertocat", type: "User" },
      repos: [{ owner: "Codertocat", name: "Hello-World", id: 186853002 }],
    });
  });

  it("handles installation.deleted", () => {
    expect(toDomainEvent(examplePayload("installation", "deleted"), "d")).toMatchObject({
      action: "deleted",
      installationId: 2,
      repos: [{ owner: "octocat", name: "Hello-World" }],
    });
  });

  it("ignores suspend and permission changes", () => {
    expect(toDomainEvent(examplePayload("installation", "suspend"), "d")).toBeUndefined();
    expect(toDomainEvent(examplePayload("installation", "new_permissions_accepted"), "d")).toBeUndefined();
  });
});
