/** Run reducer: cancelling the Actions runs of attempts that are abandoned. */
import { describe, expect, it } from "vitest";
import { Harness, stage } from "./support.js";

describe("cancelling the Actions runs of abandoned attempts", () => {
  it("/abort cancels each in-flight attempt's run, and one GitHub names only later", () => {
    const h = new Harness([stage("a"), stage("b"), stage("c", { needs: ["a"] })]);
    h.start();
    // Learning the run's id is bookkeeping: kept, but nothing to re-render.
    expect(h.queued("a", 11)).toEqual([]);
    expect(h.state.stages.a?.attempts[0]?.workflowRunId).toBe(11);
    h.started("a");
    const fx = h.send({ type: "abort", at: h.now, actor: "alice", reason: "wrong issue" });
    expect(h.of("cancel_workflow_run", fx)).toEqual([
      {
        type: "cancel_workflow_run",
        key: `cancel:${h.attempt("a")}`,
        stage: "a",
        attemptId: h.attempt("a"),
        workflowRunId: 11,
      },
    ]);
    // b's run was dispatched but GitHub had not said which run it is: when it does, it is cancelled.
    expect(h.of("cancel_workflow_run", h.queued("b", 12))).toMatchObject([{ stage: "b", workflowRunId: 12 }]);
    // Its later events change nothing more.
    expect(
      h.send({ type: "attempt_started", at: h.now, attemptId: h.attempt("b"), workflowRunId: 12 }),
    ).toEqual([]);
  });

  it("abort_all cancels the other stages' runs; a finished attempt's run is left alone", () => {
    const h = new Harness([
      stage("a", { onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "abort_all" } } }),
      stage("b"),
      stage("c"),
    ]);
    h.start();
    h.queued("a", 1);
    h.queued("b", 2);
    h.queued("c", 3);
    h.finish("c");
    const fx = h.finish("a", { status: "failed", reason: "boom" });
    expect(h.of("cancel_workflow_run", fx)).toMatchObject([{ stage: "b", workflowRunId: 2 }]);
  });

  it("a refused dispatch (budget) cancels the run of the stage's other in-flight attempt", () => {
    const h = new Harness([
      stage("dev", { iterate: { reviewers: ["r1", "r2"], threshold: 1, maxIterations: 1 } }),
    ]);
    h.start();
    h.finish("dev");
    h.queued("dev", 21, "r1");
    const fx = h.send({
      type: "dispatch_refused",
      at: h.now,
      attemptId: h.attempt("dev", "r2"),
      reason: "over budget",
    });
    expect(h.status("dev")).toBe("waiting:budget");
    expect(h.of("cancel_workflow_run", fx)).toMatchObject([{ workflowRunId: 21 }]);
  });
});
