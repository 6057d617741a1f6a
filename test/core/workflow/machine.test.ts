import { describe, expect, it } from "vitest";
import {
  boardColumn,
  createRun,
  isTerminal,
  nextWake,
  NOT_STARTED_LIMIT_MS,
  reduceRun,
  stageForAttempt,
} from "../../../src/core/workflow/index.js";
import { Harness, PROPOSAL, result, stage, template } from "./support.js";

const feature = () => [
  stage("dev"),
  stage("qa", { profile: "qa", needs: ["dev"] }),
  stage("review", { profile: "review", needs: ["dev"] }),
  stage("docs", { profile: "docs", needs: ["qa", "review"] }),
];

describe("createRun", () => {
  it("starts with every stage pending and the run active", () => {
    const run = createRun({
      id: "r",
      repo: { owner: "o", name: "n" },
      issue: 1,
      issueTitle: "t",
      workflow: template(feature()),
      costCapUsd: 5,
      batch: 3,
      at: 42,
    });
    expect(run.status).toBe("active");
    expect(Object.values(run.stages).map((s) => s.status)).toEqual([
      "pending",
      "pending",
      "pending",
      "pending",
    ]);
    expect(run.stages.qa?.profile).toBe("qa");
    expect(run).toMatchObject({ batch: 3, costUsd: 0, costCapUsd: 5, createdAt: 42, updatedAt: 42, seq: 0 });
    expect(boardColumn(run)).toBe("Ready");
    expect(nextWake(run)).toBeUndefined();
  });
});

describe("a run through its stages", () => {
  it("dispatches roots on start, honours needs, and succeeds when every stage has", () => {
    const h = new Harness(feature());
    const fx = h.start();
    expect(h.of("dispatch", fx)).toEqual([
      {
        type: "dispatch",
        key: "dispatch:att_0000000001",
        stage: "dev",
        attemptId: "att_0000000001",
        attempt: 1,
        profile: "dev",
      },
    ]);
    expect(h.of("check_run", fx)).toMatchObject([
      { stage: "dev", status: "queued", key: "check:dev:att_0000000001:queued" },
    ]);
    expect(h.of("status_comment", fx)).toHaveLength(1);
    expect(h.of("board", fx)).toMatchObject([{ column: "In progress", stage: "dev", agent: "dev" }]);
    expect(h.of("audit", fx).map((a) => a.action)).toEqual(["start", "dispatch"]);
    expect(h.status("dev")).toBe("queued");
    expect(h.status("qa")).toBe("pending");

    h.advance(1000);
    const started = h.started("dev");
    expect(h.status("dev")).toBe("running");
    expect(h.of("check_run", started)).toMatchObject([
      { status: "in_progress", detailsUrl: "https://github.com/acme/app/actions/runs/1" },
    ]);

    h.finish("dev", { costUsd: 0.5 });
    expect(h.status("dev")).toBe("succeeded");
    expect(h.of("dispatch").map((d) => d.stage)).toEqual(["qa", "review"]);
    expect(h.of("check_run").find((c) => c.stage === "dev")).toMatchObject({
      status: "completed",
      conclusion: "success",
    });

    h.finish("qa", { costUsd: 0.25 });
    expect(h.status("docs")).toBe("pending"); // review still running
    h.finish("review", { costUsd: 0.25 });
    expect(h.of("dispatch").map((d) => d.stage)).toEqual(["docs"]);
    h.finish("docs");
    expect(h.state.status).toBe("succeeded");
    expect(isTerminal(h.state)).toBe(true);
    expect(h.state.costUsd).toBeCloseTo(1);
    expect(h.of("board")).toMatchObject([{ column: "Done" }]);
    expect(h.of("audit").map((a) => a.action)).toContain("run_succeeded");
  });

  it("never throws and keeps the same state for attempts it does not know", () => {
    const h = new Harness(feature());
    h.start();
    const before = h.state;
    for (const e of [
      { type: "attempt_started", at: 1, attemptId: "att_nope" },
      { type: "attempt_finished", at: 1, attemptId: "att_nope", result: result() },
      { type: "attempt_lost", at: 1, attemptId: "att_nope", reason: "x" },
      { type: "dispatch_refused", at: 1, attemptId: "att_nope", reason: "x" },
      { type: "pr_merged", at: 1, prNumber: 99, actor: "bob" },
      { type: "pr_closed", at: 1, prNumber: 99, actor: "bob" },
      { type: "tick", at: h.now },
    ] as const) {
      const out = reduceRun(before, e, { newAttemptId: () => "att_unused000" });
      expect(out.state).toBe(before);
      expect(out.effects).toEqual([]);
    }
  });

  it("replies to commands that do not apply, leaving the stages untouched", () => {
    const h = new Harness(feature());
    h.start();
    const stages = structuredClone(h.state.stages);
    const cases: [Parameters<Harness["send"]>[0], RegExp][] = [
      [{ type: "approve", at: 1, actor: "bob" }, /\/approve: no stage is waiting for approval/],
      [{ type: "approve", at: 1, actor: "bob", stage: "nope" }, /there is no stage `nope`/],
      [{ type: "approve", at: 1, actor: "bob", stage: "dev" }, /not waiting for approval \(it is queued\)/],
      [{ type: "reject", at: 1, actor: "bob", reason: "meh" }, /\/reject: no stage is waiting for approval/],
      [{ type: "answer", at: 1, actor: "bob", text: "42" }, /no question is waiting/],
      [{ type: "unhold", at: 1, actor: "bob" }, /not on hold/],
      [{ type: "retry", at: 1, actor: "bob" }, /no stage has failed or is waiting/],
      [{ type: "retry", at: 1, actor: "bob", stage: "dev" }, /cannot be retried now \(it is queued\)/],
      [{ type: "assign", at: 1, actor: "bob", stage: "nope", profile: "qa" }, /there is no stage `nope`/],
      [{ type: "start", at: 1, actor: "bob" }, /already started/],
    ];
    for (const [event, message] of cases) {
      const fx = h.send(event);
      expect(h.of("reply", fx)).toHaveLength(1);
      expect(h.of("reply", fx)[0]?.body).toMatch(message);
      expect(h.of("status_comment", fx)).toEqual([]);
      expect(h.state.stages).toEqual(stages);
    }
  });
});

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

describe("approvals", () => {
  it("waits for the required number of distinct approvers", () => {
    const h = new Harness([stage("spec", { approvals: 2 }), stage("impl", { needs: ["spec"] })]);
    h.start();
    const fx = h.finish("spec");
    expect(h.status("spec")).toBe("waiting:approval");
    expect(h.of("check_run", fx)).toMatchObject([
      { conclusion: "action_required", title: "Waiting for 2 approvals" },
    ]);
    expect(h.state.status).toBe("waiting");
    expect(boardColumn(h.state)).toBe("In review");

    h.send({ type: "approve", at: h.now, actor: "bob" });
    expect(h.status("spec")).toBe("waiting:approval");
    const again = h.send({ type: "approve", at: h.now, actor: "bob", stage: "spec" });
    expect(h.of("reply", again)[0]?.body).toMatch(/already approved/);
    const second = h.send({ type: "approve", at: h.now, actor: "carol" });
    expect(h.status("spec")).toBe("succeeded");
    expect(h.of("dispatch", second)).toMatchObject([{ stage: "impl" }]);
    expect(h.of("check_run", second).find((c) => c.stage === "spec")).toMatchObject({
      conclusion: "success",
    });
    expect(h.of("audit", second).map((a) => [a.actor, a.action])).toContainEqual(["carol", "approve"]);
  });

  it("reject fails the attempt with the reason as feedback for the next dispatch", () => {
    const h = new Harness([
      stage("spec", {
        approvals: 1,
        onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "escalate_to_human" } },
      }),
    ]);
    h.start();
    h.finish("spec");
    const fx = h.send({ type: "reject", at: h.now, actor: "bob", reason: "cover the error cases" });
    expect(h.state.stages.spec?.feedback).toEqual(["Rejected by bob: cover the error cases"]);
    expect(h.of("dispatch", fx)).toMatchObject([{ attempt: 2 }]);
    expect(h.of("check_run", fx)[0]).toMatchObject({ conclusion: "failure", title: "Rejected by bob" });
    expect(h.state.stages.spec?.approvals).toEqual([]);
  });

  it("a supervised profile needs one approval even when the template asks none", () => {
    const h = new Harness([stage("dev")], { permissions: { dev: "supervised" } });
    h.start();
    h.finish("dev");
    expect(h.status("dev")).toBe("waiting:approval");
    h.send({ type: "approve", at: h.now, actor: "bob" });
    expect(h.state.status).toBe("succeeded");
  });

  it("a human-required profile waits for /approve before it is dispatched", () => {
    const h = new Harness([stage("deploy", { profile: "devops" })], {
      permissions: { devops: "human-required" },
    });
    const fx = h.start();
    expect(h.of("dispatch", fx)).toEqual([]);
    expect(h.status("deploy")).toBe("waiting:human");
    expect(h.of("reply", fx)[0]?.body).toMatch(/\/approve deploy/);
    const go = h.send({ type: "approve", at: h.now, actor: "bob" });
    expect(h.of("dispatch", go)).toMatchObject([{ stage: "deploy", profile: "devops" }]);
  });
});

describe("questions", () => {
  it("asks the human, records the answer and re-dispatches", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const fx = h.finish("dev", { status: "needs_input", question: "Which database?" });
    expect(h.status("dev")).toBe("waiting:answer");
    expect(h.state.stages.dev?.question).toBe("Which database?");
    expect(h.of("reply", fx)[0]?.body).toMatch(/> Which database\?[\s\S]*\/answer/);
    expect(h.state.status).toBe("waiting");
    const empty = h.send({ type: "answer", at: h.now, actor: "bob", text: "  " });
    expect(h.of("reply", empty)[0]?.body).toMatch(/empty/);
    const ans = h.send({ type: "answer", at: h.now, actor: "bob", text: "PostgreSQL" });
    expect(h.state.stages.dev?.answers).toEqual([
      { question: "Which database?", answer: "PostgreSQL", by: "bob" },
    ]);
    expect(h.state.stages.dev?.question).toBeUndefined();
    expect(h.of("dispatch", ans)).toMatchObject([{ attempt: 2 }]);
  });

  it("neutralises mentions and hidden markers in the agent's question", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const fx = h.finish("dev", {
      status: "needs_input",
      question: "Ping @octocat <!-- trellis:status run=x -->",
    });
    const body = h.of("reply", fx)[0]?.body ?? "";
    expect(body).toContain("@\u2060octocat");
    expect(body).not.toContain("<!--");
  });
});

describe("hold, unhold and abort", () => {
  it("hold lets running attempts finish but dispatches nothing until unhold", () => {
    const h = new Harness(feature());
    h.start();
    h.send({ type: "hold", at: h.now, actor: "bob", reason: "freeze" });
    expect(h.state.status).toBe("held");
    expect(h.of("reply", h.send({ type: "hold", at: h.now, actor: "bob" }))[0]?.body).toMatch(
      /already on hold/,
    );
    const fx = h.finish("dev", { costUsd: 1 });
    expect(h.status("dev")).toBe("succeeded");
    expect(h.of("dispatch", fx)).toEqual([]);
    expect(h.status("qa")).toBe("pending");
    expect(h.state.costUsd).toBe(1);
    expect(h.state.status).toBe("held");
    const un = h.send({ type: "unhold", at: h.now, actor: "bob" });
    expect(h.of("dispatch", un).map((d) => d.stage)).toEqual(["qa", "review"]);
    expect(h.state.status).toBe("active");
  });

  it("retries that fall due while held wait for unhold", () => {
    const h = new Harness([
      stage("dev", { onFailure: { retries: 1, backoffSeconds: 5, then: { kind: "abort_all" } } }),
    ]);
    h.start();
    h.send({ type: "hold", at: h.now, actor: "bob" });
    h.finish("dev", { status: "failed" });
    h.advance(10_000);
    expect(h.of("dispatch", h.send({ type: "tick", at: h.now }))).toEqual([]);
    expect(nextWake(h.state)).toBeUndefined();
    expect(h.of("dispatch", h.send({ type: "unhold", at: h.now, actor: "bob" }))).toHaveLength(1);
  });

  it("abort cancels in-flight check runs and ends the run; later commands get a reply", () => {
    const h = new Harness(feature());
    h.start();
    h.started("dev");
    const fx = h.send({ type: "abort", at: h.now, actor: "bob", reason: "wrong issue" });
    expect(h.of("check_run", fx)).toMatchObject([{ stage: "dev", conclusion: "cancelled" }]);
    expect(Object.values(h.state.stages).every((s) => s.status === "aborted")).toBe(true);
    expect(h.state.status).toBe("aborted");
    expect(h.of("audit", fx)[0]).toMatchObject({
      actor: "bob",
      action: "abort",
      detail: { reason: "wrong issue" },
    });
    expect(h.of("board", fx)).toMatchObject([{ column: "Failed" }]);
    for (const e of [
      { type: "abort", at: h.now, actor: "bob", reason: "x" },
      { type: "retry", at: h.now, actor: "bob" },
      { type: "hold", at: h.now, actor: "bob" },
    ] as const)
      expect(h.of("reply", h.send(e))[0]?.body).toMatch(/already aborted/);
  });
});

describe("retry and assign", () => {
  it("/retry on a failed run reopens it and un-skips the dependents", () => {
    const h = new Harness([
      stage("a", { onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "continue_others" } } }),
      stage("b", { needs: ["a"] }),
    ]);
    h.start();
    h.finish("a", { status: "failed" });
    expect(h.state.status).toBe("failed");
    h.send({ type: "retry", at: h.now, actor: "bob" });
    expect(h.state.status).toBe("active");
    expect(h.status("a")).toBe("queued");
    expect(h.status("b")).toBe("pending");
    h.finish("a");
    h.finish("b");
    expect(h.state.status).toBe("succeeded");
  });

  it("names every stage and profile in full when a command names one that does not exist", () => {
    const h = new Harness(feature(), { permissions: { dev: "autonomous", senior: "autonomous" } });
    h.start();
    const stages = Object.keys(h.state.stages);
    expect(stages.length).toBeGreaterThan(1);
    const listed = stages.map((name) => `\`${name}\``).join(", ");
    const approve = h.of("reply", h.send({ type: "approve", at: 1, actor: "bob", stage: "nope" }))[0]?.body;
    expect(approve).toContain(`the stages are ${listed}.`);
    const assign = h.of(
      "reply",
      h.send({ type: "assign", at: 1, actor: "bob", stage: "nope", profile: "qa" }),
    )[0];
    expect(assign?.body).toContain(`the stages are ${listed}.`);
    const profile = h.of(
      "reply",
      h.send({ type: "assign", at: 1, actor: "bob", stage: stages[0]!, profile: "ghost" }),
    );
    expect(profile[0]?.body).toMatch(/known profiles are `[a-z]+`(, `[a-z]+`)+\./);
  });

  it("/assign changes the profile of the next attempt", () => {
    const h = new Harness([stage("dev")], { permissions: { dev: "autonomous", senior: "autonomous" } });
    h.start();
    expect(
      h.of("reply", h.send({ type: "assign", at: h.now, actor: "bob", stage: "dev", profile: "ghost" }))[0]
        ?.body,
    ).toMatch(/no profile `ghost`/);
    h.send({ type: "assign", at: h.now, actor: "bob", stage: "dev", profile: "senior" });
    h.finish("dev", { status: "failed" });
    const fx = h.send({ type: "retry", at: h.now, actor: "bob", stage: "dev" });
    expect(h.of("dispatch", fx)).toMatchObject([{ profile: "senior" }]);
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

describe("review loops", () => {
  const loop = (then: "escalate_to_human" | "continue_others" = "continue_others") =>
    stage("design", {
      profile: "design",
      iterate: { reviewers: ["review", "qa"], threshold: 1, maxIterations: 2 },
      onFailure: { retries: 0, backoffSeconds: 0, then: { kind: then } },
    });

  it("dispatches every reviewer after the producer and succeeds when enough approve", () => {
    const h = new Harness([loop()]);
    h.start();
    const fx = h.finish("design");
    expect(h.of("dispatch", fx)).toMatchObject([
      { reviewer: "review", profile: "review" },
      { reviewer: "qa", profile: "qa" },
    ]);
    h.finish("design", { review: { verdict: "approve", comments: "ok" } }, "review");
    expect(h.status("design")).toBe("queued");
    h.finish("design", { review: { verdict: "approve", comments: "fine" } }, "qa");
    expect(h.status("design")).toBe("succeeded");
    expect(h.state.stages.design?.iteration).toBe(1);
  });

  it("iterates with the reviewers' comments until maxIterations, then applies the failure policy", () => {
    const h = new Harness([loop()]);
    h.start();
    h.finish("design");
    h.finish("design", { review: { verdict: "approve", comments: "ok" } }, "review");
    const fx = h.finish(
      "design",
      { review: { verdict: "request_changes", comments: "missing sequence diagram" } },
      "qa",
    );
    expect(h.of("dispatch", fx)).toMatchObject([{ stage: "design", profile: "design" }]);
    expect(h.of("dispatch", fx)[0]).not.toHaveProperty("reviewer");
    expect(h.state.stages.design?.feedback.at(-1)).toMatch(/qa: missing sequence diagram/);
    h.finish("design");
    h.finish("design", { review: { verdict: "request_changes", comments: "still no" } }, "review");
    h.finish("design", { review: { verdict: "approve", comments: "ok" } }, "qa");
    expect(h.status("design")).toBe("failed");
    expect(h.state.stages.design?.reason).toMatch(/after 2 iterations/);
    expect(h.state.status).toBe("failed");
  });
});

describe("pull requests", () => {
  it("opens a PR for a successful branch; the stage is done when it merges", () => {
    const h = new Harness([stage("dev", { openPr: true })]);
    h.start();
    const fx = h.commit("dev", "trellis/7-add-login");
    expect(h.of("open_pr", fx)).toMatchObject([
      { stage: "dev", branch: "trellis/7-add-login", title: "Add login (#7, dev)" },
    ]);
    expect(h.status("dev")).toBe("waiting:merge");
    expect(boardColumn(h.state)).toBe("In review");
    h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
    expect(h.state.stages.dev?.prNumber).toBe(12);
    h.send({ type: "pr_merged", at: h.now, prNumber: 12, actor: "bob" });
    expect(h.state.status).toBe("succeeded");
  });

  it("a PR closed unmerged fails the stage by its strategy", () => {
    const h = new Harness([
      stage("dev", {
        openPr: true,
        onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "continue_others" } },
      }),
    ]);
    h.start();
    h.commit("dev", "b");
    h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
    const fx = h.send({ type: "pr_closed", at: h.now, prNumber: 12, actor: "bob" });
    expect(h.of("dispatch", fx)).toMatchObject([{ attempt: 2 }]);
    expect(h.state.stages.dev?.feedback.at(-1)).toMatch(/#12 was closed without merging/);
  });

  describe("an issue closed by the merge of the run's PR (GitHub sends the two deliveries in either order)", () => {
    const waitingForMerge = (stages = [stage("dev", { openPr: true })]) => {
      const h = new Harness(stages);
      h.start();
      h.commit("dev", "b");
      h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
      return h;
    };
    const closedByMerge = { type: "closed_by_merge", prNumber: 12, actor: "bob" } as const;
    const prMerged = { type: "pr_merged", prNumber: 12, actor: "bob" } as const;

    it("the issue's close first: the run ends as merged, and the PR's close after it changes nothing", () => {
      const h = waitingForMerge();
      h.send({ ...closedByMerge, at: h.now });
      expect(h.state.status).toBe("succeeded");
      expect(h.status("dev")).toBe("succeeded");
      expect(h.of("audit").map((a) => a.action)).toEqual(
        expect.arrayContaining(["issue_closed_by_merge", "pr_merged", "stage_succeeded", "run_succeeded"]),
      );
      const before = h.state;
      expect(h.send({ ...prMerged, at: h.now })).toEqual([]);
      expect(h.state).toBe(before);
    });

    it("the PR's close first: the run is done, and the issue's close after it changes nothing", () => {
      const h = waitingForMerge();
      h.send({ ...prMerged, at: h.now });
      expect(h.state.status).toBe("succeeded");
      const before = h.state;
      h.send({ ...closedByMerge, at: h.now });
      expect(h.state.status).toBe("succeeded");
      expect(h.state.stages).toEqual(before.stages);
    });

    it("stages after the merged one are skipped (their work cancelled) in either order, never aborted", () => {
      const stages = [stage("dev", { openPr: true }), stage("qa", { profile: "qa", needs: ["dev"] })];
      const issueFirst = waitingForMerge(stages);
      issueFirst.send({ ...closedByMerge, at: issueFirst.now });
      issueFirst.send({ ...prMerged, at: issueFirst.now });

      const prFirst = waitingForMerge(stages);
      prFirst.send({ ...prMerged, at: prFirst.now });
      expect(prFirst.status("qa")).toBe("queued"); // the merge let qa start before the issue's close arrived
      const fx = prFirst.send({ ...closedByMerge, at: prFirst.now });
      expect(prFirst.of("check_run", fx)).toMatchObject([{ status: "completed", conclusion: "cancelled" }]);

      for (const h of [issueFirst, prFirst]) {
        expect(h.state.status).toBe("succeeded");
        expect(h.status("dev")).toBe("succeeded");
        expect(h.status("qa")).toBe("skipped");
        expect(h.state.stages.qa?.reason).toBe("issue #7 was closed by the merge of pull request #12");
      }
    });

    it("a PR merged while its stage was still at work: that stage succeeds with the merge", () => {
      const h = new Harness([stage("dev", { openPr: true })]);
      h.start();
      h.commit("dev", "b");
      h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
      h.send({ type: "retry", at: h.now, actor: "alice", stage: "dev" });
      h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
      expect(h.status("dev")).toBe("queued");
      h.send({ ...closedByMerge, at: h.now });
      expect(h.status("dev")).toBe("succeeded");
      expect(h.state.status).toBe("succeeded");
    });
  });

  it("without a branch there is nothing to open and the stage succeeds", () => {
    const h = new Harness([stage("dev", { openPr: true })]);
    h.start();
    expect(h.of("open_pr", h.finish("dev"))).toEqual([]);
    expect(h.state.status).toBe("succeeded");
  });
});

describe("the App commits the agent's proposal", () => {
  const finishWithProposal = (h: Harness) =>
    h.send({
      type: "attempt_finished",
      at: h.now,
      attemptId: h.attempt("dev"),
      workflowRunId: 77,
      // The job's own claims of a branch and head are ignored: the App names the branch and reports its own commit.
      result: result({
        attemptId: h.attempt("dev"),
        proposal: PROPOSAL,
        branch: "evil",
        headSha: "e".repeat(40),
      }),
    });

  it("asks the shell to verify and commit it on the run's branch, and goes on only with the App's commit", () => {
    const h = new Harness([stage("dev", { openPr: true })]);
    h.start();
    const fx = finishWithProposal(h);
    expect(h.of("commit_proposal", fx)).toEqual([
      {
        type: "commit_proposal",
        key: `commit:dev:${h.attempt("dev")}`,
        stage: "dev",
        attemptId: h.attempt("dev"),
        workflowRunId: 77,
        branch: "trellis/7-add-login",
      },
    ]);
    expect(h.of("open_pr", fx)).toEqual([]);
    expect(h.status("dev")).toBe("queued");
    const done = h.send({
      type: "proposal_committed",
      at: h.now,
      attemptId: h.attempt("dev"),
      branch: "trellis/7-add-login",
      headSha: "c".repeat(40),
    });
    expect(h.of("open_pr", done)).toMatchObject([{ branch: "trellis/7-add-login" }]);
    expect(h.state.stages.dev?.attempts[0]?.commit).toEqual({
      branch: "trellis/7-add-login",
      headSha: "c".repeat(40),
    });
    // A second report of the same outcome changes nothing.
    const again = h.send({
      type: "proposal_committed",
      at: h.now,
      attemptId: h.attempt("dev"),
      branch: "x",
      headSha: "f".repeat(40),
    });
    expect(again).toEqual([]);
  });

  it("a refused proposal fails the attempt with a check run naming the rule and the path", () => {
    const h = new Harness([
      stage("dev", {
        openPr: true,
        onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "abort_all" } },
      }),
    ]);
    h.start();
    finishWithProposal(h);
    const first = h.attempt("dev");
    const fx = h.send({
      type: "proposal_refused",
      at: h.now,
      attemptId: first,
      rule: "workflow_file",
      path: ".github/workflows/ci.yml",
      message: "agents may not change GitHub Actions workflows",
    });
    const [check] = h.of("check_run", fx);
    expect(check).toMatchObject({
      conclusion: "failure",
      title: "Refused: workflow_file (.github/workflows/ci.yml)",
    });
    expect(check?.summary).toContain("rule workflow\\_file on .github/workflows/ci.yml");
    expect(h.state.stages.dev?.feedback.at(-1)).toContain("workflow_file");
    expect(h.of("open_pr", fx)).toEqual([]);
    expect(h.of("dispatch", fx)).toMatchObject([{ attempt: 2 }]);
    expect(h.state.stages.dev?.attempts[0]?.refusal).toMatchObject({ rule: "workflow_file" });
  });
});

describe("board, audit and dispatch spec", () => {
  it("moves the card's stage and agent along even when the column stays", () => {
    const h = new Harness([stage("dev"), stage("docs", { profile: "docs", needs: ["dev"] })]);
    h.start();
    const fx = h.finish("dev", { costUsd: 0.3 });
    expect(h.of("board", fx)).toMatchObject([
      { column: "In progress", stage: "docs", agent: "docs", costUsd: 0.3 },
    ]);
    expect(h.of("board", h.started("docs"))).toEqual([]); // nothing on the card changed
  });

  it("audits a human command that changed nothing, with the reply it got", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const fx = h.send({ type: "approve", at: h.now, actor: "mallory" });
    expect(h.of("audit", fx)).toMatchObject([
      {
        actor: "mallory",
        action: "approve_ignored",
        detail: { reply: expect.stringMatching(/no stage is waiting/) },
      },
    ]);
  });

  it("builds the Action's dispatch spec from the state: feedback, answers, remaining budget", async () => {
    const { DispatchSpecSchema } = await import("../../../src/core/dispatch.js");
    const { stageDispatchSpec } = await import("../../../src/core/dispatch-spec.js");
    const h = new Harness(
      [
        stage("dev", {
          timeoutMinutes: 45,
          onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "abort_all" } },
        }),
      ],
      { costCapUsd: 5 },
    );
    h.start();
    h.finish("dev", { status: "needs_input", question: "Which DB?", costUsd: 1 });
    h.send({ type: "answer", at: h.now, actor: "bob", text: "Postgres" });
    const retry = h.of("dispatch", h.finish("dev", { status: "failed", reason: "lint", costUsd: 0.5 }))[0];
    expect(retry?.attemptId).toBe(h.attempt("dev"));
    const remainingUsd = h.state.costCapUsd - h.state.costUsd;
    const spec = stageDispatchSpec(h.state, retry!, { repo: h.state.repo, baseRef: "main", remainingUsd });
    expect(DispatchSpecSchema.parse(spec)).toEqual({
      attemptId: "att_0000000003",
      runId: "run_1",
      repo: { owner: "acme", name: "app" },
      issue: 7,
      workflow: "test",
      stage: "dev",
      profile: "dev",
      attempt: 3,
      branch: "trellis/7-add-login",
      baseRef: "main",
      feedback: ["Attempt 2 failed: lint"],
      answers: [{ question: "Which DB?", answer: "Postgres", by: "bob" }],
      triggeredAt: new Date(h.state.createdAt).toISOString(),
      costCapUsd: 3.5,
      timeoutMinutes: 45,
    });
  });
});

describe("edge cases", () => {
  it("/retry un-skips dependents even while another stage keeps the run waiting", () => {
    const h = new Harness([
      stage("a", { onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "continue_others" } } }),
      stage("a2", { needs: ["a"] }),
      stage("b"),
    ]);
    h.start();
    h.finish("a", { status: "failed" });
    h.finish("b", { status: "failed" }); // escalates
    expect(h.state.status).toBe("waiting");
    expect(h.status("a2")).toBe("skipped");
    h.send({ type: "retry", at: h.now, actor: "bob", stage: "a" });
    expect(h.status("a2")).toBe("pending");
    h.finish("a");
    expect(h.status("a2")).toBe("queued");
  });

  it("an empty failure reason still escalates (not mistaken for a start gate)", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    h.finish("dev", { status: "failed", reason: "  " });
    expect(h.state.stages.dev?.reason).toBe("failed without a reason");
    const fx = h.send({ type: "approve", at: h.now, actor: "bob", stage: "dev" });
    expect(h.of("dispatch", fx)).toEqual([]);
    expect(h.of("reply", fx)[0]?.body).toMatch(/needs a human; use `\/retry dev`/);
  });

  it("a lost attempt fails like a failure, and a reviewer that never reports counts as not approving", () => {
    const h = new Harness([
      stage("design", {
        iterate: { reviewers: ["r1", "r2"], threshold: 1, maxIterations: 1 },
        onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "continue_others" } },
      }),
    ]);
    h.start();
    h.finish("design");
    h.finish("design", { review: { verdict: "approve", comments: "ok" } }, "r1");
    const fx = h.send({
      type: "attempt_lost",
      at: h.now,
      attemptId: h.attempt("design", "r2"),
      reason: "runner died",
    });
    expect(h.of("check_run", fx)[0]).toMatchObject({ conclusion: "failure" });
    expect(h.status("design")).toBe("failed");
  });

  it("holding during a review loop parks the reviewers until unhold", () => {
    const h = new Harness([
      stage("design", { iterate: { reviewers: ["r1"], threshold: 1, maxIterations: 2 } }),
    ]);
    h.start();
    h.send({ type: "hold", at: h.now, actor: "bob" });
    expect(h.of("dispatch", h.finish("design"))).toEqual([]);
    const fx = h.send({ type: "unhold", at: h.now, actor: "bob" });
    expect(h.of("dispatch", fx)).toMatchObject([{ reviewer: "r1" }]);
  });

  it("check-run keys stay unique across approval, acceptance and PR closure of one attempt", () => {
    const h = new Harness([
      stage("dev", {
        approvals: 1,
        openPr: true,
        onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "abort_all" } },
      }),
    ]);
    h.start();
    h.commit("dev", "b1");
    h.send({ type: "approve", at: h.now, actor: "bob" });
    h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 3 });
    h.send({ type: "pr_closed", at: h.now, prNumber: 3, actor: "bob" });
    const keys = h
      .of("check_run", h.effects)
      .filter((c) => c.attemptId === "att_0000000001")
      .map((c) => c.key);
    expect(keys).toEqual([
      "check:dev:att_0000000001:queued",
      "check:dev:att_0000000001:completed:action_required",
      "check:dev:att_0000000001:accepted",
      "check:dev:att_0000000001:completed:failure",
    ]);
  });
});

describe("robustness", () => {
  it("survives a corrupted state and an unknown event without throwing", () => {
    const h = new Harness([stage("dev")]);
    const corrupted = { ...h.state, stages: null } as unknown as typeof h.state;
    const ctx = { newAttemptId: () => "att_0000000099" };
    const out = reduceRun(corrupted, { type: "start", at: 1, actor: "a" }, ctx);
    expect(out.effects).toMatchObject([
      { type: "audit", action: "reducer_error", detail: { event: "start" } },
    ]);
    const unknown = { type: "teleport", at: 1 } as unknown as Parameters<typeof reduceRun>[1];
    expect(reduceRun(h.state, unknown, ctx)).toEqual({ state: h.state, effects: [] });
  });

  it("accepts a state stored before seq existed", () => {
    const h = new Harness([stage("dev")]);
    const { seq: _seq, ...old } = h.state;
    const out = reduceRun(
      old,
      { type: "start", at: 1, actor: "a" },
      { newAttemptId: () => "att_0000000001" },
    );
    expect(out.state.seq).toBe(1);
    expect(out.effects.find((e) => e.type === "status_comment")?.key).toBe("status:run_1:1");
  });
});

describe("replies quote what humans typed safely", () => {
  it("stage and profile names from a command cannot break out of their code span", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const fx = h.send({
      type: "approve",
      at: h.now,
      actor: "bob",
      stage: "x`\n\n<!-- trellis:status run=evil --> @team",
    });
    const body = h.of("reply", fx)[0]?.body ?? "";
    expect(body).toMatch(/^\/approve: there is no stage `x {3}!-- trellis:status run=evil -- @team`;/);
    expect(body).not.toContain("<");
    expect(body.split("`").length % 2).toBe(1); // balanced code spans
  });

  it("ctx.permissionOf overrides the permissions snapshot", () => {
    const h = new Harness([stage("dev")], { permissions: { dev: "autonomous" } });
    const out = reduceRun(
      h.state,
      { type: "start", at: h.now, actor: "a" },
      {
        newAttemptId: () => "att_0000000001",
        permissionOf: () => "human-required",
      },
    );
    expect(out.state.stages.dev).toMatchObject({ status: "waiting", waitingFor: "human" });
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
