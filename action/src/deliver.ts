/**
 * Step 6 of a change attempt: the proposal. The Action never commits or pushes: the agent's work leaves the job as a
 * patch against the base commit (proposal.ts, format in src/core/result.ts), which the App verifies and commits with
 * its own token. A refused change (protected paths, a known secret in it) is not proposed at all; the App re-checks
 * every rule on its side, so these checks are advisory: they fail the attempt early with a readable reason.
 */
import type { AgentResult } from "../../src/core/result.js";
import type { ChangeFacts } from "./verdict.js";
import type { BuiltProposal } from "./proposal.js";

/** The patch and blobs to upload beside result.json, or undefined when there is nothing to propose. */
export function propose(
  facts: ChangeFacts,
  built: BuiltProposal | undefined,
  result: AgentResult,
): BuiltProposal | undefined {
  if (!built || facts.protectedViolations.length > 0 || facts.refusal) return undefined;
  result.proposal = built.proposal;
  return built;
}
