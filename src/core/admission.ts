/**
 * Whether an attempt may be dispatched now, decided from facts the shell loads (the budget so far, the attempts in
 * flight, the config): dispatch it, refuse it, try again later, or only say what would happen (dry run). Pure.
 */
import { checkBudget, hasCapacity, type BudgetFacts } from "./policy.js";

/** A profile at its max_parallel is asked again after this long. */
export const CAPACITY_RETRY_MS = 5_000;

export interface StageAdmissionFacts {
  budget: BudgetFacts;
  /** The attempt's stage and profile. */
  stage: string;
  profile: string;
  /** Attempts of the profile GitHub has already been asked to run (this one's own row is still running). */
  inFlight: number;
  /** The profile's max_parallel; undefined when the repository has no such profile (no limit applies). */
  maxParallel?: number;
  dryRun: boolean;
  agentWorkflow: string;
  /** Attempts dispatched together that split what is left (a review round's reviewers); default 1. */
  share?: number;
}

export type StageAdmission =
  | { kind: "dispatch"; remainingUsd: number }
  /** Refused for good: the run hears why (and a human may `/retry`). */
  | { kind: "refuse"; reason: string }
  /** Put back for later, not counted as a failure. */
  | { kind: "defer"; delayMs: number; why: string }
  /** Dry run: nothing is dispatched, the issue is told what would have been. */
  | { kind: "reply"; body: string };

/** A stage's attempt: the budget first, then the profile's capacity, then the dry-run switch. */
export function admitStageDispatch(f: StageAdmissionFacts): StageAdmission {
  const verdict = checkBudget(f.budget);
  if (!verdict.ok)
    return {
      kind: "refuse",
      reason: `over budget: ${verdict.reason}. Raise the budget in .github/trellis.yml or wait, then \`/retry\`.`,
    };
  if (f.maxParallel !== undefined && !hasCapacity(f.inFlight, f.maxParallel))
    return {
      kind: "defer",
      delayMs: CAPACITY_RETRY_MS,
      why: `profile ${f.profile} is at its max_parallel (${f.maxParallel})`,
    };
  if (f.dryRun)
    return {
      kind: "reply",
      body: `Dry run: Trellis would now dispatch \`${f.agentWorkflow}\` for stage \`${f.stage}\` (profile \`${f.profile}\`). Set \`dry_run: false\` to run agents.`,
    };
  return { kind: "dispatch", remainingUsd: verdict.remainingUsd / Math.max(1, f.share ?? 1) };
}

export interface RefineAdmissionFacts {
  budget: BudgetFacts;
  /** Whether the repository has a refine profile. */
  hasRefineProfile: boolean;
  refineProfile: string;
  dryRun: boolean;
}

/** A ticket's refinement: whatever stops it fails the refinement (the ticket is then created as written). */
export type RefineAdmission = { kind: "dispatch"; remainingUsd: number } | { kind: "fail"; reason: string };

export function admitRefineDispatch(f: RefineAdmissionFacts): RefineAdmission {
  if (!f.hasRefineProfile) return { kind: "fail", reason: `there is no \`${f.refineProfile}\` profile` };
  if (f.dryRun) return { kind: "fail", reason: "dry run: no agent is dispatched" };
  const verdict = checkBudget(f.budget);
  if (!verdict.ok) return { kind: "fail", reason: `over budget: ${verdict.reason}` };
  return { kind: "dispatch", remainingUsd: verdict.remainingUsd };
}
