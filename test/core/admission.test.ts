import { describe, expect, it } from "vitest";
import {
  admitRefineDispatch,
  admitStageDispatch,
  CAPACITY_RETRY_MS,
  type StageAdmissionFacts,
} from "../../src/core/admission.js";

const budget = { runCostUsd: 1, runCapUsd: 10, monthSpentUsd: 50, monthlyBudgetUsd: 200 };

const stage = (patch: Partial<StageAdmissionFacts> = {}): StageAdmissionFacts => ({
  budget,
  stage: "dev",
  profile: "dev",
  inFlight: 0,
  maxParallel: 3,
  dryRun: false,
  agentWorkflow: "trellis-agent.yml",
  ...patch,
});

describe("admitStageDispatch", () => {
  it("dispatches with what is left of the run's cap and the month", () => {
    expect(admitStageDispatch(stage())).toEqual({ kind: "dispatch", remainingUsd: 9 });
    expect(admitStageDispatch(stage({ budget: { ...budget, monthSpentUsd: 195 } }))).toEqual({
      kind: "dispatch",
      remainingUsd: 5,
    });
  });

  it("refuses over budget, before looking at capacity or the dry-run switch", () => {
    const out = admitStageDispatch(
      stage({ budget: { ...budget, runCostUsd: 10 }, inFlight: 3, dryRun: true }),
    );
    expect(out).toEqual({
      kind: "refuse",
      reason:
        "over budget: this run has spent $10.00 of its $10.00 cap (budgets.per_run_usd). Raise the budget in .github/trellis.yml or wait, then `/retry`.",
    });
  });

  it("defers while the profile is at its max_parallel; a profile the repository lacks has no limit", () => {
    expect(admitStageDispatch(stage({ inFlight: 3, dryRun: true }))).toEqual({
      kind: "defer",
      delayMs: CAPACITY_RETRY_MS,
      why: "profile dev is at its max_parallel (3)",
    });
    expect(admitStageDispatch(stage({ inFlight: 3, maxParallel: undefined }))).toMatchObject({
      kind: "dispatch",
    });
  });

  it("in a dry run only says what it would dispatch", () => {
    expect(admitStageDispatch(stage({ dryRun: true }))).toEqual({
      kind: "reply",
      body: "Dry run: Trellis would now dispatch `trellis-agent.yml` for stage `dev` (profile `dev`). Set `dry_run: false` to run agents.",
    });
  });
});

describe("admitRefineDispatch", () => {
  const refine = {
    budget: { ...budget, runCostUsd: 0 },
    hasRefineProfile: true,
    refineProfile: "refine",
    dryRun: false,
  };

  it("dispatches within the budget", () => {
    expect(admitRefineDispatch(refine)).toEqual({ kind: "dispatch", remainingUsd: 10 });
  });

  it("fails without a refine profile, in a dry run, or over budget, in that order", () => {
    expect(admitRefineDispatch({ ...refine, hasRefineProfile: false, dryRun: true })).toEqual({
      kind: "fail",
      reason: "there is no `refine` profile",
    });
    expect(
      admitRefineDispatch({ ...refine, dryRun: true, budget: { ...budget, monthSpentUsd: 200 } }),
    ).toEqual({
      kind: "fail",
      reason: "dry run: no agent is dispatched",
    });
    expect(admitRefineDispatch({ ...refine, budget: { ...budget, monthSpentUsd: 200 } })).toEqual({
      kind: "fail",
      reason:
        "over budget: this repository has spent $200.00 of its $200.00 monthly budget (budgets.monthly_usd)",
    });
  });
});

describe("reservations", () => {
  const budget = { runCostUsd: 1, runCapUsd: 10, monthSpentUsd: 50, monthlyBudgetUsd: 60 };
  const facts = (over: Partial<Parameters<typeof admitStageDispatch>[0]> = {}) => ({
    budget,
    stage: "review",
    profile: "review",
    inFlight: 0,
    dryRun: false,
    agentWorkflow: "trellis-agent.yml",
    ...over,
  });

  it("takes what attempts in flight were granted off what is left, and refuses when nothing is", () => {
    expect(admitStageDispatch(facts({ budget: { ...budget, runReservedUsd: 4 } }))).toEqual({
      kind: "dispatch",
      remainingUsd: 5,
    });
    expect(admitStageDispatch(facts({ budget: { ...budget, monthReservedUsd: 7 } }))).toEqual({
      kind: "dispatch",
      remainingUsd: 3,
    });
    expect(admitStageDispatch(facts({ budget: { ...budget, monthReservedUsd: 10 } }))).toMatchObject({
      kind: "refuse",
      reason: expect.stringContaining(
        "spent $50.00 and reserved $10.00 for attempts in flight of its $60.00",
      ),
    });
  });

  it("splits what is left among a review round's reviewers dispatched together", () => {
    expect(admitStageDispatch(facts({ share: 3 }))).toEqual({ kind: "dispatch", remainingUsd: 3 });
  });
});
