/** Run reducer: retries, terminal failure strategies and refused dispatches. */
import { describe, expect, it } from "vitest";
import { boardColumn, nextWake, stageForAttempt } from "../../../src/core/workflow/index.js";
import { Harness, stage } from "./support.js";

describe("retries with exponential backoff", () => {
  it("waits backoff·2^(n-1) seconds before each retry, then applies the terminal strategy", () => {
    const h = new Harness([
      stage("dev", { onFailure: { retries: 2, backoffSeconds: 30, then: { kind: "continue_others" } } }),
    ]);
    h.start();
    h.finish("dev", { status: "failed", reason: "tests fail" });
    const s = () => h.state.stages.dev!;
    expect(h.status("dev")).toBe("waiting:retry_backoff");
    expect(s().wakeAt).toBe(h.now + 30_000);
    expect(nextWake(h.state)).toBe(h.now + 30_000);
    expect(s().feedback).toEqual(["Attempt 1 failed: tests fail"]);
    expect(h.state.status).toBe("active");
    expect(boardColumn(h.state)).toBe("In progress");

    h.advance(29_999);
    expect(h.of("dispatch", h.send({ type: "tick", at: h.now }))).toEqual([]);
    h.advance(1);
    expect(h.of("dispatch", h.send({ type: "tick", at: h.now }))).toMatchObject([{ attempt: 2 }]);

    h.finish("dev", { status: "error" });
    expect(s().wakeAt).toBe(h.now + 60_000);
    h.advance(60_000);
    h.send({ type: "tick", at: h.now });
    h.finish("dev", { status: "failed", reason: "still failing" });
    expect(h.status("dev")).toBe("failed");
    expect(h.state.status).toBe("failed");
    expect(s().attempts).toHaveLength(3);
    expect(h.of("board")).toMatchObject([{ column: "Failed" }]);
  });

  it("re-dispatches at once when the backoff is zero", () => {
    const h = new Harness([
      stage("dev", { onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "abort_all" } } }),
    ]);
    h.start();
    const fx = h.finish("dev", { status: "failed" });
    expect(h.of("dispatch", fx)).toMatchObject([{ attempt: 2 }]);
  });
});

describe("terminal failure strategies", () => {
  it("abort_all cancels every other unfinished stage and fails the run", () => {
    const h = new Harness([
      stage("a", { onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "abort_all" } } }),
      stage("b"),
      stage("c", { needs: ["b"] }),
    ]);
    h.start();
    h.started("b");
    const fx = h.finish("a", { status: "failed", reason: "boom" });
    expect(h.status("a")).toBe("failed");
    expect(h.status("b")).toBe("aborted");
    expect(h.status("c")).toBe("aborted");
    expect(h.of("check_run", fx).filter((c) => c.stage === "b")).toMatchObject([{ conclusion: "cancelled" }]);
    expect(h.state.status).toBe("failed");
    // b's late result is recorded (its cost counts) but changes nothing.
    h.finish("b", { costUsd: 1 });
    expect(h.status("b")).toBe("aborted");
    expect(h.state.costUsd).toBe(1);
  });

  it("continue_others skips dependents, lets independent branches finish, then fails the run", () => {
    const h = new Harness([
      stage("a", { onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "continue_others" } } }),
      stage("a2", { needs: ["a"] }),
      stage("a3", { needs: ["a2"] }),
      stage("b"),
      stage("b2", { needs: ["b"] }),
    ]);
    h.start();
    h.finish("a", { status: "failed" });
    expect(h.status("a2")).toBe("skipped");
    expect(h.status("a3")).toBe("skipped");
    expect(h.state.status).toBe("active");
    h.finish("b");
    expect(h.status("b2")).toBe("queued");
    h.finish("b2");
    expect(h.state.status).toBe("failed");
  });

  it("escalate_to_human waits for a human; /retry re-dispatches with retries reset, /abort ends", () => {
    const h = new Harness([
      stage("dev", { onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "escalate_to_human" } } }),
    ]);
    h.start();
    h.finish("dev", { status: "failed", reason: "r1" });
    const fx = h.finish("dev", { status: "failed", reason: "r2" });
    expect(h.status("dev")).toBe("waiting:human");
    expect(h.state.status).toBe("waiting");
    expect(boardColumn(h.state)).toBe("Needs human");
    expect(h.of("reply", fx)[0]?.body).toMatch(/needs a human: r2[\s\S]*\/retry dev/);
    expect(h.of("reply", h.send({ type: "approve", at: h.now, actor: "bob" }))[0]?.body).toMatch(
      /no stage is waiting for approval/,
    );

    const retry = h.send({ type: "retry", at: h.now, actor: "bob" });
    expect(h.of("dispatch", retry)).toMatchObject([{ stage: "dev", attempt: 3 }]);
    expect(h.state.stages.dev?.retriesUsed).toBe(0);
    expect(h.of("audit", retry)[0]).toMatchObject({ actor: "bob", action: "retry" });
    h.finish("dev", { status: "failed" });
    expect(h.state.stages.dev?.attempts.at(-1)?.number).toBe(4); // the retry budget is fresh
    expect(h.status("dev")).toBe("queued");
    h.finish("dev", { status: "failed" });
    h.send({ type: "abort", at: h.now, actor: "bob", reason: "enough" });
    expect(h.state.status).toBe("aborted");
    expect(h.status("dev")).toBe("aborted");
  });

  it("retry_with_different_agent tries the fallback profile once, then escalates", () => {
    const h = new Harness([
      stage("dev", {
        onFailure: {
          retries: 0,
          backoffSeconds: 0,
          then: { kind: "retry_with_different_agent", profile: "senior" },
        },
      }),
    ]);
    h.start();
    const fx = h.finish("dev", { status: "failed" });
    expect(h.of("dispatch", fx)).toMatchObject([{ profile: "senior", attempt: 2 }]);
    expect(h.state.stages.dev?.profile).toBe("senior");
    h.finish("dev", { status: "failed", reason: "senior failed too" });
    expect(h.status("dev")).toBe("waiting:human");
    expect(h.state.stages.dev?.attempts).toHaveLength(2);
  });
});

describe("budget", () => {
  it("a refused dispatch parks the stage for a human and explains why", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const id = h.attempt("dev");
    const fx = h.send({
      type: "dispatch_refused",
      at: h.now,
      attemptId: id,
      reason: "monthly budget of $50 reached",
    });
    expect(h.status("dev")).toBe("waiting:budget");
    expect(h.state.stages.dev?.attempts).toEqual([]);
    expect(h.state.status).toBe("waiting");
    expect(h.of("reply", fx)[0]?.body).toMatch(/monthly budget of \$50 reached[\s\S]*\/retry dev/);
    expect(stageForAttempt(h.state, id)).toBeUndefined();
    const retry = h.send({ type: "retry", at: h.now, actor: "bob" });
    expect(h.of("dispatch", retry)).toMatchObject([{ attempt: 1 }]);
  });
});
