/**
 * A batch ticket's refinement, decided: the refine workflow and its time limit, whether a workflow run is a refine
 * attempt, and what its events mean for the batch (named, started, refined, failed). Pure.
 */
import { REFINE_PROFILE, type Definitions } from "../definitions.js";
import { agentAttemptOf, issueFromRunName } from "../dispatch.js";
import type { WorkflowRunEvent } from "../events.js";
import type { AgentResult } from "../result.js";
import { REFINE_TIMEOUT_MINUTES, type BatchEvent, type TicketRefinement } from "./machine.js";
import { parseRefined } from "./refined.js";

/** The repository's `refine` workflow and its refine stage, when it has them. */
export function refineStage(defs: Definitions) {
  const template = defs.templates.get(REFINE_PROFILE);
  return { template, stage: template?.stages.find((st) => st.profile === REFINE_PROFILE) };
}

/** A refine attempt's time limit: its workflow stage's, else its profile's, else the default. */
export function refineTimeoutMinutes(defs: Definitions): number {
  return (
    refineStage(defs).stage?.timeoutMinutes ??
    defs.profiles.get(REFINE_PROFILE)?.timeoutMinutes ??
    REFINE_TIMEOUT_MINUTES
  );
}

/**
 * The refine attempt a workflow run may stand for: a dispatched run of the agent workflow whose run name carries a
 * tracking issue (never a fork's). Whether a batch's ticket is refined by it, the shell then looks up.
 */
export function refineAttemptOf(
  event: WorkflowRunEvent,
  agentWorkflow: string,
): { attemptId: string; trackingIssue: number } | undefined {
  const attemptId = agentAttemptOf(event.run, agentWorkflow);
  const trackingIssue = issueFromRunName(event.run.displayTitle);
  if (!attemptId || trackingIssue === undefined || event.fromFork) return undefined;
  return { attemptId, trackingIssue };
}

/** Why a refine attempt gave no ticket, in one line for the issue body and the audit log. */
export function refineFailure(result: AgentResult): string {
  if (result.status === "needs_input")
    return `the agent asked a question instead: ${(result.question ?? "").replace(/\s+/g, " ").slice(0, 200)}`;
  if (result.status !== "succeeded")
    return `the agent ${result.status === "error" ? "errored" : "failed"}: ${result.reason ?? "no reason given"}`;
  return "the agent wrote no .trellis/refined.md";
}

export interface RefineRunFacts {
  event: WorkflowRunEvent;
  ticket: string;
  attemptId: string;
  /** For a completed run: the Action's result, or why it could not be read. */
  result?: { ok: true; result: AgentResult } | { ok: false; error: string };
  labels: Definitions["config"]["labels"];
  /** The budget the attempt's dispatch granted it (`refineGrantUsd`): its claimed cost is charged at most this. */
  grantedUsd: number;
  at: number;
}

/** What a refine attempt was granted: its dispatch's grant, or (unknown, e.g. older state) a run's whole cap. */
export const refineGrantUsd = (refine: TicketRefinement | undefined, perRunUsd: number): number =>
  Math.max(0, refine?.costCapUsd ?? perRunUsd);

/** The attempt's claimed cost, never negative, capped by its grant; `claimedUsd` only when the claim was more. */
function charge(claimed: number, granted: number): { costUsd: number; claimedUsd?: number } {
  const claim = Number.isFinite(claimed) ? Math.max(0, claimed) : 0;
  return claim > granted ? { costUsd: granted, claimedUsd: claim } : { costUsd: claim };
}

/**
 * What a refine attempt's workflow run tells the batch: `requested` names its Actions run, `in_progress` starts its
 * timeout, and its completion becomes `ticket_refined` (a readable refined.md) or `ticket_refine_failed`.
 */
export function refineRunEvent(f: RefineRunFacts): BatchEvent {
  const { event, ticket, attemptId, result, at } = f;
  if (event.action !== "completed") {
    // `requested`: GitHub created the run, which may still wait for a runner; `in_progress`: it started.
    return event.action === "in_progress"
      ? { type: "refine_started", at, ticket, attemptId, workflowRunId: event.run.id }
      : { type: "refine_queued", at, ticket, attemptId, workflowRunId: event.run.id };
  }
  if (!result?.ok)
    return {
      type: "ticket_refine_failed",
      at,
      ticket,
      attemptId,
      reason: result
        ? result.error
        : `the workflow run ended ${event.run.conclusion ?? "without a conclusion"}`,
    };
  const r = result.result;
  const cost = charge(r.costUsd, f.grantedUsd);
  const labels = f.labels;
  const parsed =
    r.status === "succeeded" && r.refined !== undefined
      ? parseRefined(r.refined, {
          reservedLabelPrefixes: [labels.agent_prefix, labels.workflow_prefix, "trellis:"],
          reservedLabels: [labels.batch],
        })
      : undefined;
  return parsed?.ok
    ? {
        type: "ticket_refined",
        at,
        ticket,
        attemptId,
        refined: parsed.ticket,
        ...cost,
        ...(parsed.notes.length > 0 ? { notes: parsed.notes } : {}),
      }
    : {
        type: "ticket_refine_failed",
        at,
        ticket,
        attemptId,
        reason: parsed && !parsed.ok ? `unreadable refined.md: ${parsed.error}` : refineFailure(r),
        ...cost,
      };
}
