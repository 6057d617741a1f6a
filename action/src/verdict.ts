/**
 * Step 5: the verdict, from the facts the attempt collected. Pure: no I/O, so every rule is a unit test
 * (test/action/verdict.test.ts). What each rule looks at, in the order it wins:
 *   change attempt: protected paths touched → a refused proposal → a question → an agent failure → unmerged sub-agent
 *                   work → a failed criterion
 *   refine attempt: a question → an agent failure → no refined.md → an unreadable refined.md
 *   detection attempt: a question → an agent failure → no verdict (a detection that cannot judge never approves)
 * and anything that threw on the way is an error.
 */
import type { ParseRefinedOutcome } from "../../src/core/batch/refined.js";
import { REFINED_FILE } from "../../src/core/result.js";
import type { AgentResult, CriterionOutcome } from "../../src/core/result.js";

/** What the agents said: the question they asked and the first failure of their runs. */
export interface AgentFacts {
  question?: string;
  agentFailure?: string;
}

/** A change attempt: the agent worked on the attempt's branch and the stage's criteria judged the change. */
export interface ChangeFacts extends AgentFacts {
  kind: "change";
  /** Changed files the config protects (empty when it allows protected paths). */
  protectedViolations: string[];
  /** Why the proposal cannot be uploaded (too large, holds one of the job's secrets); the App never sees it. */
  refusal?: string;
  /** Sub-agent work that could not be merged back, one line each. */
  conflicts: string[];
  /** The criteria's outcomes; empty when they were not run. */
  criteria: CriterionOutcome[];
}

/** A refine attempt: the agent wrote `.trellis/refined.md`, read with the App's own parser. */
export interface RefineFacts extends AgentFacts {
  kind: "refine";
  /** The parsed file; undefined when the agent wrote none. */
  refined: ParseRefinedOutcome | undefined;
}

/** A detection attempt: the agent judged another attempt's proposal; its verdict is its final message's first line. */
export interface DetectFacts extends AgentFacts {
  kind: "detect";
  review: AgentResult["review"];
}

/** What the Action reports as the attempt's outcome. */
export type Verdict = Pick<AgentResult, "status" | "question" | "reason">;

export function verdict(facts: ChangeFacts | RefineFacts | DetectFacts): Verdict {
  if (facts.kind === "change" && facts.protectedViolations.length > 0)
    return {
      status: "failed",
      reason: `refused changes to protected paths: ${facts.protectedViolations.join(", ")} (set allow_protected_paths in .github/trellis.yml to allow)`,
    };
  if (facts.kind === "change" && facts.refusal) return { status: "failed", reason: facts.refusal };
  const said = agentsVerdict(facts);
  if (said) return said;
  if (facts.kind === "detect") return detectVerdict(facts);
  return facts.kind === "change" ? changeVerdict(facts) : refineVerdict(facts);
}

function detectVerdict(facts: DetectFacts): Verdict {
  if (!facts.review)
    return {
      status: "failed",
      reason:
        "the security review gave no verdict: its final message must start with APPROVE or REQUEST_CHANGES",
    };
  return { status: "succeeded" };
}

/** A question asks for input and an agent failure fails the attempt, before anything else is judged. */
function agentsVerdict({ question, agentFailure }: AgentFacts): Verdict | undefined {
  if (question) return { status: "needs_input", question, reason: "the agent asked a question" };
  if (agentFailure) return { status: "failed", reason: agentFailure };
  return undefined;
}

function changeVerdict(facts: ChangeFacts): Verdict {
  if (facts.conflicts.length > 0)
    return { status: "failed", reason: `sub-agent work could not be merged: ${facts.conflicts.join("; ")}` };
  if (facts.criteria.some((c) => !c.passed))
    return { status: "failed", reason: criteriaDetail(facts.criteria) };
  return { status: "succeeded" };
}

function refineVerdict(facts: RefineFacts): Verdict {
  if (!facts.refined) return { status: "failed", reason: `the agent wrote no ${REFINED_FILE}` };
  if (!facts.refined.ok)
    return { status: "failed", reason: `unreadable ${REFINED_FILE}: ${facts.refined.error}` };
  return { status: "succeeded" };
}

function criteriaDetail(outcomes: CriterionOutcome[]): string {
  return outcomes
    .filter((c) => !c.passed)
    .map((c) => `${c.criterion}: ${c.detail}`)
    .join("; ");
}

/** Anything that threw: an error, its first line the reason; the whole message is the summary if there is none. */
export function errorVerdict(
  message: string,
  summary: string,
): Pick<AgentResult, "status" | "reason" | "summary"> {
  return { status: "error", reason: message.split("\n")[0], summary: summary || message };
}
