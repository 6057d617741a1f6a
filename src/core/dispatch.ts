import { z } from "zod";

/**
 * The App → Action contract. The App dispatches `workflow_dispatch` on the agent workflow with these
 * inputs; the workflow's `run-name` carries the attempt id so `workflow_run` events map back to it.
 */
export const ATTEMPT_ID_PATTERN = /^att_[0-9a-z]{10,40}$/;
const RUN_NAME_MARKER = /\[trellis:(att_[0-9a-z]{10,40})\]/;

/** What the shipped workflow puts in `run-name`; keep in sync with workflow-templates/trellis-agent.yml. */
export function runName(input: { stage: string; issue: number; attemptId: string }): string {
  return `Trellis ${input.stage} #${input.issue} [trellis:${input.attemptId}]`;
}

/** The attempt id in a workflow run's `display_title`, or undefined for runs that are not ours. */
export function attemptIdFromRunName(displayTitle: string | null | undefined): string | undefined {
  return displayTitle ? RUN_NAME_MARKER.exec(displayTitle)?.[1] : undefined;
}

/**
 * The Trellis attempt a workflow run stands for, or undefined when the run is not one the App dispatched: only a
 * `workflow_dispatch` run of the agent workflow (`agentWorkflow`, a file in .github/workflows) counts. A repository's
 * other workflows send workflow_run too — its CI on push and pull_request — with a display title taken from a commit
 * message or a pull request's title, which anyone can make look like a Trellis run name. (Payloads without a path
 * are older ones; the event is in every payload.)
 */
export function agentAttemptOf(
  run: { attemptId?: string; event: string; path?: string },
  agentWorkflow: string,
): string | undefined {
  if (!run.attemptId || run.event !== "workflow_dispatch") return undefined;
  // The path may carry a ref (`.github/workflows/x.yml@refs/heads/main`).
  if (run.path !== undefined && run.path.split("@")[0] !== `.github/workflows/${agentWorkflow}`)
    return undefined;
  return run.attemptId;
}

export const TICKET_TEXT_MAX_CHARS = 10_000;

/** The issue number in a run name (`Trellis <stage> #<issue> [trellis:…]`): a refine attempt's tracking issue. */
export function issueFromRunName(displayTitle: string | null | undefined): number | undefined {
  const m = displayTitle ? /#(\d{1,9})\s*\[trellis:att_/.exec(displayTitle) : null;
  return m ? Number(m[1]) : undefined;
}

/** Everything the Action needs beyond what it can read from the repository itself. */
export const DispatchSpecSchema = z.object({
  attemptId: z.string().regex(ATTEMPT_ID_PATTERN),
  runId: z.string(),
  repo: z.object({ owner: z.string(), name: z.string() }),
  issue: z.number().int().positive(),
  workflow: z.string(),
  stage: z.string(),
  profile: z.string(),
  attempt: z.number().int().min(1),
  /** Branch the agent commits on (`trellis/<issue>-<slug>`) and the ref it starts from. */
  branch: z.string(),
  baseRef: z.string(),
  /** Feedback from a failed previous attempt or from reviewers, shown to the agent. */
  feedback: z.array(z.string()).default([]),
  /** Answers a human gave to the agent's questions. */
  answers: z.array(z.object({ question: z.string(), answer: z.string(), by: z.string() })).default([]),
  /**
   * When a human started the run (ISO 8601). Only issue text that existed then reaches the prompt: comments created or
   * edited later are left out, so nobody can steer an agent after a maintainer decided to run it on what they read.
   */
  triggeredAt: z.iso.datetime().optional(),
  /** Hard cap for this attempt, in USD (the remaining run budget). */
  costCapUsd: z.number().min(0),
  timeoutMinutes: z.number().int().positive(),
  /**
   * A detection attempt (the stage's `detection` profile, e.g. security-review): it judges the proposal of the producer
   * attempt `attemptId`, read from the artifact `trellis-result-<attemptId>` of the Actions run `workflowRunId`, and
   * answers with a review verdict. Its goal is that judgement, not the stage's; it proposes no change.
   */
  detects: z
    .object({ attemptId: z.string().regex(ATTEMPT_ID_PATTERN), workflowRunId: z.number().int().positive() })
    .optional(),
  /**
   * A raw batch ticket to refine (the refine profile): its text is the task, `issue` is the tracking issue, and the
   * attempt neither checks out nor pushes a branch; the Action returns `.trellis/refined.md` in the result.
   */
  ticket: z
    .object({
      key: z.string().max(200),
      text: z.string().max(TICKET_TEXT_MAX_CHARS),
      trackingIssue: z.number().int().positive(),
      /** The tracking issue as the agent's context (its title and the batch's tickets): the Action need not read it. */
      context: z
        .object({ title: z.string().max(500), body: z.string().max(TICKET_TEXT_MAX_CHARS * 2) })
        .optional(),
    })
    .optional(),
});
export type DispatchSpec = z.infer<typeof DispatchSpecSchema>;

/** workflow_dispatch inputs (GitHub caps inputs at 65,535 characters in total). */
export interface DispatchInputs {
  attempt_id: string;
  issue: string;
  stage: string;
  profile: string;
  spec: string;
}

export const MAX_SPEC_CHARS = 60_000;

export function toDispatchInputs(spec: DispatchSpec): DispatchInputs {
  const json = JSON.stringify(spec);
  if (json.length > MAX_SPEC_CHARS)
    throw new Error(`dispatch spec is ${json.length} characters; the cap is ${MAX_SPEC_CHARS}`);
  return {
    attempt_id: spec.attemptId,
    issue: String(spec.issue),
    stage: spec.stage,
    profile: spec.profile,
    spec: json,
  };
}

export function branchName(issue: number, title: string): string {
  const slug = title
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/g, "");
  return `trellis/${issue}${slug ? `-${slug}` : ""}`;
}
