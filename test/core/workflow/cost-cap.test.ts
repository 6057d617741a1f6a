/** Cost claims are capped by the budget each attempt was granted: a forged or buggy result cannot eat the budgets. */
import { describe, expect, it } from "vitest";
import { renderCheckRunSummary } from "../../../src/core/render.js";
import { attemptCharge } from "../../../src/core/workflow/machine.js";
import { Harness, result, stage } from "./support.js";

describe("what an attempt's result charges the run", () => {
  const granted = (h: Harness, costCapUsd: number) =>
    h.send({ type: "attempt_queued", at: h.now, attemptId: h.attempt("dev"), costCapUsd });

  it("the dispatch's grant is kept on the attempt, as bookkeeping that re-renders nothing", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const fx = granted(h, 2);
    expect(h.state.stages.dev!.attempts[0]!.costCapUsd).toBe(2);
    expect(fx).toEqual([]);
    // Kept once: a later report (GitHub naming the run) does not change it.
    granted(h, 7);
    expect(h.state.stages.dev!.attempts[0]!.costCapUsd).toBe(2);
  });

  it("a claim above the grant is charged only the grant, and the audit log and check run say so", () => {
    const h = new Harness([stage("dev")], { costCapUsd: 10 });
    h.start();
    granted(h, 2);
    const fx = h.finish("dev", { costUsd: 900 });
    const attempt = h.state.stages.dev!.attempts[0]!;
    expect(attempt.costUsd).toBe(2);
    expect(h.state.costUsd).toBe(2);
    expect(h.of("audit", fx).find((a) => a.action === "cost_capped")?.detail).toEqual({
      stage: "dev",
      attemptId: attempt.id,
      claimedUsd: 900,
      grantedUsd: 2,
      chargedUsd: 2,
    });
    expect(attemptCharge(h.state, attempt.id, 900)).toBe(2);
    const summary = renderCheckRunSummary(h.state.stages.dev!, attempt).summary;
    expect(summary).toContain("**Cost:** $2.00 (the agent reported $900.00, more than it was granted)");
  });

  it("a normal claim is charged as it is, with nothing to audit", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    granted(h, 2);
    const fx = h.finish("dev", { costUsd: 0.42 });
    expect(h.state.stages.dev!.attempts[0]!.costUsd).toBe(0.42);
    expect(h.state.costUsd).toBe(0.42);
    expect(h.of("audit", fx).map((a) => a.action)).not.toContain("cost_capped");
    expect(renderCheckRunSummary(h.state.stages.dev!, h.state.stages.dev!.attempts[0]).summary).toContain(
      "**Cost:** $0.42 ·",
    );
  });

  it("without a known grant (older state) the run's cap applies; a claim is never negative", () => {
    const h = new Harness(
      [stage("dev", { onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "abort_all" } } })],
      {
        costCapUsd: 10,
      },
    );
    h.start();
    h.finish("dev", { status: "failed", costUsd: 50 });
    expect(h.state.costUsd).toBe(10);
    h.finish("dev", { costUsd: -3 });
    expect(h.state.stages.dev!.attempts[1]!.costUsd).toBe(0);
    expect(h.state.costUsd).toBe(10);
  });

  it("a late result (the attempt was abandoned) is charged too, and capped the same way", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    granted(h, 1);
    const attemptId = h.attempt("dev");
    h.send({ type: "abort", at: h.now, actor: "alice", reason: "enough" });
    h.send({ type: "attempt_finished", at: h.now, attemptId, result: result({ attemptId, costUsd: 5 }) });
    expect(h.state.costUsd).toBe(1);
  });
});
