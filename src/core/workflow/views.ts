/**
 * Read-only questions about a run's state: the public views (terminal? which stage is current? which board
 * column?) and the small lookups every part of the reducer shares.
 */
import type { Attempt, BoardColumn, RunState, StageDef, StageState } from "../model.js";

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

/** The charge recorded for an attempt of the run (after its result was applied), for the cost ledger. */
export function attemptCharge(run: RunState, attemptId: string, claimedUsd: number): number {
  const attempt = stageForAttempt(run, attemptId)?.attempt;
  return attempt?.costUsd ?? chargeFor(run, attempt, claimedUsd).chargedUsd;
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
