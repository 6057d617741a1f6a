import { describe, expect, it } from "vitest";
import { toDomainEvent } from "../../src/handlers/check-run.js";
import { examplePayload } from "../support/webhooks.js";

describe("check_run handler", () => {
  it("turns check_run.rerequested into check_run_rerequested with the stable external id", () => {
    const payload = examplePayload("check_run", "rerequested", {
      check_run: { name: "Trellis / implement", external_id: "run_1:implement" },
    });
    const appId = payload.check_run.app?.id;
    expect(toDomainEvent(payload, "d-1", { id: appId })).toEqual({
      kind: "check_run_rerequested",
      deliveryId: "d-1",
      installationId: payload.installation?.id,
      actor: { login: payload.sender.login, type: payload.sender.type, isBot: false, isSelf: false },
      repo: {
        owner: payload.repository.owner.login,
        name: payload.repository.name,
        id: payload.repository.id,
      },
      checkRun: {
        id: payload.check_run.id,
        externalId: "run_1:implement",
        name: "Trellis / implement",
        headSha: "d6fde92930d4715a2b49857d24b940956b26d2d3",
        appId,
        ownedBySelf: true,
      },
    });
  });

  it("says when the check run belongs to another App", () => {
    const event = toDomainEvent(examplePayload("check_run", "rerequested"), "d", { id: 123_456 });
    expect(event?.kind === "check_run_rerequested" && event.checkRun.ownedBySelf).toBe(false);
  });

  it("ignores other check_run actions", () => {
    expect(toDomainEvent(examplePayload("check_run", "created"), "d")).toBeUndefined();
    expect(toDomainEvent(examplePayload("check_run", "completed"), "d")).toBeUndefined();
  });
});
