/** What a reducer step did to attempts, for the metrics (attempts by profile and outcome, cost): counted once. */
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../../src/core/model.js";
import { attemptChanges } from "../../../src/core/workflow/views.js";
import { Harness, result, stage } from "./support.js";

/** Sends `event` and says what it changed. */
function step(h: Harness, event: RunEvent) {
  const before = h.state;
  h.send(event);
  return attemptChanges(before, h.state, event);
}

describe("attemptChanges", () => {
  it("names the attempt a result ends with its profile and status, and its cost, once", () => {
    const h = new Harness([stage("dev", { profile: "coder" })]);
    expect(step(h, { type: "start", at: h.now, actor: "alice" })).toEqual({ ended: [], costs: [] });
    const attemptId = h.attempt("dev");
    const finished: RunEvent = {
      type: "attempt_finished",
      at: h.now,
      attemptId,
      result: result({ stage: "dev", attemptId, status: "failed", costUsd: 0.3 }),
    };
    expect(step(h, finished)).toEqual({
      ended: [{ profile: "coder", outcome: "failed" }],
      costs: [{ profile: "coder", usd: 0.3 }],
    });
    // The same result again changes nothing, so counts nothing.
    expect(step(h, finished)).toEqual({ ended: [], costs: [] });
  });

  it("a timeout ends an attempt as timed_out; a result after it only adds its cost; a loss is `lost`", () => {
    const h = new Harness([
      stage("dev", {
        timeoutMinutes: 10,
        onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "escalate_to_human" } },
      }),
    ]);
    h.start();
    const first = h.attempt("dev");
    h.queued("dev", 5001);
    h.started("dev");
    h.advance(10 * 60_000);
    expect(step(h, { type: "tick", at: h.now }).ended).toEqual([{ profile: "dev", outcome: "timed_out" }]);
    expect(
      step(h, {
        type: "attempt_finished",
        at: h.now,
        attemptId: first,
        result: result({ stage: "dev", attemptId: first, costUsd: 2 }),
      }),
    ).toEqual({ ended: [], costs: [{ profile: "dev", usd: 2 }] });
    const retry = h.attempt("dev");
    expect(retry).not.toBe(first);
    expect(step(h, { type: "attempt_lost", at: h.now, attemptId: retry, reason: "cancelled" }).ended).toEqual(
      [{ profile: "dev", outcome: "lost" }],
    );
  });
});
