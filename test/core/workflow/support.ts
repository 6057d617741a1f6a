/** Builders shared by the run-reducer tests. */
import type {
  Effect,
  PermissionLevel,
  RunEvent,
  RunState,
  StageDef,
  WorkflowTemplate,
} from "../../../src/core/model.js";
import type { AgentResult } from "../../../src/core/result.js";
import { createRun, reduceRun } from "../../../src/core/workflow/index.js";

export function stage(id: string, patch: Partial<StageDef> = {}): StageDef {
  return {
    id,
    profile: "dev",
    needs: [],
    timeoutMinutes: 30,
    approvals: 0,
    success: {},
    onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "escalate_to_human" } },
    openPr: false,
    ...patch,
  };
}

export function template(stages: StageDef[], name = "test"): WorkflowTemplate {
  return { name, description: "a test workflow", stages, source: "test" };
}

/** A proposal as the Action reports it (its contents are the App's concern, not the run machine's). */
export const PROPOSAL = {
  base: "b".repeat(40),
  patchFile: "proposal.patch" as const,
  bytes: 10,
  sha256: "0".repeat(64),
  files: [{ path: "a.txt", status: "M" as const, mode: "100644", blob: "d".repeat(40) }],
};

export function result(patch: Partial<AgentResult> = {}): AgentResult {
  return {
    version: 1,
    attemptId: "att_x",
    stage: "s",
    profile: "dev",
    status: "succeeded",
    summary: "done",
    filesChanged: [],
    criteria: [],
    annotations: [],
    costUsd: 0,
    tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    turns: 0,
    durationMs: 0,
    ...patch,
  };
}

/** A run under test: feeds events, keeps every effect, checks keys never repeat. */
export class Harness {
  state: RunState;
  effects: Effect[] = [];
  last: Effect[] = [];
  private ids = 0;
  now = 1_000_000;
  readonly keys = new Set<string>();

  constructor(
    stages: StageDef[],
    opts: { permissions?: Record<string, PermissionLevel>; costCapUsd?: number; outsiderText?: string } = {},
  ) {
    this.state = createRun({
      id: "run_1",
      repo: { owner: "acme", name: "app" },
      issue: 7,
      issueTitle: "Add login",
      workflow: template(stages),
      costCapUsd: opts.costCapUsd ?? 10,
      at: this.now,
      ...(opts.permissions ? { permissions: opts.permissions } : {}),
      ...(opts.outsiderText !== undefined ? { outsiderText: opts.outsiderText } : {}),
    });
  }

  send(event: RunEvent | ((at: number) => RunEvent)): Effect[] {
    const e = typeof event === "function" ? event(this.now) : event;
    const out = reduceRun(this.state, e, {
      newAttemptId: () => `att_${String(++this.ids).padStart(10, "0")}`,
    });
    for (const fx of out.effects) {
      if (this.keys.has(fx.key)) throw new Error(`effect key emitted twice: ${fx.key}`);
      this.keys.add(fx.key);
    }
    this.state = out.state;
    this.last = out.effects;
    this.effects.push(...out.effects);
    return out.effects;
  }

  start(): Effect[] {
    return this.send({ type: "start", at: this.now, actor: "alice" });
  }

  advance(ms: number): void {
    this.now += ms;
  }

  /** The newest detection attempt of a stage (the one judging a proposal before it is committed). */
  detection(stageId: string): string {
    const a = this.state.stages[stageId]?.attempts.filter((x) => x.detects).at(-1);
    if (!a) throw new Error(`no detection attempt for ${stageId}`);
    return a.id;
  }

  /** The newest attempt id of a stage's producer (optionally of a reviewer). */
  attempt(stageId: string, reviewer?: string): string {
    const s = this.state.stages[stageId];
    const list =
      s?.attempts.filter((a) =>
        reviewer === undefined ? !a.reviewer && !a.detects : a.reviewer === reviewer,
      ) ?? [];
    const a = list.at(-1);
    if (!a) throw new Error(`no attempt for ${stageId}`);
    return a.id;
  }

  finish(stageId: string, patch: Partial<AgentResult> = {}, reviewer?: string): Effect[] {
    const attemptId = this.attempt(stageId, reviewer);
    return this.send({
      type: "attempt_finished",
      at: this.now,
      attemptId,
      result: result({ stage: stageId, attemptId, ...patch }),
    });
  }

  /**
   * The agent proposes a change and the App commits it on `branch` (the commit_proposal effect's outcome): the
   * effects of that outcome.
   */
  commit(stageId: string, branch: string, patch: Partial<AgentResult> = {}): Effect[] {
    const attemptId = this.attempt(stageId);
    this.send({
      type: "attempt_finished",
      at: this.now,
      attemptId,
      workflowRunId: 4242,
      result: result({ stage: stageId, attemptId, proposal: PROPOSAL, ...patch }),
    });
    return this.send({
      type: "proposal_committed",
      at: this.now,
      attemptId,
      branch,
      headSha: "c".repeat(40),
    });
  }

  /** GitHub names the attempt's Actions run (the dispatch answer or `workflow_run.requested`). */
  queued(stageId: string, workflowRunId: number, reviewer?: string): Effect[] {
    return this.send({
      type: "attempt_queued",
      at: this.now,
      attemptId: this.attempt(stageId, reviewer),
      workflowRunId,
    });
  }

  started(stageId: string, reviewer?: string): Effect[] {
    return this.send({
      type: "attempt_started",
      at: this.now,
      attemptId: this.attempt(stageId, reviewer),
      runUrl: `https://github.com/acme/app/actions/runs/${this.ids}`,
    });
  }

  status(id: string): string {
    const s = this.state.stages[id];
    return s?.status === "waiting" ? `waiting:${s.waitingFor}` : (s?.status ?? "missing");
  }

  of<T extends Effect["type"]>(type: T, effects: Effect[] = this.last): Extract<Effect, { type: T }>[] {
    return effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);
  }
}

/** A four-stage feature workflow: dev, then qa and review in parallel, then docs. */
export const feature = () => [
  stage("dev"),
  stage("qa", { profile: "qa", needs: ["dev"] }),
  stage("review", { profile: "review", needs: ["dev"] }),
  stage("docs", { profile: "docs", needs: ["qa", "review"] }),
];
