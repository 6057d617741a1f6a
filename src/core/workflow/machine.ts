/**
 * The run reducer: `(state, event) → (state, effects)` for one workflow on one issue.
 * Pure: time comes from events, ids from `ctx`. It never throws; an event that does not apply leaves the
 * stages untouched and, when a human sent it, answers with a `reply` explaining why.
 */
import type {
  Attempt,
  BoardColumn,
  CheckRunConclusion,
  Effect,
  PermissionLevel,
  RunEvent,
  RunState,
  StageDef,
  StageState,
  WorkflowTemplate,
} from "../model.js";
import type { AgentResult } from "../result.js";
import { branchName, type DispatchSpec } from "../dispatch.js";
import { block, codeSpan, ident, inline, renderCheckRunSummary } from "../render.js";

export interface ReduceContext {
  newAttemptId: () => string;
  /** Permission level of a profile; falls back to `state.permissions`, then "autonomous". */
  permissionOf?: (profile: string) => PermissionLevel | undefined;
}

export interface ReduceOutput {
  state: RunState;
  effects: Effect[];
}

export interface CreateRunInput {
  id: string;
  repo: { owner: string; name: string };
  issue: number;
  issueTitle: string;
  workflow: WorkflowTemplate;
  costCapUsd: number;
  batch?: number;
  at: number;
  /** Permission level per profile, for supervised / human-required gates. */
  permissions?: Record<string, PermissionLevel>;
}

/** The actor recorded for the machine's own decisions. */
export const SYSTEM_ACTOR = "trellis";

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
  };
}

// ---------------------------------------------------------------------------------------------
// Views

export function isTerminal(state: RunState): boolean {
  return state.status === "succeeded" || state.status === "failed" || state.status === "aborted";
}

export function stageForAttempt(
  state: RunState,
  attemptId: string,
): { stage: StageState; attempt: Attempt } | undefined {
  for (const stage of Object.values(state.stages)) {
    const attempt = stage.attempts.find((a) => a.id === attemptId);
    if (attempt) return { stage, attempt };
  }
  return undefined;
}

/** Earliest moment a `tick` could change something (a backoff elapsing or an attempt timing out). */
export function nextWake(state: RunState): number | undefined {
  if (isTerminal(state)) return undefined;
  let earliest: number | undefined;
  const consider = (t: number): void => {
    if (earliest === undefined || t < earliest) earliest = t;
  };
  for (const stage of Object.values(state.stages)) {
    const def = defOf(state, stage.id);
    if (stage.status === "waiting" && stage.waitingFor === "retry_backoff" && stage.wakeAt !== undefined)
      if (state.status !== "held") consider(stage.wakeAt);
    for (const a of inFlight(stage)) consider(attemptDeadline(def, a));
  }
  return earliest;
}

/** The board column a run belongs in. */
export function boardColumn(state: RunState): BoardColumn {
  switch (state.status) {
    case "succeeded":
      return "Done";
    case "failed":
    case "aborted":
      return "Failed";
    case "held":
      return "Needs human";
    case "waiting":
    case "active": {
      const stages = Object.values(state.stages);
      const busy = stages.some(
        (s) =>
          s.status === "queued" ||
          s.status === "running" ||
          (s.status === "waiting" && s.waitingFor === "retry_backoff"),
      );
      if (busy) return "In progress";
      if (
        stages.some(
          (s) => s.status === "waiting" && (s.waitingFor === "approval" || s.waitingFor === "merge"),
        )
      )
        return "In review";
      if (state.status === "waiting") return "Needs human";
      return stages.some((s) => s.attempts.length > 0) ? "In progress" : "Ready";
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Internals shared by the handlers below

const TERMINAL_STAGE = new Set(["succeeded", "failed", "skipped", "aborted"]);

function defOf(state: RunState, stageId: string): StageDef {
  const def = state.workflow.stages.find((s) => s.id === stageId);
  // Stages come from the workflow, so this only guards corrupted state.
  return (
    def ?? {
      id: stageId,
      profile: state.stages[stageId]?.profile ?? "dev",
      needs: [],
      timeoutMinutes: 60,
      approvals: 0,
      success: {},
      onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "escalate_to_human" } },
      openPr: false,
    }
  );
}

const timeoutMs = (def: StageDef): number => Math.max(1, def.timeoutMinutes) * 60_000;

/**
 * How long a dispatched attempt may wait for its Actions run to start (queued for a runner) before the App gives up
 * on it. Generous, and separate from the stage's timeout: a run waiting for a busy runner pool is not working yet.
 */
export const NOT_STARTED_LIMIT_MS = 60 * 60_000;

/**
 * When an in-flight attempt times out: the stage's timeout counted from its Actions run's start, or, while the run
 * has not started, the not-started limit counted from the dispatch.
 */
export function attemptDeadline(def: StageDef, attempt: Attempt): number {
  return attempt.startedAt !== undefined
    ? attempt.startedAt + timeoutMs(def)
    : attempt.dispatchedAt + NOT_STARTED_LIMIT_MS;
}

function earliestDeadline(step: Step, stage: StageState): number | undefined {
  const def = defOf(step.run, stage.id);
  const open = inFlight(stage);
  return open.length > 0 ? Math.min(...open.map((a) => attemptDeadline(def, a))) : undefined;
}

function inFlight(stage: StageState): Attempt[] {
  return stage.attempts.filter((a) => a.finishedAt === undefined);
}

/** The latest attempt of the stage's own profile (not a reviewer). */
function lastProducer(stage: StageState): Attempt | undefined {
  for (let i = stage.attempts.length - 1; i >= 0; i--) {
    const a = stage.attempts[i];
    if (a && a.reviewer === undefined) return a;
  }
  return undefined;
}

const money = (usd: number): string => `$${usd.toFixed(2)}`;
const code = codeSpan;

/** Mutable working copy plus the effects collected while handling one event. */
class Step {
  readonly effects: Effect[] = [];
  private replies = 0;
  private audits = 0;
  readonly seq: number;
  /** Set when the state changed in a way `visible` ignores, so that it is still kept. */
  bookkept = false;

  constructor(
    readonly run: RunState,
    readonly at: number,
    readonly ctx: ReduceContext,
  ) {
    this.seq = (run.seq ?? 0) + 1;
  }

  reply(body: string): void {
    this.effects.push({ type: "reply", key: `reply:${this.run.id}:${this.seq}:${this.replies++}`, body });
  }

  audit(actor: string, action: string, detail: Record<string, unknown> = {}): void {
    this.effects.push({
      type: "audit",
      key: `audit:${this.run.id}:${this.seq}:${this.audits++}`,
      actor,
      action,
      detail,
    });
  }

  check(
    stage: StageState,
    attempt: Attempt,
    status: "queued" | "in_progress" | "completed",
    title: string,
    summary: string,
    conclusion?: CheckRunConclusion,
    phase?: string,
  ): void {
    const tag = phase ?? `${status}${conclusion ? `:${conclusion}` : ""}`;
    this.effects.push({
      type: "check_run",
      key: `check:${stage.id}:${attempt.id}:${tag}`,
      stage: stage.id,
      status,
      ...(conclusion ? { conclusion } : {}),
      title,
      summary,
      ...(attempt.runUrl ? { detailsUrl: attempt.runUrl } : {}),
      attemptId: attempt.id,
    });
  }

  permission(profile: string): PermissionLevel {
    return this.ctx.permissionOf?.(profile) ?? this.run.permissions?.[profile] ?? "autonomous";
  }

  get held(): boolean {
    return this.run.status === "held";
  }
}

// ---------------------------------------------------------------------------------------------
// Dispatch, success and failure

function dispatch(step: Step, stage: StageState, reviewer?: string): Attempt {
  const attempt: Attempt = {
    id: step.ctx.newAttemptId(),
    number: stage.attempts.length + 1,
    profile: reviewer ?? stage.profile,
    ...(reviewer !== undefined ? { reviewer } : {}),
    dispatchedAt: step.at,
  };
  stage.attempts.push(attempt);
  stage.status = "queued";
  delete stage.waitingFor;
  stage.wakeAt = earliestDeadline(step, stage);
  step.effects.push({
    type: "dispatch",
    key: `dispatch:${attempt.id}`,
    stage: stage.id,
    attemptId: attempt.id,
    attempt: attempt.number,
    profile: attempt.profile,
    ...(reviewer !== undefined ? { reviewer } : {}),
  });
  const what =
    reviewer !== undefined ? `review by ${reviewer}` : `attempt ${attempt.number} (${attempt.profile})`;
  step.check(stage, attempt, "queued", `Queued: ${what}`, `Dispatched ${what} of stage ${code(stage.id)}.`);
  step.audit(SYSTEM_ACTOR, "dispatch", {
    stage: stage.id,
    attemptId: attempt.id,
    attempt: attempt.number,
    profile: attempt.profile,
    ...(reviewer !== undefined ? { reviewer } : {}),
  });
  return attempt;
}

/** Dispatch the stage's producer now, or, while the run is held, as soon as it is released. */
function requestDispatch(step: Step, stage: StageState): void {
  if (step.held) {
    stage.status = "waiting";
    stage.waitingFor = "retry_backoff";
    stage.wakeAt = step.at;
    return;
  }
  dispatch(step, stage);
}

function refreshWake(step: Step, stage: StageState): void {
  const deadline = earliestDeadline(step, stage);
  if (deadline !== undefined) stage.wakeAt = deadline;
  else if (!(stage.status === "waiting" && stage.waitingFor === "retry_backoff")) delete stage.wakeAt;
}

/** Close every in-flight attempt of a stage (its check runs and Actions runs are cancelled). */
function cancelInFlight(step: Step, stage: StageState, why: string): void {
  for (const a of inFlight(stage)) {
    a.finishedAt = step.at;
    step.check(stage, a, "completed", "Cancelled", inline(why, 1000), "cancelled");
    cancelWorkflowRun(step, stage, a);
  }
}

/**
 * An attempt the run no longer waits for must not go on working (and spending): GitHub is asked to cancel its
 * Actions run. Without the run's id yet, this happens when GitHub names it (see `learnWorkflowRun`).
 */
function cancelWorkflowRun(step: Step, stage: StageState, attempt: Attempt): void {
  if (attempt.workflowRunId === undefined || attempt.result !== undefined) return;
  step.effects.push({
    type: "cancel_workflow_run",
    key: `cancel:${attempt.id}`,
    stage: stage.id,
    attemptId: attempt.id,
    workflowRunId: attempt.workflowRunId,
  });
}

/** Records the attempt's Actions run the first time GitHub names it; an attempt already abandoned has it cancelled. */
function learnWorkflowRun(step: Step, stage: StageState, attempt: Attempt, workflowRunId?: number): void {
  if (workflowRunId === undefined || attempt.workflowRunId !== undefined) return;
  attempt.workflowRunId = workflowRunId;
  step.bookkept = true;
  if (attempt.finishedAt !== undefined) cancelWorkflowRun(step, stage, attempt);
}

function requiredApprovals(step: Step, stage: StageState): number {
  const def = defOf(step.run, stage.id);
  const supervised = step.permission(stage.profile) === "supervised";
  return Math.max(def.approvals, supervised ? 1 : 0);
}

/** The producer's work is accepted by the agent (and reviewers): approvals, then PR, then done. */
function afterAgentSuccess(step: Step, stage: StageState, attempt: Attempt): void {
  const needed = requiredApprovals(step, stage);
  if (needed > stage.approvals.length) {
    stage.status = "waiting";
    stage.waitingFor = "approval";
    delete stage.wakeAt;
    step.check(
      stage,
      attempt,
      "completed",
      `Waiting for ${needed} approval${needed === 1 ? "" : "s"}`,
      `The agent finished; a human must \`/approve ${ident(stage.id)}\` or \`/reject ${ident(stage.id)} <reason>\`.`,
      "action_required",
    );
    return;
  }
  finishStage(step, stage, attempt);
}

function finishStage(step: Step, stage: StageState, attempt: Attempt): void {
  const def = defOf(step.run, stage.id);
  const branch = attempt.result?.branch;
  // "accepted": the attempt's check run may already be completed (review loop, approvals); this is its final word.
  step.check(
    stage,
    attempt,
    "completed",
    "Succeeded",
    outcomeSummary(step, stage, attempt),
    "success",
    "accepted",
  );
  if (def.openPr && branch) {
    stage.status = "waiting";
    stage.waitingFor = "merge";
    delete stage.wakeAt;
    step.effects.push({
      type: "open_pr",
      key: `pr:${stage.id}:${attempt.id}`,
      stage: stage.id,
      attemptId: attempt.id,
      branch,
      title: `${step.run.issueTitle} (#${step.run.issue}, ${stage.id})`,
    });
    step.audit(SYSTEM_ACTOR, "open_pr", { stage: stage.id, attemptId: attempt.id, branch });
    return;
  }
  markSucceeded(step, stage);
}

function markSucceeded(step: Step, stage: StageState): void {
  stage.status = "succeeded";
  delete stage.waitingFor;
  delete stage.wakeAt;
  delete stage.reason;
  step.audit(SYSTEM_ACTOR, "stage_succeeded", { stage: stage.id });
}

/** The check-run summary of a finished attempt: criteria, tests, scenarios, coverage and cost. */
function outcomeSummary(step: Step, stage: StageState, attempt: Attempt): string {
  return renderCheckRunSummary(stage, attempt, { def: defOf(step.run, stage.id) }).summary;
}

/**
 * An attempt (or a review round, a rejection, a closed PR) failed: retry with backoff, then the stage's
 * terminal strategy. Nothing of the stage may be in flight when this is called.
 */
function failAttempt(step: Step, stage: StageState, why: string): void {
  // A reason is always present: an empty one would make an escalation look like a start gate.
  const reason = why.trim() || "failed without a reason";
  const def = defOf(step.run, stage.id);
  const policy = def.onFailure;
  stage.reason = reason;
  stage.approvals = [];
  delete stage.question;
  if (stage.retriesUsed < policy.retries) {
    stage.retriesUsed += 1;
    const wakeAt = step.at + Math.max(0, policy.backoffSeconds) * 2 ** (stage.retriesUsed - 1) * 1000;
    step.audit(SYSTEM_ACTOR, "retry_scheduled", {
      stage: stage.id,
      retry: stage.retriesUsed,
      of: policy.retries,
      wakeAt,
      reason,
    });
    stage.status = "waiting";
    stage.waitingFor = "retry_backoff";
    stage.wakeAt = wakeAt;
    if (wakeAt <= step.at && !step.held) dispatch(step, stage);
    return;
  }
  const then = policy.then;
  switch (then.kind) {
    case "abort_all": {
      stage.status = "failed";
      delete stage.waitingFor;
      delete stage.wakeAt;
      step.audit(SYSTEM_ACTOR, "abort_all", { stage: stage.id, reason });
      for (const other of Object.values(step.run.stages)) {
        if (other.id === stage.id || TERMINAL_STAGE.has(other.status)) continue;
        cancelInFlight(step, other, `Aborted: stage ${stage.id} failed (${reason}).`);
        other.status = "aborted";
        other.reason = `aborted because ${stage.id} failed`;
        delete other.waitingFor;
        delete other.wakeAt;
      }
      return;
    }
    case "continue_others":
      stage.status = "failed";
      delete stage.waitingFor;
      delete stage.wakeAt;
      step.audit(SYSTEM_ACTOR, "stage_failed", { stage: stage.id, reason });
      return;
    case "retry_with_different_agent":
      if (
        then.profile !== stage.profile &&
        !stage.attempts.some((a) => !a.reviewer && a.profile === then.profile)
      ) {
        step.audit(SYSTEM_ACTOR, "fallback_agent", {
          stage: stage.id,
          from: stage.profile,
          to: then.profile,
          reason,
        });
        stage.profile = then.profile;
        requestDispatch(step, stage);
        return;
      }
      escalate(step, stage, reason);
      return;
    case "escalate_to_human":
      escalate(step, stage, reason);
      return;
  }
}

function escalate(step: Step, stage: StageState, reason: string): void {
  stage.status = "waiting";
  stage.waitingFor = "human";
  stage.reason = reason;
  delete stage.wakeAt;
  step.audit(SYSTEM_ACTOR, "escalated", { stage: stage.id, reason });
  step.reply(
    `Stage ${code(stage.id)} needs a human: ${inline(reason, 500)}\n\n` +
      `Use \`/retry ${ident(stage.id)}\` to try again (optionally \`/assign ${ident(stage.id)} <profile>\` first) or \`/abort\` to stop the run.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Settling: skip, queue and gate stages, then derive the run status.

function settle(step: Step): void {
  const run = step.run;
  if (isTerminal(run)) return;
  const stages = run.stages;
  const order = run.workflow.stages.map((d) => d.id).filter((id) => stages[id]);
  // Skips propagate down the DAG; a few passes reach the fixpoint.
  for (let changed = true; changed;) {
    changed = false;
    for (const id of order) {
      const stage = stages[id];
      if (!stage || stage.status !== "pending") continue;
      const dead = defOf(run, id).needs.find((n) => {
        const s = stages[n]?.status;
        return s === "failed" || s === "skipped" || s === "aborted";
      });
      if (dead !== undefined) {
        stage.status = "skipped";
        stage.reason = `needs ${dead}, which did not succeed`;
        changed = true;
      }
    }
  }
  if (!step.held) {
    for (const id of order) {
      const stage = stages[id];
      if (!stage || stage.status !== "pending") continue;
      const ready = defOf(run, id).needs.every(
        (n) => stages[n]?.status === "succeeded" || stages[n] === undefined,
      );
      if (!ready) continue;
      if (step.permission(stage.profile) === "human-required") {
        stage.status = "waiting";
        stage.waitingFor = "human";
        delete stage.reason;
        step.audit(SYSTEM_ACTOR, "awaiting_human", { stage: id, profile: stage.profile });
        step.reply(
          `Stage ${code(id)} uses the ${code(stage.profile)} profile, which requires a human to start it. ` +
            `Comment \`/approve ${ident(id)}\` to dispatch it, or \`/assign ${ident(id)} <profile>\` to use another profile.`,
        );
      } else dispatch(step, stage);
    }
  }
  deriveStatus(step);
}

function deriveStatus(step: Step): void {
  const run = step.run;
  if (run.status === "aborted") return;
  const stages = Object.values(run.stages);
  const before = run.status;
  const progressing = stages.some(
    (s) =>
      s.status === "queued" ||
      s.status === "running" ||
      (s.status === "waiting" && s.waitingFor === "retry_backoff") ||
      (s.status === "pending" && step.held),
  );
  const humanWait = stages.some((s) => s.status === "waiting" && s.waitingFor !== "retry_backoff");
  const allDone = stages.every((s) => TERMINAL_STAGE.has(s.status));
  let next = run.status;
  if (allDone) {
    next = stages.some((s) => s.status === "failed" || s.status === "aborted") ? "failed" : "succeeded";
  } else if (step.held) next = "held";
  else if (progressing) next = "active";
  else if (humanWait) next = "waiting";
  else next = "active"; // pending stages behind running ones; unreachable in practice
  run.status = next;
  if (next !== before && (next === "succeeded" || next === "failed")) {
    if (next === "failed") run.reason = stages.find((s) => s.status === "failed")?.reason ?? "a stage failed";
    step.audit(SYSTEM_ACTOR, next === "succeeded" ? "run_succeeded" : "run_failed", {
      ...(run.reason ? { reason: run.reason } : {}),
    });
    if (next === "succeeded") delete run.reason;
  }
}

// ---------------------------------------------------------------------------------------------
// Event handlers

type Handler<E extends RunEvent["type"]> = (step: Step, event: Extract<RunEvent, { type: E }>) => void;

function targetStage(
  step: Step,
  command: string,
  requested: string | undefined,
  accept: (s: StageState) => boolean,
  none: string,
): StageState | undefined {
  const stages = step.run.stages;
  if (requested !== undefined) {
    const s = stages[requested];
    if (!s) {
      step.reply(
        `${command}: there is no stage ${code(requested)}; the stages are ${Object.keys(stages).map(code).join(", ")}.`,
      );
      return undefined;
    }
    return s;
  }
  const found = step.run.workflow.stages.map((d) => stages[d.id]).find((s) => s !== undefined && accept(s));
  if (!found) step.reply(`${command}: ${none}`);
  return found;
}

function describe(stage: StageState): string {
  if (stage.status === "waiting") return `waiting for ${waitLabel(stage)}`;
  return stage.status;
}

function waitLabel(stage: StageState): string {
  switch (stage.waitingFor) {
    case "approval":
      return "approval";
    case "answer":
      return "an answer";
    case "retry_backoff":
      return "a retry";
    case "human":
      return "a human";
    case "budget":
      return "budget";
    case "merge":
      return "its pull request to be merged";
    default:
      return "something";
  }
}

function refuseIfTerminal(step: Step, command: string): boolean {
  if (!isTerminal(step.run)) return false;
  step.reply(`${command}: this run has already ${step.run.status}.`);
  return true;
}

const onStart: Handler<"start"> = (step, e) => {
  const started = Object.values(step.run.stages).some((s) => s.status !== "pending" || s.attempts.length > 0);
  if (started || isTerminal(step.run)) {
    step.reply(`This run has already started (it is ${step.run.status}).`);
    return;
  }
  step.audit(e.actor, "start", { workflow: step.run.workflow.name });
};

const onAttemptQueued: Handler<"attempt_queued"> = (step, e) => {
  const found = stageForAttempt(step.run, e.attemptId);
  if (!found) return;
  const { stage, attempt } = found;
  learnWorkflowRun(step, stage, attempt, e.workflowRunId);
};

const onAttemptStarted: Handler<"attempt_started"> = (step, e) => {
  const found = stageForAttempt(step.run, e.attemptId);
  if (!found) return;
  learnWorkflowRun(step, found.stage, found.attempt, e.workflowRunId);
  if (found.attempt.finishedAt !== undefined || found.attempt.startedAt !== undefined) return;
  const { stage, attempt } = found;
  attempt.startedAt = e.at;
  if (e.runUrl) attempt.runUrl = e.runUrl;
  if (stage.status === "queued") stage.status = "running";
  // Its timeout now counts from this start, no longer the not-started limit from the dispatch.
  refreshWake(step, stage);
  const what = attempt.reviewer !== undefined ? `review by ${attempt.reviewer}` : `attempt ${attempt.number}`;
  step.check(
    stage,
    attempt,
    "in_progress",
    `Running ${what}`,
    `The agent (${code(attempt.profile)}) is working.`,
  );
};

function recordResult(step: Step, attempt: Attempt, result: AgentResult | undefined): void {
  if (result) {
    attempt.result = result;
    step.run.costUsd += Math.max(0, result.costUsd);
  }
}

const onAttemptFinished: Handler<"attempt_finished"> = (step, e) => {
  const found = stageForAttempt(step.run, e.attemptId);
  if (!found || found.attempt.result !== undefined) return;
  const { stage, attempt } = found;
  const late = attempt.finishedAt !== undefined;
  recordResult(step, attempt, e.result);
  if (late) return; // timed out, cancelled or aborted already: keep the cost, change nothing else
  attempt.finishedAt = e.at;
  if (stage.status !== "queued" && stage.status !== "running") return;
  if (attempt.reviewer !== undefined) {
    const verdict = e.result.review?.verdict;
    step.check(
      stage,
      attempt,
      "completed",
      verdict === "approve" ? "Review: approved" : "Review: changes requested",
      e.result.review?.comments
        ? block(e.result.review.comments, 4000)
        : block(e.result.summary || "(no comments)"),
      verdict === "approve" ? "success" : "neutral",
    );
    reviewRoundMaybeDone(step, stage);
    return;
  }
  refreshWake(step, stage);
  const r = e.result;
  switch (r.status) {
    case "succeeded": {
      const loop = defOf(step.run, stage.id).iterate;
      if (loop && loop.reviewers.length > 0) {
        step.check(
          stage,
          attempt,
          "completed",
          `Produced; ${loop.reviewers.length} review(s) requested`,
          outcomeSummary(step, stage, attempt),
          "success",
        );
        if (step.held) {
          stage.status = "waiting";
          stage.waitingFor = "retry_backoff";
          stage.wakeAt = step.at;
        } else dispatchReviewers(step, stage);
        return;
      }
      afterAgentSuccess(step, stage, attempt);
      return;
    }
    case "needs_input": {
      const question = r.question ?? r.summary ?? "The agent needs more information.";
      stage.status = "waiting";
      stage.waitingFor = "answer";
      stage.question = question;
      delete stage.wakeAt;
      step.check(
        stage,
        attempt,
        "completed",
        "Question for a human",
        block(question, 4000),
        "action_required",
      );
      step.audit(SYSTEM_ACTOR, "question", { stage: stage.id, attemptId: attempt.id });
      step.reply(
        `The agent working on stage ${code(stage.id)} has a question:\n\n${block(question, 8000)}\n\n` +
          "Reply with `/answer <your answer>` and the stage will continue with it.",
      );
      return;
    }
    case "failed":
    case "error": {
      const reason =
        r.reason ?? (r.status === "error" ? "the agent run errored" : "the agent reported failure");
      step.check(stage, attempt, "completed", "Failed", outcomeSummary(step, stage, attempt), "failure");
      stage.feedback.push(`Attempt ${attempt.number} failed: ${reason}`);
      failAttempt(step, stage, reason);
      return;
    }
  }
};

function dispatchReviewers(step: Step, stage: StageState): void {
  for (const reviewer of defOf(step.run, stage.id).iterate?.reviewers ?? []) dispatch(step, stage, reviewer);
}

/** Resume a stage parked in `retry_backoff`: a pending review round, or the producer. */
function dispatchNext(step: Step, stage: StageState): void {
  const producer = lastProducer(stage);
  const loop = defOf(step.run, stage.id).iterate;
  if (
    loop &&
    loop.reviewers.length > 0 &&
    producer?.result?.status === "succeeded" &&
    currentReviews(stage).length === 0
  )
    dispatchReviewers(step, stage);
  else dispatch(step, stage);
}

/** Reviewer attempts of the current round: those after the latest producer attempt. */
function currentReviews(stage: StageState): Attempt[] {
  const producer = lastProducer(stage);
  const start = producer ? stage.attempts.indexOf(producer) + 1 : 0;
  return stage.attempts.slice(start).filter((a) => a.reviewer !== undefined);
}

function reviewRoundMaybeDone(step: Step, stage: StageState): void {
  refreshWake(step, stage);
  const reviews = currentReviews(stage);
  if (reviews.some((a) => a.finishedAt === undefined)) return;
  const loop = defOf(step.run, stage.id).iterate;
  const producer = lastProducer(stage);
  if (!loop || !producer) return;
  const approvals = reviews.filter((a) => a.result?.review?.verdict === "approve").length;
  const share = reviews.length === 0 ? 1 : approvals / reviews.length;
  stage.iteration += 1;
  step.audit(SYSTEM_ACTOR, "review_round", {
    stage: stage.id,
    iteration: stage.iteration,
    approvals,
    reviewers: reviews.length,
    threshold: loop.threshold,
  });
  if (share >= loop.threshold) {
    afterAgentSuccess(step, stage, producer);
    return;
  }
  const comments = reviews
    .filter((a) => a.result?.review?.verdict !== "approve")
    .map(
      (a) =>
        `${a.reviewer}: ${a.result?.review?.comments ?? a.result?.reason ?? a.result?.summary ?? "no review"}`,
    );
  stage.feedback.push(
    `Review round ${stage.iteration} (${approvals}/${reviews.length} approved):\n${comments.join("\n")}`,
  );
  if (stage.iteration < loop.maxIterations) {
    requestDispatch(step, stage);
    return;
  }
  failAttempt(
    step,
    stage,
    `reviewers did not approve after ${stage.iteration} iteration${stage.iteration === 1 ? "" : "s"} (${approvals}/${reviews.length})`,
  );
}

/** An in-flight attempt ended without a usable result (lost run or timeout). */
function attemptEnded(
  step: Step,
  stage: StageState,
  attempt: Attempt,
  reason: string,
  conclusion: CheckRunConclusion,
): void {
  attempt.finishedAt = step.at;
  step.check(
    stage,
    attempt,
    "completed",
    conclusion === "timed_out" ? "Timed out" : "Failed",
    inline(reason, 1000),
    conclusion,
  );
  if (attempt.reviewer !== undefined) {
    reviewRoundMaybeDone(step, stage);
    return;
  }
  refreshWake(step, stage);
  stage.feedback.push(`Attempt ${attempt.number} failed: ${reason}`);
  failAttempt(step, stage, reason);
}

const onAttemptLost: Handler<"attempt_lost"> = (step, e) => {
  const found = stageForAttempt(step.run, e.attemptId);
  if (!found || found.attempt.finishedAt !== undefined) return;
  if (found.stage.status !== "queued" && found.stage.status !== "running") return;
  attemptEnded(step, found.stage, found.attempt, e.reason, "failure");
};

const onTick: Handler<"tick"> = (step) => {
  if (isTerminal(step.run)) return;
  for (const def of step.run.workflow.stages) {
    const stage = step.run.stages[def.id];
    if (!stage) continue;
    for (const a of inFlight(stage)) {
      if (step.at < attemptDeadline(def, a)) continue;
      if (a.finishedAt !== undefined) continue; // an earlier timeout in this loop already closed it
      if (stage.status !== "queued" && stage.status !== "running") break;
      cancelWorkflowRun(step, stage, a);
      const why =
        a.startedAt !== undefined
          ? "timed out"
          : `its Actions run did not start within ${NOT_STARTED_LIMIT_MS / 60_000} minutes (no runner picked it up)`;
      attemptEnded(step, stage, a, why, "timed_out");
    }
    if (
      !step.held &&
      stage.status === "waiting" &&
      stage.waitingFor === "retry_backoff" &&
      stage.wakeAt !== undefined &&
      step.at >= stage.wakeAt
    )
      dispatchNext(step, stage);
  }
};

const onApprove: Handler<"approve"> = (step, e) => {
  if (refuseIfTerminal(step, "/approve")) return;
  const stage = targetStage(
    step,
    "/approve",
    e.stage,
    (s) => s.status === "waiting" && (s.waitingFor === "approval" || (s.waitingFor === "human" && !s.reason)),
    "no stage is waiting for approval.",
  );
  if (!stage) return;
  if (stage.status === "waiting" && stage.waitingFor === "human" && !stage.reason) {
    step.audit(e.actor, "approve_start", { stage: stage.id, profile: stage.profile });
    requestDispatch(step, stage);
    return;
  }
  if (stage.status === "waiting" && stage.waitingFor === "human") {
    step.reply(
      `/approve: stage ${code(stage.id)} failed and needs a human; use \`/retry ${ident(stage.id)}\` or \`/abort\`.`,
    );
    return;
  }
  if (stage.status !== "waiting" || stage.waitingFor !== "approval") {
    step.reply(`/approve: stage ${code(stage.id)} is not waiting for approval (it is ${describe(stage)}).`);
    return;
  }
  if (stage.approvals.includes(e.actor)) {
    step.reply(
      `/approve: ${code(e.actor)} has already approved stage ${code(stage.id)}; another person must approve.`,
    );
    return;
  }
  stage.approvals.push(e.actor);
  const needed = requiredApprovals(step, stage);
  step.audit(e.actor, "approve", { stage: stage.id, approvals: stage.approvals.length, needed });
  const producer = lastProducer(stage);
  if (stage.approvals.length >= needed && producer) finishStage(step, stage, producer);
};

const onReject: Handler<"reject"> = (step, e) => {
  if (refuseIfTerminal(step, "/reject")) return;
  const stage = targetStage(
    step,
    "/reject",
    e.stage,
    (s) => s.status === "waiting" && s.waitingFor === "approval",
    "no stage is waiting for approval.",
  );
  if (!stage) return;
  if (stage.status !== "waiting" || stage.waitingFor !== "approval") {
    step.reply(`/reject: stage ${code(stage.id)} is not waiting for approval (it is ${describe(stage)}).`);
    return;
  }
  const reason = e.reason.trim() || "no reason given";
  step.audit(e.actor, "reject", { stage: stage.id, reason });
  const producer = lastProducer(stage);
  if (producer)
    step.check(stage, producer, "completed", `Rejected by ${e.actor}`, inline(reason, 1000), "failure");
  stage.feedback.push(`Rejected by ${e.actor}: ${reason}`);
  failAttempt(step, stage, `rejected by ${e.actor}: ${reason}`);
};

const onAnswer: Handler<"answer"> = (step, e) => {
  if (refuseIfTerminal(step, "/answer")) return;
  const stage = step.run.workflow.stages
    .map((d) => step.run.stages[d.id])
    .find((s) => s?.status === "waiting" && s.waitingFor === "answer");
  if (!stage) {
    step.reply("/answer: no question is waiting for an answer.");
    return;
  }
  if (!e.text.trim()) {
    step.reply("/answer: the answer is empty; write it after the command, e.g. `/answer use PostgreSQL`.");
    return;
  }
  stage.answers.push({ question: stage.question ?? "", answer: e.text, by: e.actor });
  delete stage.question;
  step.audit(e.actor, "answer", { stage: stage.id });
  requestDispatch(step, stage);
};

const onHold: Handler<"hold"> = (step, e) => {
  if (refuseIfTerminal(step, "/hold")) return;
  if (step.held) {
    step.reply("/hold: the run is already on hold; `/unhold` releases it.");
    return;
  }
  step.run.status = "held";
  step.run.reason = e.reason ? `held by ${e.actor}: ${e.reason}` : `held by ${e.actor}`;
  step.audit(e.actor, "hold", { ...(e.reason ? { reason: e.reason } : {}) });
};

const onUnhold: Handler<"unhold"> = (step, e) => {
  if (refuseIfTerminal(step, "/unhold")) return;
  if (!step.held) {
    step.reply("/unhold: the run is not on hold.");
    return;
  }
  step.run.status = "active";
  delete step.run.reason;
  step.audit(e.actor, "unhold", {});
  for (const def of step.run.workflow.stages) {
    const stage = step.run.stages[def.id];
    if (stage?.status === "waiting" && stage.waitingFor === "retry_backoff" && (stage.wakeAt ?? 0) <= step.at)
      dispatchNext(step, stage);
  }
};

const onAbort: Handler<"abort"> = (step, e) => {
  if (refuseIfTerminal(step, "/abort")) return;
  for (const stage of Object.values(step.run.stages)) {
    if (TERMINAL_STAGE.has(stage.status)) continue;
    cancelInFlight(step, stage, `Aborted by ${e.actor}: ${e.reason}`);
    stage.status = "aborted";
    stage.reason = `aborted by ${e.actor}`;
    delete stage.waitingFor;
    delete stage.wakeAt;
  }
  step.run.status = "aborted";
  step.run.reason = `aborted by ${e.actor}: ${e.reason}`;
  step.audit(e.actor, "abort", { reason: e.reason });
};

const onRetry: Handler<"retry"> = (step, e) => {
  const run = step.run;
  if (run.status === "aborted" || run.status === "succeeded") {
    step.reply(`/retry: this run has already ${run.status}; start a new one with \`/run\`.`);
    return;
  }
  const stage = targetStage(
    step,
    "/retry",
    e.stage,
    (s) => s.status === "failed" || s.status === "waiting",
    "no stage has failed or is waiting.",
  );
  if (!stage) return;
  if (stage.status !== "failed" && stage.status !== "waiting") {
    step.reply(`/retry: stage ${code(stage.id)} cannot be retried now (it is ${describe(stage)}).`);
    return;
  }
  step.audit(e.actor, "retry", { stage: stage.id, profile: stage.profile });
  cancelInFlight(step, stage, `Retried by ${e.actor}`);
  stage.retriesUsed = 0;
  stage.iteration = 0;
  stage.approvals = [];
  delete stage.question;
  delete stage.reason;
  delete stage.prNumber;
  if (run.status === "failed") {
    delete run.reason;
    run.status = "active";
  }
  // Whatever was skipped or aborted because of a failure may run again; settling skips what is still blocked.
  for (const s of Object.values(run.stages)) {
    if (s.id !== stage.id && (s.status === "skipped" || s.status === "aborted")) {
      s.status = "pending";
      delete s.reason;
    }
  }
  requestDispatch(step, stage);
};

const onAssign: Handler<"assign"> = (step, e) => {
  if (refuseIfTerminal(step, "/assign")) return;
  const stage = step.run.stages[e.stage];
  if (!stage) {
    step.reply(
      `/assign: there is no stage ${code(e.stage)}; the stages are ${Object.keys(step.run.stages).map(code).join(", ")}.`,
    );
    return;
  }
  const known = step.run.permissions;
  if (known && !(e.profile in known) && !step.ctx.permissionOf?.(e.profile)) {
    step.reply(
      `/assign: there is no profile ${code(e.profile)}; known profiles are ${Object.keys(known).map(code).join(", ")}.`,
    );
    return;
  }
  if (stage.status === "succeeded" || stage.status === "skipped" || stage.status === "aborted") {
    step.reply(`/assign: stage ${code(stage.id)} is ${stage.status}; the profile would never be used.`);
    return;
  }
  step.audit(e.actor, "assign", { stage: stage.id, from: stage.profile, to: e.profile });
  stage.profile = e.profile;
};

const onPrOpened: Handler<"pr_opened"> = (step, e) => {
  const stage = step.run.stages[e.stage];
  if (!stage || stage.prNumber === e.prNumber) return;
  stage.prNumber = e.prNumber;
  step.audit(SYSTEM_ACTOR, "pr_opened", { stage: stage.id, prNumber: e.prNumber });
};

function stageForPr(step: Step, prNumber: number): StageState | undefined {
  return Object.values(step.run.stages).find(
    (s) => s.prNumber === prNumber && s.status === "waiting" && s.waitingFor === "merge",
  );
}

const onPrMerged: Handler<"pr_merged"> = (step, e) => {
  const stage = stageForPr(step, e.prNumber);
  if (!stage) return;
  step.audit(e.actor, "pr_merged", { stage: stage.id, prNumber: e.prNumber });
  markSucceeded(step, stage);
};

const onPrClosed: Handler<"pr_closed"> = (step, e) => {
  const stage = stageForPr(step, e.prNumber);
  if (!stage) return;
  step.audit(e.actor, "pr_closed", { stage: stage.id, prNumber: e.prNumber });
  const producer = lastProducer(stage);
  if (producer)
    step.check(
      stage,
      producer,
      "completed",
      `PR #${e.prNumber} closed`,
      "Closed without merging.",
      "failure",
    );
  stage.feedback.push(`Pull request #${e.prNumber} was closed without merging by ${e.actor}.`);
  delete stage.prNumber;
  failAttempt(step, stage, `pull request #${e.prNumber} was closed without merging`);
};

/**
 * The run's issue was closed and its pull request is merged: the merge closed it. GitHub closes the issues a PR
 * merged into the default branch names with a closing keyword, and delivers `pull_request.closed` and
 * `issues.closed` in no fixed order, so this must end the run as `pr_merged` would, never abort it. The PR's stage
 * succeeds (a human merged its work); the issue being done, the stages still to come are skipped.
 */
const onClosedByMerge: Handler<"closed_by_merge"> = (step, e) => {
  if (isTerminal(step.run)) return;
  const why = `issue #${step.run.issue} was closed by the merge of pull request #${e.prNumber}`;
  step.audit(e.actor, "issue_closed_by_merge", { prNumber: e.prNumber });
  const merged = Object.values(step.run.stages).find(
    (s) => s.prNumber === e.prNumber && !TERMINAL_STAGE.has(s.status),
  );
  if (merged) {
    cancelInFlight(step, merged, `Merged: ${why}`);
    step.audit(e.actor, "pr_merged", { stage: merged.id, prNumber: e.prNumber });
    markSucceeded(step, merged);
  }
  for (const stage of Object.values(step.run.stages)) {
    if (TERMINAL_STAGE.has(stage.status)) continue;
    cancelInFlight(step, stage, `Skipped: ${why}`);
    stage.status = "skipped";
    stage.reason = why;
    delete stage.waitingFor;
    delete stage.wakeAt;
  }
};

const onDispatchRefused: Handler<"dispatch_refused"> = (step, e) => {
  const found = stageForAttempt(step.run, e.attemptId);
  if (!found || found.attempt.startedAt !== undefined || found.attempt.finishedAt !== undefined) return;
  const { stage, attempt } = found;
  // The attempt never ran: drop it, and stop the rest of the stage so a human decides with a clean slate.
  step.check(
    stage,
    attempt,
    "completed",
    "Not dispatched: budget",
    inline(e.reason, 1000),
    "action_required",
  );
  stage.attempts = stage.attempts.filter((a) => a.id !== attempt.id);
  cancelInFlight(step, stage, "Budget exceeded");
  stage.status = "waiting";
  stage.waitingFor = "budget";
  stage.reason = e.reason;
  delete stage.wakeAt;
  step.audit(SYSTEM_ACTOR, "dispatch_refused", { stage: stage.id, attemptId: attempt.id, reason: e.reason });
  step.reply(
    `Stage ${code(stage.id)} was not dispatched: ${inline(e.reason, 500)}\n\n` +
      `Spent so far on this run: ${money(step.run.costUsd)} of ${money(step.run.costCapUsd)}. ` +
      `Raise the budget in \`.github/trellis.yml\` (or wait for the monthly budget to reset), then \`/retry ${ident(stage.id)}\`; or \`/abort\`.`,
  );
};

const HANDLERS: { [K in RunEvent["type"]]: Handler<K> } = {
  start: onStart,
  attempt_queued: onAttemptQueued,
  attempt_started: onAttemptStarted,
  attempt_finished: onAttemptFinished,
  attempt_lost: onAttemptLost,
  tick: onTick,
  approve: onApprove,
  reject: onReject,
  answer: onAnswer,
  hold: onHold,
  unhold: onUnhold,
  abort: onAbort,
  retry: onRetry,
  assign: onAssign,
  pr_opened: onPrOpened,
  pr_merged: onPrMerged,
  pr_closed: onPrClosed,
  closed_by_merge: onClosedByMerge,
  dispatch_refused: onDispatchRefused,
};

// What a human sees in the status comment; when it changes, the comment is re-rendered.
// (Which Actions run executes an attempt is bookkeeping: learning it re-renders nothing.)
const visible = (run: RunState): string =>
  JSON.stringify([run.status, run.reason, run.costUsd, run.stages], (key, value: unknown) =>
    key === "workflowRunId" ? undefined : value,
  );

export function reduceRun(state: RunState, event: RunEvent, ctx: ReduceContext): ReduceOutput {
  let run: RunState;
  try {
    run = structuredClone(state);
  } catch {
    return { state, effects: [] };
  }
  const step = new Step(run, event.at, ctx);
  try {
    const handler = HANDLERS[event.type] as Handler<RunEvent["type"]> | undefined;
    if (!handler) return { state, effects: [] };
    handler(step, event);
    settle(step);
  } catch (error) {
    // A bug must not wedge the pipeline: keep the old state and leave a trace in the audit log.
    const fallback = new Step(structuredClone(state), event.at, ctx);
    fallback.audit(SYSTEM_ACTOR, "reducer_error", {
      event: event.type,
      message: error instanceof Error ? error.message : String(error),
    });
    return { state: { ...fallback.run, seq: fallback.seq }, effects: fallback.effects };
  }
  const effects = step.effects;
  const changed = visible(run) !== visible(state);
  if (changed) {
    effects.push({ type: "status_comment", key: `status:${run.id}:${step.seq}` });
    // The card moves with the run, and its Stage/Agent/Cost fields follow the current stage.
    const card = boardCard(run);
    if (JSON.stringify(card) !== JSON.stringify(boardCard(state)))
      effects.push({ type: "board", key: `board:${run.id}:${step.seq}`, ...card });
  }
  // A human whose command changed nothing still leaves a trace in the audit log.
  // (Merges and closes of PRs that are not this run's are none of its business.)
  if (
    "actor" in event &&
    event.type !== "pr_merged" &&
    event.type !== "pr_closed" &&
    !effects.some((e) => e.type === "audit" && e.actor === event.actor)
  ) {
    const reply = effects.find((e) => e.type === "reply");
    step.audit(
      event.actor,
      `${event.type}_ignored`,
      reply?.type === "reply" ? { reply: reply.body.slice(0, 500) } : {},
    );
  }
  if (effects.length === 0 && !changed && !step.bookkept) return { state, effects };
  run.seq = step.seq;
  run.updatedAt = Math.max(state.updatedAt, event.at);
  return { state: run, effects };
}

function boardCard(run: RunState): { column: BoardColumn; stage?: string; agent?: string; costUsd: number } {
  const current = isTerminal(run) ? undefined : currentStage(run);
  return {
    column: boardColumn(run),
    ...(current ? { stage: current.id, agent: current.profile } : {}),
    costUsd: run.costUsd,
  };
}

/** The stage a human would say the run is "on": the first one not finished. */
export function currentStage(run: RunState): StageState | undefined {
  const order = run.workflow.stages.map((d) => run.stages[d.id]).filter((s) => s !== undefined);
  return (
    order.find((s) => s.status === "running" || s.status === "queued" || s.status === "waiting") ??
    order.find((s) => s.status === "pending") ??
    order.at(-1)
  );
}

/**
 * What the Action needs for one dispatched attempt, from the run's state: the stage's feedback and the
 * human answers so far, the remaining run budget as the attempt's cost cap, and the stage's timeout.
 */
export function dispatchSpecFor(
  run: RunState,
  attemptId: string,
  opts: { baseRef: string; branch?: string },
): DispatchSpec | undefined {
  const found = stageForAttempt(run, attemptId);
  if (!found) return undefined;
  const { stage, attempt } = found;
  const def = defOf(run, stage.id);
  return {
    attemptId,
    runId: run.id,
    repo: { ...run.repo },
    issue: run.issue,
    workflow: run.workflow.name,
    stage: stage.id,
    profile: attempt.profile,
    attempt: attempt.number,
    branch: opts.branch ?? branchName(run.issue, run.issueTitle),
    baseRef: opts.baseRef,
    feedback: [...stage.feedback],
    answers: stage.answers.map((a) => ({ ...a })),
    costCapUsd: Math.max(0, run.costCapUsd - run.costUsd),
    timeoutMinutes: Math.max(1, Math.round(def.timeoutMinutes)),
  };
}
