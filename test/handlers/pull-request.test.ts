import { describe, expect, it } from "vitest";
import { marker } from "../../src/core/markers.js";
import { toDomainEvent } from "../../src/handlers/pull-request.js";
import { examplePayload } from "../support/webhooks.js";

describe("pull_request handler", () => {
  it("links a PR the App opened back to its run through the hidden marker", () => {
    const body = `Closes #1\n\n${marker("run", "run_abc123")}`;
    const payload = examplePayload("pull_request", "opened", {
      pull_request: { body, head: { ref: "trellis/1-fix" } },
    });
    expect(toDomainEvent(payload, "d-1")).toMatchObject({
      kind: "pull_request",
      action: "opened",
      deliveryId: "d-1",
      repo: { owner: "Codertocat", name: "Hello-World" },
      pullRequest: {
        number: 2,
        merged: false,
        headRef: "trellis/1-fix",
        headRepo: "Codertocat/Hello-World",
        baseRef: payload.pull_request.base.ref,
        body,
        runId: "run_abc123",
      },
      fromFork: false,
    });
  });

  it("has no run id for PRs opened by people", () => {
    const event = toDomainEvent(examplePayload("pull_request", "opened"), "d");
    expect(event?.kind === "pull_request" && event.pullRequest.runId).toBeUndefined();
  });

  it("distinguishes merged from closed unmerged", () => {
    const closed = toDomainEvent(examplePayload("pull_request", "closed"), "d");
    expect(closed).toMatchObject({ action: "closed", pullRequest: { merged: false } });
    const merged = toDomainEvent(
      examplePayload("pull_request", "closed", { pull_request: { merged: true } }),
      "d",
    );
    expect(merged).toMatchObject({ action: "closed", pullRequest: { merged: true } });
  });

  it("marks PRs from forks, and PRs whose fork was deleted", () => {
    const fork = examplePayload("pull_request", "opened", {
      pull_request: { head: { repo: { full_name: "mallory/Hello-World" } } },
    });
    expect(toDomainEvent(fork, "d")).toMatchObject({
      fromFork: true,
      pullRequest: { headRepo: "mallory/Hello-World" },
    });
    const gone = examplePayload("pull_request", "opened", { pull_request: { head: { repo: null } } });
    expect(toDomainEvent(gone, "d")).toMatchObject({ fromFork: true, pullRequest: { headRepo: null } });
  });

  it("ignores other actions", () => {
    expect(toDomainEvent(examplePayload("pull_request", "synchronize"), "d")).toBeUndefined();
    expect(toDomainEvent(examplePayload("pull_request", "labeled"), "d")).toBeUndefined();
  });
});
