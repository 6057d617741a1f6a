/** A new run: every stage of its workflow pending, and the `start` event that records who started it. */
import type { RepoRef } from "../repo.js";
import type { PermissionLevel, RunState, StageState, WorkflowTemplate } from "../model.js";
import type { Handler } from "./step.js";
import { isTerminal } from "./views.js";

export interface CreateRunInput {
  id: string;
  repo: RepoRef;
  issue: number;
  issueTitle: string;
  workflow: WorkflowTemplate;
  costCapUsd: number;
  batch?: number;
  at: number;
  /** Permission level per profile, for supervised / human-required gates. */
  permissions?: Record<string, PermissionLevel>;
  /** Why outsiders' text reaches the agent, when a human must approve each proposal first (src/core/outsiders.ts). */
  outsiderText?: string;
}

export function createRun(input: CreateRunInput): RunState {
  const stages: Record<string, StageState> = {};
  for (const def of input.workflow.stages) {
    stages[def.id] = {
      id: def.id,
      status: "pending",
      profile: def.profile,
      attempts: [],
      retriesUsed: 0,
      iteration: 0,
      approvals: [],
      answers: [],
      feedback: [],
    };
  }
  return {
    id: input.id,
    repo: { ...input.repo },
    issue: input.issue,
    issueTitle: input.issueTitle,
    workflow: input.workflow,
    status: "active",
    stages,
    ...(input.batch !== undefined ? { batch: input.batch } : {}),
    costUsd: 0,
    costCapUsd: input.costCapUsd,
    createdAt: input.at,
    updatedAt: input.at,
    seq: 0,
    ...(input.permissions ? { permissions: { ...input.permissions } } : {}),
    ...(input.outsiderText !== undefined ? { outsiderText: input.outsiderText } : {}),
  };
}

export const onStart: Handler<"start"> = (step, e) => {
  const started = Object.values(step.run.stages).some((s) => s.status !== "pending" || s.attempts.length > 0);
  if (started || isTerminal(step.run)) {
    step.reply(`This run has already started (it is ${step.run.status}).`);
    return;
  }
  step.audit(e.actor, "start", {
    workflow: step.run.workflow.name,
    ...(step.run.outsiderText !== undefined ? { commitsNeedApproval: step.run.outsiderText } : {}),
  });
};
