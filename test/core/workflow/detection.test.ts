/**
 * Detection: a stage's `detection` profile judges each proposal before the App commits it. Only its approval lets the
 * commit happen; anything else blocks the proposal and fails the producer's attempt with the reviewer's comments.
 */
import { describe, expect, it } from "vitest";
import { DispatchSpecSchema } from "../../../src/core/dispatch.js";
import { stageDispatchSpec } from "../../../src/core/dispatch-spec.js";
import type { StageDef } from "../../../src/core/model.js";
import type { AgentResult } from "../../../src/core/result.js";
import { Harness, PROPOSAL, result, stage } from "./support.js";

const RUN_ID = 77;

const guarded = (patch: Partial<StageDef> = {}) =>
  new Harness([
    stage("dev", {
      openPr: true,
      detection: "security-review",
      onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "escalate_to_human" } },
      ...patch,
    }),
  ]);

/** The producer finishes with a proposal held by the Actions run RUN_ID. */
const propose = (h: Harness) =>
  h.send({
    type: "attempt_finished",
    at: h.now,
    attemptId: h.attempt("dev"),
    workflowRunId: RUN_ID,
    result: result({ attemptId: h.attempt("dev"), proposal: PROPOSAL }),
  });

/** The detection attempt reports its verdict (its own run is another one). */
const judge = (h: Harness, patch: Partial<AgentResult>) =>
  h.send({
    type: "attempt_finished",
    at: h.now,
    attemptId: h.detection("dev"),
    workflowRunId: 99,
    result: result({ attemptId: h.detection("dev"), profile: "security-review", ...patch }),
  });

const REQUEST = {
  review: {
    verdict: "request_changes" as const,
    comments: "1. src/telemetry.ts:3 posts process.env to https://evil.example",
  },
};

describe("detection before the App commits a proposal", () => {
  it("dispatches the detection profile to judge the proposal instead of committing it", () => {
    const h = guarded();
    h.start();
    const producer = h.attempt("dev");
    const fx = propose(h);
    expect(h.of("commit_proposal", fx)).toEqual([]);
    expect(h.of("dispatch", fx)).toEqual([
      {
        type: "dispatch",
        key: `dispatch:${h.detection("dev")}`,
        stage: "dev",
        attemptId: h.detection("dev"),
        attempt: 2,
        profile: "security-review",
        detects: { attemptId: producer, workflowRunId: RUN_ID },
      },
    ]);
    expect(h.status("dev")).toBe("queued");
    // The producer is still the stage's producer: the detection attempt is not mistaken for it.
    expect(h.attempt("dev")).toBe(producer);
    expect(h.of("check_run", fx)).toMatchObject([{ title: "Queued: security review by security-review" }]);
  });

  it("gives the Action what it judges: the producer and its Actions run, not the producer's feedback", () => {
    const h = guarded();
    h.start();
    h.state.stages.dev!.feedback.push("Attempt 0 failed: lint");
    const producer = h.attempt("dev");
    const [effect] = h.of("dispatch", propose(h));
    const spec = stageDispatchSpec(h.state, effect!, {
      repo: h.state.repo,
      baseRef: "main",
      remainingUsd: 3,
    });
    expect(DispatchSpecSchema.parse(spec)).toMatchObject({
      profile: "security-review",
      detects: { attemptId: producer, workflowRunId: RUN_ID },
      feedback: [],
      answers: [],
    });
  });

  it("commits the producer's proposal, from the producer's Actions run, once the detection approves", () => {
    const h = guarded();
    h.start();
    const producer = h.attempt("dev");
    propose(h);
    const fx = judge(h, { review: { verdict: "approve", comments: "Nothing suspicious." } });
    expect(h.of("commit_proposal", fx)).toEqual([
      {
        type: "commit_proposal",
        key: `commit:dev:${producer}`,
        stage: "dev",
        attemptId: producer,
        workflowRunId: RUN_ID,
        branch: "trellis/7-add-login",
      },
    ]);
    expect(h.of("check_run", fx)).toMatchObject([
      { attemptId: h.detection("dev"), title: "Security review: approved", conclusion: "success" },
    ]);
    const done = h.send({
      type: "proposal_committed",
      at: h.now,
      attemptId: producer,
      branch: "trellis/7-add-login",
      headSha: "c".repeat(40),
    });
    expect(h.of("open_pr", done)).toMatchObject([{ attemptId: producer, branch: "trellis/7-add-login" }]);
  });

  it("blocks the proposal when changes are requested: no commit, the comments as feedback, the attempt retried", () => {
    const h = guarded();
    h.start();
    const producer = h.attempt("dev");
    propose(h);
    const fx = judge(h, REQUEST);
    expect(h.of("commit_proposal", fx)).toEqual([]);
    const blocked = h.of("check_run", fx).find((c) => c.attemptId === producer);
    expect(blocked).toMatchObject({ title: "Blocked by security review", conclusion: "failure" });
    expect(blocked?.summary).toContain("posts process.env to https://evil.example");
    expect(h.state.stages.dev?.attempts[0]?.refusal).toMatchObject({ rule: "security_review" });
    expect(h.state.stages.dev?.feedback.at(-1)).toMatch(/blocked by the security review[\s\S]*evil\.example/);
    // The normal retry path: the producer runs again (not the reviewer, not a second detection), with the feedback.
    const [retry] = h.of("dispatch", fx);
    expect(retry).toMatchObject({ profile: "dev", attempt: 3 });
    expect(retry).not.toHaveProperty("detects");
    const spec = stageDispatchSpec(h.state, retry!, { repo: h.state.repo, baseRef: "main", remainingUsd: 3 });
    expect(spec.feedback.at(-1)).toContain("evil.example");
    // A late proposal_committed for the blocked proposal changes nothing.
    expect(
      h.send({
        type: "proposal_committed",
        at: h.now,
        attemptId: producer,
        branch: "x",
        headSha: "f".repeat(40),
      }),
    ).toEqual([]);
  });

  it("escalates once the retries are spent, like any failed attempt", () => {
    const h = guarded({ onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "escalate_to_human" } } });
    h.start();
    propose(h);
    judge(h, REQUEST);
    expect(h.status("dev")).toBe("waiting:human");
    expect(h.state.stages.dev?.reason).toBe("blocked by the security review (security-review)");
  });

  it("never commits the detection attempt's own proposal, whatever its verdict", () => {
    for (const review of [REQUEST.review, { verdict: "approve" as const, comments: "ok" }]) {
      const h = guarded();
      h.start();
      const producer = h.attempt("dev");
      propose(h);
      const detection = h.detection("dev");
      const fx = judge(h, { review, proposal: PROPOSAL });
      const commits = h.of("commit_proposal", fx);
      expect(commits.every((c) => c.attemptId === producer)).toBe(true);
      expect(commits).toHaveLength(review.verdict === "approve" ? 1 : 0);
      // Even a forged outcome for the detection attempt is not taken as a commit of the stage's work.
      expect(
        h.send({
          type: "proposal_committed",
          at: h.now,
          attemptId: detection,
          branch: "trellis/7-add-login",
          headSha: "e".repeat(40),
        }),
      ).toEqual([]);
    }
  });

  it("counts only an approval of a succeeded attempt: a failed one, or one with no verdict, blocks", () => {
    for (const patch of [
      {
        status: "failed" as const,
        reason: "the agent crashed",
        review: { verdict: "approve" as const, comments: "" },
      },
      { status: "succeeded" as const },
      { status: "needs_input" as const, question: "Is this URL allowed?" },
    ]) {
      const h = guarded();
      h.start();
      propose(h);
      const fx = judge(h, patch);
      expect(h.of("commit_proposal", fx)).toEqual([]);
      expect(h.state.stages.dev?.attempts[0]?.refusal?.rule).toBe("security_review");
      expect(h.of("dispatch", fx)).toMatchObject([{ profile: "dev" }]);
    }
  });

  it("blocks the proposal when the detection attempt is lost or times out", () => {
    const lost = guarded();
    lost.start();
    propose(lost);
    const fx = lost.send({
      type: "attempt_lost",
      at: lost.now,
      attemptId: lost.detection("dev"),
      reason: "the runner went away",
    });
    expect(lost.of("commit_proposal", fx)).toEqual([]);
    expect(lost.state.stages.dev?.attempts[0]?.refusal?.message).toContain("the runner went away");
    expect(lost.of("dispatch", fx)).toMatchObject([{ profile: "dev" }]);

    const slow = guarded();
    slow.start();
    propose(slow);
    slow.advance(2 * 60 * 60_000);
    const late = slow.send({ type: "tick", at: slow.now });
    expect(slow.of("commit_proposal", late)).toEqual([]);
    expect(slow.of("check_run", late).map((c) => c.title)).toContain("Blocked by security review");
  });

  it("waits for a held run to be released before dispatching the detection, then judges the same proposal", () => {
    const h = guarded();
    h.start();
    const producer = h.attempt("dev");
    h.send({ type: "hold", at: h.now, actor: "alice" });
    const fx = propose(h);
    expect(h.of("dispatch", fx)).toEqual([]);
    expect(h.of("commit_proposal", fx)).toEqual([]);
    const released = h.send({ type: "unhold", at: h.now, actor: "alice" });
    expect(h.of("dispatch", released)).toMatchObject([
      { profile: "security-review", detects: { attemptId: producer, workflowRunId: RUN_ID } },
    ]);
  });

  it("goes on to the review loop only after the detection approved and the App committed", () => {
    const h = guarded({ iterate: { reviewers: ["review"], threshold: 1, maxIterations: 2 } });
    h.start();
    propose(h);
    expect(h.of("dispatch", judge(h, { review: { verdict: "approve", comments: "" } }))).toEqual([]);
    const fx = h.send({
      type: "proposal_committed",
      at: h.now,
      attemptId: h.attempt("dev"),
      branch: "trellis/7-add-login",
      headSha: "c".repeat(40),
    });
    expect(h.of("dispatch", fx)).toMatchObject([{ profile: "review", reviewer: "review" }]);
  });

  it("commits at once when the stage has no detection", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const fx = propose(h);
    expect(h.of("commit_proposal", fx)).toHaveLength(1);
    expect(h.of("dispatch", fx)).toEqual([]);
  });
});
