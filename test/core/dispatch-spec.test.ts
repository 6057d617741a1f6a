import { describe, expect, it } from "vitest";
import { readBuiltins } from "../../src/builtins.js";
import { createBatch, type BatchEffect } from "../../src/core/batch/machine.js";
import { loadDefinitions, type Definitions } from "../../src/core/definitions.js";
import { DispatchSpecSchema, TICKET_TEXT_MAX_CHARS } from "../../src/core/dispatch.js";
import {
  dispatchSpec,
  refineContext,
  refineDispatchSpec,
  stageDispatchSpec,
  type DispatchSpecInput,
} from "../../src/core/dispatch-spec.js";
import type { Effect } from "../../src/core/model.js";
import { createRun, reduceRun } from "../../src/core/workflow/machine.js";
import { stage, template } from "./workflow/support.js";

const defs: Definitions = loadDefinitions({ builtins: await readBuiltins(), repo: new Map() }).value!;
const AT = Date.parse("2026-11-21T10:00:00Z");
const repo = { owner: "octo", name: "repo" };

function startedRun() {
  const run = createRun({
    id: "run_1",
    repo,
    issue: 7,
    issueTitle: "Add login",
    workflow: template([stage("dev", { timeoutMinutes: 45 })]),
    costCapUsd: 5,
    at: AT,
  });
  let n = 0;
  const out = reduceRun(
    run,
    { type: "start", at: AT, actor: "alice" },
    { newAttemptId: () => `att_000000000${++n}` },
  );
  const effect = out.effects.find((e): e is Extract<Effect, { type: "dispatch" }> => e.type === "dispatch")!;
  return { run: out.state, effect };
}

describe("stageDispatchSpec", () => {
  it("is the Action's spec for a stage's attempt: the run's issue and branch, the stage's limit, the start time", () => {
    const { run, effect } = startedRun();
    const spec = stageDispatchSpec(run, effect, { repo, baseRef: "main", remainingUsd: 4.5 });
    expect(DispatchSpecSchema.parse(spec)).toEqual(spec);
    expect(spec).toEqual({
      attemptId: effect.attemptId,
      runId: "run_1",
      repo,
      issue: 7,
      workflow: "test",
      stage: "dev",
      profile: "dev",
      attempt: 1,
      branch: "trellis/7-add-login",
      baseRef: "main",
      feedback: [],
      answers: [],
      triggeredAt: "2026-11-21T10:00:00.000Z",
      costCapUsd: 4.5,
      timeoutMinutes: 45,
    });
  });

  it("grants the smaller of what the budgets leave and the stage's max_cost_usd", () => {
    const { run, effect } = startedRun();
    run.workflow.stages[0]!.maxCostUsd = 1.25;
    expect(stageDispatchSpec(run, effect, { repo, baseRef: "main", remainingUsd: 4.5 }).costCapUsd).toBe(
      1.25,
    );
    expect(stageDispatchSpec(run, effect, { repo, baseRef: "main", remainingUsd: 0.5 }).costCapUsd).toBe(0.5);
  });

  it("shows the agent the last five rounds of feedback and answers, each feedback bounded", () => {
    const { run, effect } = startedRun();
    run.stages.dev!.feedback = Array.from({ length: 7 }, (_, i) => `${i}`.repeat(5_000));
    run.stages.dev!.answers = Array.from({ length: 7 }, (_, i) => ({
      question: `q${i}`,
      answer: "a",
      by: "bob",
    }));
    const spec = stageDispatchSpec(run, effect, { repo, baseRef: "main", remainingUsd: -1 });
    expect(spec.feedback.map((f) => [f[0], f.length])).toEqual([
      ["2", 4_000],
      ["3", 4_000],
      ["4", 4_000],
      ["5", 4_000],
      ["6", 4_000],
    ]);
    expect(spec.answers.map((a) => a.question)).toEqual(["q2", "q3", "q4", "q5", "q6"]);
    expect(spec.costCapUsd).toBe(0);
  });

  it("a stage the workflow no longer defines gets the default limit", () => {
    const { run, effect } = startedRun();
    const spec = stageDispatchSpec({ ...run, workflow: { ...run.workflow, stages: [] } }, effect, {
      repo,
      baseRef: "main",
      remainingUsd: 1,
    });
    expect(spec.timeoutMinutes).toBe(30);
  });
});

describe("refineDispatchSpec", () => {
  const body = "Ship it.\n\n- [ ] [a] Alpha\n- [ ] [b] Beta (depends on [a])\n- [ ] #7 the old bug\n";
  const created = createBatch({
    id: "bat_1",
    repo,
    trackingIssue: 1,
    title: "Ship it",
    body,
    strategy: "dependency-aware",
    parallel: 2,
    batchSize: 2,
    at: AT,
    actor: "alice",
    refine: { parallel: 2, timeoutMinutes: 12 },
    newAttemptId: () => "att_0000000009",
  });
  if (!created.ok) throw new Error(created.errors.join("\n"));
  const { state } = created;
  const effect = created.effects.find(
    (e): e is Extract<BatchEffect, { type: "batch_refine" }> => e.type === "batch_refine",
  )!;
  const ticket = state.tickets.find((t) => t.key === effect.ticket)!;

  it("is a refine attempt on the tracking issue with the ticket as its task and the batch as its context", () => {
    const spec = refineDispatchSpec(state, { ...ticket, refine: ticket.refine! }, effect, defs, {
      repo,
      baseRef: "trunk",
      remainingUsd: 10,
    });
    expect(DispatchSpecSchema.parse(spec)).toEqual(spec);
    expect(spec).toEqual({
      attemptId: "att_0000000009",
      runId: "bat_1",
      repo,
      issue: 1,
      workflow: "refine",
      stage: "refine",
      profile: "refine",
      attempt: 1,
      branch: "trellis/1-refine-a",
      baseRef: "trunk",
      feedback: [],
      answers: [],
      costCapUsd: 10,
      timeoutMinutes: 12,
      ticket: { key: "a", text: effect.text, trackingIssue: 1, context: refineContext(state) },
    });
    expect(spec.ticket!.context!.body).toBe(
      "The batch of #1 has 3 tickets:\n\n- [a] Alpha\n- [b] Beta (depends on a)\n- #7 the old bug",
    );
  });

  it("bounds the ticket's text", () => {
    const spec = refineDispatchSpec(
      state,
      { ...ticket, refine: ticket.refine! },
      { attemptId: effect.attemptId, text: "x".repeat(TICKET_TEXT_MAX_CHARS + 10) },
      defs,
      { repo, baseRef: "trunk", remainingUsd: 10 },
    );
    expect(spec.ticket!.text).toHaveLength(TICKET_TEXT_MAX_CHARS);
  });
});

describe("dispatchSpec", () => {
  it("keeps one field order for every attempt: the start time after the answers, the ticket last", () => {
    const input: DispatchSpecInput = {
      attemptId: "att_0000000001",
      runId: "run_1",
      repo,
      issue: 1,
      workflow: "w",
      stage: "s",
      profile: "p",
      attempt: 1,
      branch: "b",
      baseRef: "main",
      feedback: [],
      answers: [],
      triggeredAt: AT,
      remainingUsd: 1,
      timeoutMinutes: 5,
      ticket: { key: "k", text: "t", trackingIssue: 1 },
    };
    expect(Object.keys(dispatchSpec(input))).toEqual([
      "attemptId",
      "runId",
      "repo",
      "issue",
      "workflow",
      "stage",
      "profile",
      "attempt",
      "branch",
      "baseRef",
      "feedback",
      "answers",
      "triggeredAt",
      "costCapUsd",
      "timeoutMinutes",
      "ticket",
    ]);
  });
});
