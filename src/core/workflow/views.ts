/**
 * Read-only questions about a run's state: the public views (terminal? which stage is current? which board
 * column?) and the small lookups every part of the reducer shares.
 */
import type { Attempt, BoardColumn, RunEvent, RunState, StageDef, StageState } from "../model.js";

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

/** The stage a human would say the run is "on": the first one not finished. */
export function currentStage(run: RunState): StageState | undefined {
  const order = run.workflow.stages.map((d) => run.stages[d.id]).filter((s) => s !== undefined);
  return (
    order.find((s) => s.status === "running" || s.status === "queued" || s.status === "waiting") ??
    order.find((s) => s.status === "pending") ??
    order.at(-1)
  );
}

/** What the run was charged for an attempt: its recorded charge, or (stored before charges were kept) its claim. */
export function chargedUsd(attempt: Attempt): number {
  return attempt.costUsd ?? attempt.result?.costUsd ?? 0;
}

export interface Charge {
  claimedUsd: number;
  /** The attempt's grant (its dispatch's `costCapUsd`), or the run's whole cap when the grant is unknown. */
  grantedUsd: number;
  chargedUsd: number;
}

/**
 * What an attempt's claimed cost charges the run: the claim, never negative, capped by what the dispatch granted the
 * attempt. The claim comes from the agent's job, which the App does not trust: a forged or buggy figure must not eat
 * the repository's monthly budget.
 */
export function chargeFor(run: RunState, attempt: Attempt | undefined, claimedUsd: number): Charge {
  const claimed = Number.isFinite(claimedUsd) ? Math.max(0, claimedUsd) : 0;
  const granted = Math.max(0, attempt?.costCapUsd ?? run.costCapUsd);
  return { claimedUsd: claimed, grantedUsd: granted, chargedUsd: Math.min(claimed, granted) };
}

/** Whether an attempt is still out: dispatched, no result, not given up. */
const outstanding = (a: Attempt): boolean => a.result === undefined && a.finishedAt === undefined;

/** What the run's attempts in flight were granted (`attempt_queued`) and have not accounted for yet, USD. */
export function reservedUsd(run: RunState): number {
  return Object.values(run.stages)
    .flatMap((s) => s.attempts)
    .filter((a) => outstanding(a) && a.costCapUsd !== undefined)
    .reduce((sum, a) => sum + Math.max(0, a.costCapUsd ?? 0), 0);
}

/**
 * Among how many attempts what is left of the budget is split for attempt `attemptId`: a review round's reviewers,
 * dispatched together, share it equally (this one and its siblings not yet granted); any other attempt takes it all.
 */
export function budgetShare(run: RunState, stageId: string, attemptId: string): number {
  const stage = run.stages[stageId];
  const attempt = stage?.attempts.find((a) => a.id === attemptId);
  if (!stage || attempt?.reviewer === undefined) return 1;
  const waiting = stage.attempts.filter(
    (a) => a.reviewer !== undefined && outstanding(a) && a.costCapUsd === undefined,
  ).length;
  return Math.max(1, waiting);
}

/** The charge recorded for an attempt of the run (after its result was applied), for the cost ledger. */
export function attemptCharge(run: RunState, attemptId: string, claimedUsd: number): number {
  const attempt = stageForAttempt(run, attemptId)?.attempt;
  return attempt?.costUsd ?? chargeFor(run, attempt, claimedUsd).chargedUsd;
}

/** What one reducer step did to attempts, for the metrics: which ended and how, and what results cost. */
export interface AttemptChanges {
  /** `outcome`: the result's status; without one, how the attempt ended (timed_out, lost, cancelled). */
  ended: { profile: string; outcome: string }[];
  /** Results that arrived in this step (one that came after its attempt timed out only adds its cost). */
  costs: { profile: string; usd: number }[];
}

export function attemptChanges(before: RunState, after: RunState, event: RunEvent): AttemptChanges {
  const changes: AttemptChanges = { ended: [], costs: [] };
  const earlier = new Map(
    Object.values(before.stages).flatMap((stage) => stage.attempts.map((a) => [a.id, a] as const)),
  );
  for (const stage of Object.values(after.stages)) {
    for (const attempt of stage.attempts) {
      const was = earlier.get(attempt.id);
      if (attempt.result && !was?.result)
        changes.costs.push({ profile: attempt.profile, usd: chargedUsd(attempt) });
      if (attempt.finishedAt === undefined || was?.finishedAt !== undefined) continue;
      const outcome =
        attempt.result?.status ??
        (event.type === "tick" ? "timed_out" : event.type === "attempt_lost" ? "lost" : "cancelled");
      changes.ended.push({ profile: attempt.profile, outcome });
    }
  }
  return changes;
}

// Internals shared by the handlers

export const TERMINAL_STAGE = new Set(["succeeded", "failed", "skipped", "aborted"]);

export function defOf(state: RunState, stageId: string): StageDef {
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

export function inFlight(stage: StageState): Attempt[] {
  return stage.attempts.filter((a) => a.finishedAt === undefined);
}

/** An attempt of the stage's own profile: neither a reviewer nor a detection attempt judging a proposal. */
export function isProducer(attempt: Attempt): boolean {
  return attempt.reviewer === undefined && attempt.detects === undefined;
}

/** The latest attempt of the stage's own profile (not a reviewer, not a detection attempt). */
export function lastProducer(stage: StageState): Attempt | undefined {
  for (let i = stage.attempts.length - 1; i >= 0; i--) {
    const a = stage.attempts[i];
    if (a && isProducer(a)) return a;
  }
  return undefined;
}
