/** Run reducer: stage timeouts, the not-started limit and the next wake-up. */
import { describe, expect, it } from "vitest";
import { nextWake, NOT_STARTED_LIMIT_MS } from "../../../src/core/workflow/index.js";
import { Harness, stage } from "./support.js";

describe("timeouts", () => {
  it("counts the stage's timeout from the Actions run's start, not from the dispatch", () => {
    const h = new Harness([stage("dev", { timeoutMinutes: 10 })]);
    h.start();
    const dispatchedAt = h.now;
    h.queued("dev", 5001);
    // Waiting for a runner for 20 minutes is not working: the old clock (from dispatch) timed it out at 10.
    h.advance(20 * 60_000);
    expect(h.send({ type: "tick", at: h.now })).toEqual([]);
    expect(h.status("dev")).toBe("queued");
    h.started("dev");
    const startedAt = h.now;
    expect(dispatchedAt).toBeLessThan(startedAt);
    expect(nextWake(h.state)).toBe(startedAt + 10 * 60_000);
    expect(h.state.stages.dev?.wakeAt).toBe(startedAt + 10 * 60_000);
    h.advance(10 * 60_000 - 1);
    expect(h.send({ type: "tick", at: h.now })).toEqual([]);
    h.advance(1);
    const fx = h.send({ type: "tick", at: h.now });
    expect(h.of("check_run", fx)).toMatchObject([{ status: "completed", conclusion: "timed_out" }]);
    // The run that timed out is cancelled on GitHub, not left working and spending.
    expect(h.of("cancel_workflow_run", fx)).toMatchObject([{ stage: "dev", workflowRunId: 5001 }]);
    expect(h.status("dev")).toBe("waiting:human");
    expect(h.state.stages.dev?.reason).toBe("timed out");
    expect(h.state.status).toBe("waiting");
    // A result arriving after the timeout only adds its cost.
    h.finish("dev", { costUsd: 2 });
    expect(h.status("dev")).toBe("waiting:human");
    expect(h.state.costUsd).toBe(2);
  });

  it("gives up on a run that does not start within the not-started limit, and cancels it", () => {
    const h = new Harness([
      stage("dev", {
        timeoutMinutes: 5,
        onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "escalate_to_human" } },
      }),
    ]);
    h.start();
    expect(nextWake(h.state)).toBe(h.now + NOT_STARTED_LIMIT_MS);
    h.queued("dev", 5001);
    h.advance(NOT_STARTED_LIMIT_MS - 1);
    expect(h.send({ type: "tick", at: h.now })).toEqual([]);
    h.advance(1);
    const fx = h.send({ type: "tick", at: h.now });
    expect(h.of("check_run", fx)[0]).toMatchObject({ conclusion: "timed_out" });
    expect(h.of("check_run", fx)[0]?.summary).toMatch(/did not start within 60 minutes/);
    expect(h.of("cancel_workflow_run", fx)).toMatchObject([{ workflowRunId: 5001 }]);
    // The retry is a new attempt with its own allowance; the abandoned run starting late changes nothing.
    expect(h.of("dispatch", fx)).toMatchObject([{ attempt: 2 }]);
    expect(
      h.send({ type: "attempt_started", at: h.now, attemptId: h.state.stages.dev!.attempts[0]!.id }),
    ).toEqual([]);
    expect(h.status("dev")).toBe("queued");
  });

  it("uses each attempt's own start when reviewers run in parallel", () => {
    const h = new Harness([
      stage("dev", {
        timeoutMinutes: 10,
        iterate: { reviewers: ["r1", "r2"], threshold: 1, maxIterations: 1 },
      }),
    ]);
    h.start();
    h.started("dev");
    h.finish("dev");
    h.advance(60_000);
    h.started("dev", "r1");
    const r1Start = h.now;
    expect(h.state.stages.dev?.wakeAt).toBe(r1Start + 10 * 60_000);
    h.advance(5 * 60_000);
    h.started("dev", "r2");
    const r2Start = h.now;
    expect(h.state.stages.dev?.wakeAt).toBe(r1Start + 10 * 60_000);
    h.finish("dev", { review: { verdict: "approve", comments: "ok" } }, "r1");
    expect(h.state.stages.dev?.wakeAt).toBe(r2Start + 10 * 60_000);
  });
});

describe("nextWake", () => {
  it("reports the earliest timeout or backoff, ignoring backoffs while held and everything once terminal", () => {
    const h = new Harness([
      stage("a", { timeoutMinutes: 20 }),
      stage("b", {
        timeoutMinutes: 5,
        onFailure: { retries: 1, backoffSeconds: 600, then: { kind: "abort_all" } },
      }),
    ]);
    h.start();
    const t0 = h.now;
    h.started("a");
    h.started("b");
    expect(nextWake(h.state)).toBe(t0 + 5 * 60_000);
    h.advance(1000);
    h.finish("b", { status: "failed" });
    expect(nextWake(h.state)).toBe(t0 + 1000 + 600_000); // b's backoff (10 min) vs a's timeout (20 min)
    h.send({ type: "hold", at: h.now, actor: "bob" });
    expect(nextWake(h.state)).toBe(t0 + 20 * 60_000); // only a's timeout still matters
    h.send({ type: "abort", at: h.now, actor: "bob", reason: "stop" });
    expect(nextWake(h.state)).toBeUndefined();
  });
});
