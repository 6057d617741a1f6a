/** A small but complete RunState for store tests (the reducer builds real ones). */
import type { Attempt, RunState, StageState, WorkflowTemplate } from "../../src/core/model.js";
import type { AgentResult } from "../../src/core/result.js";

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

export const workflow: WorkflowTemplate = {
  name: "dev",
  description: "one stage",
  source: "built-in",
  stages: [
    {
      id: "implement",
      profile: "dev",
      needs: [],
      timeoutMinutes: 60,
      approvals: 0,
      success: { tests_pass: true },
      onFailure: { retries: 1, backoffSeconds: 30, then: { kind: "escalate_to_human" } },
      openPr: true,
    },
    {
      id: "review",
      profile: "review",
      needs: ["implement"],
      timeoutMinutes: 30,
      approvals: 1,
      success: {},
      onFailure: { retries: 0, backoffSeconds: 30, then: { kind: "abort_all" } },
      openPr: false,
    },
  ],
};

export function stage(id: string, profile: string, patch: Partial<StageState> = {}): StageState {
  return {
    id,
    status: "pending",
    profile,
    attempts: [],
    retriesUsed: 0,
    iteration: 0,
    approvals: [],
    answers: [],
    feedback: [],
    ...patch,
  };
}

export function result(attemptId: string, patch: Partial<AgentResult> = {}): AgentResult {
  return {
    version: 1,
    attemptId,
    stage: "implement",
    profile: "dev",
    status: "succeeded",
    summary: "done",
    filesChanged: [],
    criteria: [],
    annotations: [],
    costUsd: 1.25,
    tokens: { input: 1000, output: 200, cacheRead: 0, cacheWrite: 0 },
    turns: 3,
    durationMs: 1000,
    ...patch,
  };
}

export function attempt(id: string, patch: Partial<Attempt> = {}): Attempt {
  return { id, number: 1, profile: "dev", dispatchedAt: T0 + 1000, ...patch };
}

export function runState(id: string, patch: Partial<RunState> = {}): RunState {
  return {
    id,
    repo: { owner: "octo", name: "repo" },
    issue: 7,
    issueTitle: "Add a feature",
    workflow,
    status: "active",
    stages: {
      implement: stage("implement", "dev", { status: "queued", attempts: [attempt(`${id}-a1`)] }),
      review: stage("review", "review"),
    },
    costUsd: 0,
    costCapUsd: 10,
    createdAt: T0,
    updatedAt: T0,
    ...patch,
  };
}
