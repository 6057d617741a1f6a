/** The run reducer end to end: creation, a run through its stages, board and audit, edge cases. */
import { describe, expect, it } from "vitest";
import { boardColumn, createRun, isTerminal, nextWake, reduceRun } from "../../../src/core/workflow/index.js";
import { feature, Harness, result, stage, template } from "./support.js";

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
