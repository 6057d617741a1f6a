/**
 * The domain vocabulary shared by the core, the App, the Action and the CLI.
 * Types only: behaviour lives in the modules that own each concept.
 */
import type { RepoRef } from "./repo.js";
import type { AgentResult } from "./result.js";

// ---------------------------------------------------------------------------------------------
// Agent profiles (agent-profiles/*.md, .github/trellis/agents/*.md)

export type PermissionLevel = "autonomous" | "supervised" | "human-required";

export interface AgentProfile {
  /** Unique name, also the Claude Code sub-agent name (`.claude/agents/<name>.md`). */
  name: string;
  description: string;
  /** The kind of work: dev, qa, review, docs, bdd, design, refine, devops, or a repo's own. */
  role: string;
  /** Claude Code tools the agent may use; undefined means the CLI's defaults. */
  tools?: string[];
  disallowedTools: string[];
  model?: string;
  maxTurns: number;
  timeoutMinutes: number;
  permission: PermissionLevel;
  /** How many attempts with this profile may run at once, across the installation. */
  maxParallel: number;
  /** The Markdown body: the sub-agent's system prompt. */
  prompt: string;
  /** Where it was loaded from (for diagnostics and overrides). */
  source: string;
}

// ---------------------------------------------------------------------------------------------
// Workflow templates (workflow-templates/*.yml, .github/trellis/workflows/*.yml)

export interface SuccessCriteria {
  tests_pass?: boolean;
  /** Minimum line coverage, percent (0–100). */
  coverage_threshold?: number;
  bdd_scenarios_pass?: boolean;
  /** Minimum share of scenarios whose steps are all defined, percent (0–100). */
  scenario_coverage?: number;
  /** Glob patterns that must each match at least one file. */
  file_created?: string[];
}

export type TerminalFailureStrategy =
  | { kind: "abort_all" }
  | { kind: "continue_others" }
  | { kind: "escalate_to_human" }
  | { kind: "retry_with_different_agent"; profile: string };

export interface FailurePolicy {
  /** Retries with the same profile before `then` applies; 0 = none. */
  retries: number;
  /** First backoff in seconds; doubles each retry (with jitter applied by the shell). */
  backoffSeconds: number;
  then: TerminalFailureStrategy;
}

/** A producer stage iterated with reviewer profiles until enough approve or iterations run out. */
export interface ReviewLoop {
  reviewers: string[];
  /** Share of reviewers that must approve, in (0, 1]. */
  threshold: number;
  maxIterations: number;
}

export interface StageDef {
  id: string;
  profile: string;
  needs: string[];
  timeoutMinutes: number;
  /** Human approvals required after the agent succeeds, before the stage counts as succeeded. */
  approvals: number;
  success: SuccessCriteria;
  onFailure: FailurePolicy;
  iterate?: ReviewLoop;
  /** Whether a successful attempt's branch becomes a pull request. */
  openPr: boolean;
  /**
   * A profile that judges each proposal of the stage before the App commits it (a detection stage, e.g.
   * `security-review`): only its `approve` lets the commit happen.
   */
  detection?: string;
  /**
   * The most one attempt of the stage may spend, USD (template `max_cost_usd`). An attempt is granted the smaller of
   * this and what the run's and the month's budgets leave, and is charged at most its grant whatever it reports.
   */
  maxCostUsd?: number;
  description?: string;
}

export interface WorkflowTemplate {
  name: string;
  description: string;
  stages: StageDef[];
  source: string;
}

// ---------------------------------------------------------------------------------------------
// A run: one workflow on one issue.

export type StageStatus =
  | "pending" // needs not yet met
  | "queued" // ready; a dispatch has been requested
  | "running" // the Actions run started
  | "waiting" // for an approval, an answer, a retry backoff or a human
  | "succeeded"
  | "failed"
  | "skipped"
  | "aborted";

/**
 * `merge`: the stage's pull request is open and the stage counts done only once it is merged.
 * `commit_approval`: outsiders' text reached the agent, so a human must `/approve` its proposal before the App commits.
 */
export type WaitReason =
  "approval" | "answer" | "retry_backoff" | "human" | "budget" | "merge" | "commit_approval";

export interface Attempt {
  id: string;
  /** 1-based attempt number of this stage (retries and review iterations count). */
  number: number;
  profile: string;
  /** For review loops: the reviewer profile this attempt runs, undefined for the producer. */
  reviewer?: string;
  /**
   * For detection: the producer attempt whose proposal this attempt judges, and the Actions run whose artifact holds
   * it. Its own proposal, if any, is never committed.
   */
  detects?: { attemptId: string; workflowRunId: number };
  dispatchedAt: number;
  /** When its Actions run started on a runner (`workflow_run.in_progress`): the stage's timeout counts from here. */
  startedAt?: number;
  finishedAt?: number;
  /** The Actions run executing it, once GitHub has said which (the dispatch answer or a `workflow_run` event). */
  workflowRunId?: number;
  runUrl?: string;
  /** The budget the dispatch granted it (the spec's `costCapUsd`), USD; unknown for attempts stored before it was kept. */
  costCapUsd?: number;
  result?: AgentResult;
  /** What the run was charged for it: the cost its result claims, capped by its grant. */
  costUsd?: number;
  /** The App's own commit of the attempt's proposal: the branch and head the run goes on with (never the job's claims). */
  commit?: { branch: string; headSha: string };
  /** Who approved committing its proposal when outsiders' text reached the agent (workflow/commit-gates.ts). */
  commitApprovedBy?: string;
  /** Why the App refused to commit the attempt's proposal (src/core/proposal.ts). */
  refusal?: { rule: string; path?: string; message: string };
}

export interface StageState {
  id: string;
  status: StageStatus;
  /** The profile in use (may differ from the template after /assign or retry_with_different_agent). */
  profile: string;
  waitingFor?: WaitReason;
  /** Epoch ms: when a retry may be dispatched, or when a running attempt times out. */
  wakeAt?: number;
  attempts: Attempt[];
  retriesUsed: number;
  iteration: number;
  approvals: string[];
  question?: string;
  answers: { question: string; answer: string; by: string }[];
  feedback: string[];
  prNumber?: number;
  /** The GraphQL node id of the pull request the App opened (with `prNumber`): PR events must name this very PR. */
  prNodeId?: string;
  reason?: string;
}

export type RunStatus = "active" | "held" | "waiting" | "succeeded" | "failed" | "aborted";

export interface RunState {
  id: string;
  repo: RepoRef;
  issue: number;
  issueTitle: string;
  workflow: WorkflowTemplate;
  status: RunStatus;
  stages: Record<string, StageState>;
  /** Tracking issue number when the run is a batch ticket. */
  batch?: number;
  costUsd: number;
  /** Per-run cost cap in USD. */
  costCapUsd: number;
  createdAt: number;
  updatedAt: number;
  reason?: string;
  /** Count of reducer steps that emitted effects; effect keys derive from it so none repeats. */
  seq?: number;
  /** Permission level of each profile the run may use (snapshot at creation; absent = autonomous). */
  permissions?: Record<string, PermissionLevel>;
  /**
   * Why text by people outside the repository's collaborators can reach the agent's prompt (e.g. "issue #5 was opened
   * by @mallory, who is not a collaborator"), when `prompt.approve_outsider_commits` is on: every proposal then waits
   * for a human's `/approve` before the App commits it. Absent: nothing to approve.
   */
  outsiderText?: string;
}

// ---------------------------------------------------------------------------------------------
// Events fed to the run reducer. `at` is epoch ms, supplied by the shell (the core reads no clock).

export type RunEvent =
  | { type: "start"; at: number; actor: string }
  /**
   * The attempt was dispatched (`costCapUsd`: the budget the dispatch granted it) or GitHub created its Actions run
   * (the dispatch answer, `workflow_run.requested`: `workflowRunId`); the run may still wait for a runner.
   */
  | {
      type: "attempt_queued";
      at: number;
      attemptId: string;
      workflowRunId?: number;
      runUrl?: string;
      costCapUsd?: number;
    }
  /** The attempt's Actions run started on a runner (`workflow_run.in_progress`). */
  | { type: "attempt_started"; at: number; attemptId: string; runUrl?: string; workflowRunId?: number }
  | { type: "attempt_finished"; at: number; attemptId: string; result: AgentResult; workflowRunId?: number }
  /** The App committed the attempt's proposal (the `commit_proposal` effect): its branch and the commit it made. */
  | { type: "proposal_committed"; at: number; attemptId: string; branch: string; headSha: string }
  /** The App refused the attempt's proposal: the rule and the path, for the check run. */
  | {
      type: "proposal_refused";
      at: number;
      attemptId: string;
      rule: string;
      path?: string;
      message: string;
    }
  /** The Actions run ended without a readable result (cancelled, crashed, artifact missing). */
  | { type: "attempt_lost"; at: number; attemptId: string; reason: string }
  /** Timers: retry backoffs elapsing, running attempts timing out. */
  | { type: "tick"; at: number }
  | { type: "approve"; at: number; actor: string; stage?: string }
  | { type: "reject"; at: number; actor: string; stage?: string; reason: string }
  | { type: "answer"; at: number; actor: string; text: string }
  | { type: "hold"; at: number; actor: string; reason?: string }
  | { type: "unhold"; at: number; actor: string }
  | { type: "abort"; at: number; actor: string; reason: string }
  | { type: "retry"; at: number; actor: string; stage?: string }
  | { type: "assign"; at: number; actor: string; stage: string; profile: string }
  /** `nodeId`: the pull request's GraphQL node id, as GitHub answered the App that opened it. */
  | { type: "pr_opened"; at: number; stage: string; prNumber: number; nodeId?: string }
  | { type: "pr_merged"; at: number; prNumber: number; nodeId?: string; actor: string }
  | { type: "pr_closed"; at: number; prNumber: number; nodeId?: string; actor: string }
  /** The run's issue was closed and its pull request `prNumber` is merged: the merge closed it (`Closes #N`). */
  | { type: "closed_by_merge"; at: number; prNumber: number; nodeId?: string; actor: string }
  /** The shell refused a dispatch (budget exceeded); the stage waits for a human. */
  | { type: "dispatch_refused"; at: number; attemptId: string; reason: string };

// ---------------------------------------------------------------------------------------------
// Effects: plain data the shell carries out against GitHub. Each has a stable idempotency key.

export type CheckRunConclusion =
  "success" | "failure" | "neutral" | "cancelled" | "skipped" | "action_required" | "timed_out";

export type Effect =
  | {
      type: "dispatch";
      key: string;
      stage: string;
      attemptId: string;
      attempt: number;
      profile: string;
      /** Set for review-loop reviewer attempts. */
      reviewer?: string;
      /** Set for detection attempts: the producer attempt and the Actions run holding its proposal. */
      detects?: { attemptId: string; workflowRunId: number };
    }
  | {
      type: "check_run";
      key: string;
      stage: string;
      status: "queued" | "in_progress" | "completed";
      conclusion?: CheckRunConclusion;
      title: string;
      summary: string;
      detailsUrl?: string;
      attemptId?: string;
    }
  /** Re-render and upsert the issue's status comment from the stored state. */
  | { type: "status_comment"; key: string }
  | { type: "open_pr"; key: string; stage: string; attemptId: string; branch: string; title: string }
  /**
   * Verify the attempt's proposal (read again from its Actions run's artifact) and commit it on `branch` as the App;
   * the outcome comes back as `proposal_committed` or `proposal_refused`.
   */
  | {
      type: "commit_proposal";
      key: string;
      stage: string;
      attemptId: string;
      workflowRunId: number;
      branch: string;
    }
  | { type: "board"; key: string; column: BoardColumn; stage?: string; agent?: string; costUsd: number }
  /** Stop the Actions run of an attempt the run abandoned (abort, abort_all, timeout, retry, budget). */
  | { type: "cancel_workflow_run"; key: string; stage: string; attemptId: string; workflowRunId: number }
  /** Reply on the issue (errors, help, refusals, questions for a human). */
  | { type: "reply"; key: string; body: string }
  | { type: "audit"; key: string; actor: string; action: string; detail: Record<string, unknown> };

export type BoardColumn =
  "Backlog" | "Ready" | "In progress" | "Needs human" | "In review" | "Done" | "Failed";
