/**
 * The one builder of the Action's dispatch spec (src/core/dispatch.ts), for both kinds of attempt: a run's stage and
 * a batch ticket's refinement. What differs between them is the builder's input; the shaping (what the Action may
 * see of feedback and answers, the cost cap never negative, the fields' order) is done here once. Pure.
 */
import type { BatchState, BatchTicket } from "./batch/machine.js";
import { refineStage, refineTimeoutMinutes } from "./batch/refine-outcome.js";
import { REFINE_PROFILE, type Definitions } from "./definitions.js";
import { branchName, TICKET_TEXT_MAX_CHARS, type DispatchSpec } from "./dispatch.js";
import type { Effect, RunState } from "./model.js";

/** The agent sees the latest few rounds of feedback and answers, each feedback bounded. */
const MAX_FEEDBACK = 5;
const MAX_FEEDBACK_CHARS = 4_000;
const MAX_ANSWERS = 5;

/** A stage without a known definition (corrupted state) gets this limit. */
const DEFAULT_TIMEOUT_MINUTES = 30;

export interface DispatchSpecInput {
  attemptId: string;
  runId: string;
  repo: { owner: string; name: string };
  issue: number;
  workflow: string;
  stage: string;
  profile: string;
  attempt: number;
  branch: string;
  baseRef: string;
  feedback: readonly string[];
  answers: readonly { question: string; answer: string; by: string }[];
  /** When a human started the run (epoch ms): the Action leaves out issue text written later. */
  triggeredAt?: number;
  /** What the attempt may still spend (the budget check's remainder); never below zero in the spec. */
  remainingUsd: number;
  timeoutMinutes: number;
  detects?: DispatchSpec["detects"];
  ticket?: DispatchSpec["ticket"];
}

export function dispatchSpec(input: DispatchSpecInput): DispatchSpec {
  return {
    attemptId: input.attemptId,
    runId: input.runId,
    repo: { owner: input.repo.owner, name: input.repo.name },
    issue: input.issue,
    workflow: input.workflow,
    stage: input.stage,
    profile: input.profile,
    attempt: input.attempt,
    branch: input.branch,
    baseRef: input.baseRef,
    feedback: input.feedback.slice(-MAX_FEEDBACK).map((f) => f.slice(0, MAX_FEEDBACK_CHARS)),
    answers: input.answers.slice(-MAX_ANSWERS),
    ...(input.triggeredAt !== undefined ? { triggeredAt: new Date(input.triggeredAt).toISOString() } : {}),
    costCapUsd: Math.max(0, input.remainingUsd),
    timeoutMinutes: input.timeoutMinutes,
    ...(input.detects
      ? { detects: { attemptId: input.detects.attemptId, workflowRunId: input.detects.workflowRunId } }
      : {}),
    ...(input.ticket ? { ticket: input.ticket } : {}),
  };
}

/** Where and with how much the attempt runs: what only the shell can look up. */
export interface DispatchFacts {
  /** The repository as the effect names it. */
  repo: { owner: string; name: string };
  /** The default branch: agents start from it, never from a fork's code. */
  baseRef: string;
  remainingUsd: number;
}

/**
 * The spec for a stage's attempt of a run: the stage's feedback and answers so far, the stage's time limit, and its
 * budget: what the budgets leave, at most the stage's `max_cost_usd`.
 */
export function stageDispatchSpec(
  run: RunState,
  effect: Extract<Effect, { type: "dispatch" }>,
  facts: DispatchFacts,
): DispatchSpec {
  const stageDef = run.workflow.stages.find((s) => s.id === effect.stage);
  const stage = run.stages[effect.stage];
  return dispatchSpec({
    attemptId: effect.attemptId,
    runId: run.id,
    repo: facts.repo,
    issue: run.issue,
    workflow: run.workflow.name,
    stage: effect.stage,
    profile: effect.profile,
    attempt: effect.attempt,
    branch: branchName(run.issue, run.issueTitle),
    baseRef: facts.baseRef,
    // A detection attempt judges a proposal with fresh eyes: the producer's feedback and answers are not its own.
    feedback: effect.detects ? [] : (stage?.feedback ?? []),
    answers: effect.detects ? [] : (stage?.answers ?? []),
    triggeredAt: run.createdAt,
    remainingUsd: Math.min(facts.remainingUsd, stageDef?.maxCostUsd ?? Infinity),
    timeoutMinutes: stageDef?.timeoutMinutes ?? DEFAULT_TIMEOUT_MINUTES,
    // A detection attempt judges the producer's proposal, held by the producer's Actions run.
    ...(effect.detects ? { detects: effect.detects } : {}),
  });
}

/**
 * The spec for a batch ticket's refinement: like a stage's (same workflow, inputs and budget) but with the ticket as
 * the task and the tracking issue as the issue.
 */
export function refineDispatchSpec(
  batch: BatchState,
  ticket: BatchTicket & { refine: NonNullable<BatchTicket["refine"]> },
  attempt: { attemptId: string; text: string },
  defs: Definitions,
  facts: DispatchFacts,
): DispatchSpec {
  const { template, stage } = refineStage(defs);
  return dispatchSpec({
    attemptId: attempt.attemptId,
    runId: batch.id,
    repo: facts.repo,
    issue: batch.trackingIssue,
    workflow: template?.name ?? REFINE_PROFILE,
    stage: stage?.id ?? REFINE_PROFILE,
    profile: REFINE_PROFILE,
    attempt: ticket.refine.attempts,
    // Never pushed: a refine attempt only reads the repository and writes .trellis/refined.md.
    branch: branchName(batch.trackingIssue, `refine ${ticket.key}`),
    baseRef: facts.baseRef,
    feedback: [],
    answers: [],
    remainingUsd: facts.remainingUsd,
    timeoutMinutes: batch.refine?.timeoutMinutes ?? refineTimeoutMinutes(defs),
    ticket: {
      key: ticket.key,
      text: attempt.text.slice(0, TICKET_TEXT_MAX_CHARS),
      trackingIssue: batch.trackingIssue,
      context: refineContext(batch),
    },
  });
}

/** The refine agent's context: the tracking issue's title and the batch's tickets (what the task list says). */
export function refineContext(state: BatchState): { title: string; body: string } {
  const lines = [`The batch of #${state.trackingIssue} has ${state.tickets.length} tickets:`, ""];
  for (const t of state.tickets) {
    const name = t.kind === "issue" ? `${t.ref} ` : t.kind === "keyed" ? `[${t.key}] ` : "";
    const deps = t.deps.length > 0 ? ` (depends on ${t.deps.join(", ")})` : "";
    lines.push(`- ${`${name}${t.refine?.source ?? t.title}`.trim()}${deps}`);
  }
  let body = lines.join("\n");
  if (body.length > TICKET_TEXT_MAX_CHARS * 2)
    body = `${body.slice(0, TICKET_TEXT_MAX_CHARS * 2 - 20)}\n[… truncated]`;
  return { title: state.title.slice(0, 500), body };
}
