import { describe, expect, test } from "vitest";
import { abandonedEffectEvent, deadLetterNotice } from "../../src/core/dead-letters.js";

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

describe("deadLetterNotice", () => {
  test("tells the issue what could not be done, why, and how an operator runs it again", () => {
    const notice = deadLetterNotice("open_pr", "Validation Failed\nno commits", 24, 77);
    expect(notice).toContain(
      "Trellis could not open the pull request: Validation Failed no commits (24 tries)",
    );
    expect(notice).toContain("`trellis dead-letters --retry 77`");
    expect(deadLetterNotice("event:comment_created", "boom", 1, 5)).toContain(
      "handle a `comment_created` event on this issue: boom (1 try)",
    );
  });

  test("is silent where the run reports the failure itself, or where the notice would fail alike", () => {
    for (const kind of ["dispatch", "commit_proposal", "reply", "reaction", "status_comment"])
      expect(deadLetterNotice(kind, "x", 3, 1)).toBeUndefined();
  });
});
