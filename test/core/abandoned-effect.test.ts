import { describe, expect, test } from "vitest";
import { abandonedEffectEvent } from "../../src/core/abandoned-effect.js";

describe("abandonedEffectEvent", () => {
  test("a dispatch given up loses its attempt, naming the workflow file to check", () => {
    const event = abandonedEffectEvent(
      { type: "dispatch", key: "d", stage: "dev", profile: "dev", attemptId: "a1", attempt: 1 },
      "Not Found",
      5,
    );
    expect(event).toMatchObject({ type: "attempt_lost", at: 5, attemptId: "a1" });
    expect(event && "reason" in event && event.reason).toContain("trellis-agent.yml installed?");
  });

  test("a commit given up refuses the proposal (commit_failed), so the stage fails instead of waiting", () => {
    const event = abandonedEffectEvent(
      { type: "commit_proposal", key: "c", stage: "dev", attemptId: "a2", workflowRunId: 9, branch: "b" },
      "x".repeat(1_000),
      7,
    );
    expect(event).toMatchObject({ type: "proposal_refused", at: 7, attemptId: "a2", rule: "commit_failed" });
    expect(event && "message" in event && event.message.length).toBeLessThan(400);
  });

  test("best-effort effects change nothing", () => {
    expect(abandonedEffectEvent({ type: "status_comment", key: "s" }, "boom", 1)).toBeUndefined();
  });
});
