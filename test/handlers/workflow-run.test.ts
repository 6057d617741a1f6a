import { describe, expect, it } from "vitest";
import { runName } from "../../src/core/dispatch.js";
import { toDomainEvent } from "../../src/handlers/workflow-run.js";
import { examplePayload } from "../support/webhooks.js";

const attemptId = "att_0123456789abcdef";
const title = runName({ stage: "implement", issue: 12, attemptId });

describe("workflow_run handler", () => {
  it("turns workflow_run.completed into workflow_run with the attempt id from run-name", () => {
    const payload = examplePayload(
      "workflow_run",
      "completed",
      { workflow_run: { display_title: title } },
      1,
    );
    expect(toDomainEvent(payload, "d-1")).toMatchObject({
      kind: "workflow_run",
      action: "completed",
      deliveryId: "d-1",
      repo: { owner: "octo-org", name: "octo-repo" },
      run: {
        id: payload.workflow_run.id,
        displayTitle: title,
        attemptId,
        conclusion: "success",
        htmlUrl: payload.workflow_run.html_url,
        headSha: payload.workflow_run.head_sha,
        path: ".github/workflows/test.yml",
        runAttempt: 1,
      },
      fromFork: false,
    });
  });

  it("leaves attemptId unset for runs that are not Trellis attempts", () => {
    const event = toDomainEvent(examplePayload("workflow_run", "completed", undefined, 1), "d");
    expect(event?.kind === "workflow_run" && "attemptId" in event.run).toBe(false);
  });

  it("marks runs whose head repository is another repository as from a fork", () => {
    // GitHub's first example: the run's head repository (octo-org/octo-repo) differs from the repository.
    const payload = examplePayload(
      "workflow_run",
      "completed",
      { workflow_run: { display_title: title } },
      0,
    );
    expect(payload.workflow_run.head_repository.full_name).not.toBe(payload.repository.full_name);
    expect(toDomainEvent(payload, "d")).toMatchObject({ fromFork: true, run: { attemptId } });
  });

  it("treats a missing head repository (deleted fork) as a fork", () => {
    const payload = examplePayload(
      "workflow_run",
      "completed",
      { workflow_run: { head_repository: null } },
      1,
    );
    expect(toDomainEvent(payload, "d")).toMatchObject({ fromFork: true });
  });

  it("handles requested and in_progress", () => {
    const requested = examplePayload("workflow_run", "requested", { workflow_run: { display_title: title } });
    expect(toDomainEvent(requested, "d")).toMatchObject({ action: "requested", run: { attemptId } });
    const inProgress = examplePayload("workflow_run", "requested", {
      action: "in_progress",
      workflow_run: { display_title: title, status: "in_progress" },
    });
    expect(toDomainEvent(inProgress, "d")).toMatchObject({
      action: "in_progress",
      run: { attemptId, status: "in_progress", conclusion: null },
    });
  });
});
