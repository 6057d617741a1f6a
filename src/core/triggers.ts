/**
 * What a domain event asks of Trellis. Pure: the shell gathers the facts (definitions, the actor's
 * role, the issue's runs, an attempt's result), this module decides, and the shell applies the
 * decisions through the run reducer and the batch reducer.
 */
import type { DomainEvent, IssueInfo, RepoRef } from "./events.js";
import { agentAttemptOf } from "./dispatch.js";
import { helpText, parseCommands, type SlashCommand } from "./commands.js";
import type { RepoRole } from "./config.js";
import type { Definitions } from "./definitions.js";
import type { RunEvent, RunState, WorkflowTemplate } from "./model.js";
import { outsiderText, type IssueAuthor } from "./outsiders.js";
import type { AgentResult } from "./result.js";
import { inline } from "./render.js";
import { singleAgentTemplate } from "./templates.js";
import { isStagePr, isTerminal } from "./workflow/machine.js";

export type Reaction = "eyes" | "rocket" | "confused";

export type BatchAction =
  | { kind: "create"; strategy?: SlashCommand & { name: "batch" } }
  | { kind: "replan"; strategy?: string; parallel?: number }
  | { kind: "hold" }
  | { kind: "unhold" }
  | { kind: "abort"; reason: string }
  | { kind: "status" };

export type Decision =
  /** `outsiderText`: why each proposal needs a human's approval before the App commits it (src/core/outsiders.ts). */
  | {
      kind: "start_run";
      issue: number;
      issueTitle: string;
      workflow: WorkflowTemplate;
      outsiderText?: string;
    }
  | { kind: "run_event"; runId: string; event: RunEvent }
  | { kind: "batch"; issue: number; action: BatchAction }
  | { kind: "status"; runId: string }
  | { kind: "reply"; issue: number; body: string }
  | { kind: "react"; commentId: number; content: Reaction }
  | { kind: "audit"; action: string; detail: Record<string, unknown> };

export interface TriggerFacts {
  event: DomainEvent;
  defs: Definitions;
  /** The actor's repository role, when the event needed one (see `needsRole`). */
  role?: RepoRole;
  /** Runs on the event's issue, oldest first. */
  runs: readonly RunState[];
  /** Batch tracking issues among the event's issue (the issue is a tracking issue with a batch). */
  isBatch?: boolean;
  /**
   * For a closed issue: the pull requests of its active run (`closingPullRequests`) as GitHub reports them now;
   * a merged one means the merge closed the issue.
   */
  pullRequests?: readonly { number: number; nodeId?: string; merged: boolean }[];
  /**
   * Trellis refused someone on this issue within `REFUSAL_QUIET_MS` (the shell asks only when the actor may not
   * steer): the refusal is not repeated, so a flood of commands or labels gets reactions, not a flood of replies.
   */
  refusedLately?: boolean;
  /** For a completed workflow run: the Action's result, or why it could not be read. */
  result?: { ok: true; result: AgentResult } | { ok: false; error: string };
  at: number;
}

/** Events from bots (including this App) never trigger or steer anything. */
export function fromAutomation(event: DomainEvent): boolean {
  return event.actor.isBot || event.actor.isSelf;
}

/** What a close could stop: the issue's runs and whether it tracks a batch (unknown: assume something). */
export interface Stake {
  runs: readonly RunState[];
  isBatch: boolean;
}

/** Whether deciding needs the actor's role: only human actions that could start or steer work. */
export function needsRole(event: DomainEvent, defs: Definitions, stake?: Stake): boolean {
  if (fromAutomation(event)) return false;
  switch (event.kind) {
    case "label_added":
    case "label_removed":
      return triggerLabel(event.label, defs) !== undefined;
    case "comment_created": {
      const parsed = parseCommands(event.comment.body);
      return parsed.commands.length > 0 || parsed.errors.length > 0;
    }
    case "check_run_rerequested":
      return event.checkRun.ownedBySelf;
    case "issue_closed":
      // A close stops work only when the closer may steer: ask only when there is something to stop.
      return stake === undefined || active(stake.runs) !== undefined || stake.isBatch;
    default:
      return false;
  }
}

/** GitHub compares owner and repository names case-insensitively. */
const sameRepo = (a: RepoRef, b: RepoRef): boolean =>
  a.owner.toLowerCase() === b.owner.toLowerCase() && a.name.toLowerCase() === b.name.toLowerCase();

export function isAllowed(role: RepoRole | undefined, allowed: readonly RepoRole[]): boolean {
  return role !== undefined && allowed.includes(role);
}

type TriggerLabel =
  { kind: "profile"; name: string } | { kind: "workflow"; name: string } | { kind: "batch" };

export function triggerLabel(label: string, defs: Definitions): TriggerLabel | undefined {
  const { labels } = defs.config;
  if (label === labels.batch) return { kind: "batch" };
  if (label.startsWith(labels.agent_prefix))
    return { kind: "profile", name: label.slice(labels.agent_prefix.length) };
  if (label.startsWith(labels.workflow_prefix))
    return { kind: "workflow", name: label.slice(labels.workflow_prefix.length) };
  return undefined;
}

/** Resolves `/run <x>` or a label to a workflow: a template by name, else a one-stage run of a profile. */
export function resolveWorkflow(target: TriggerLabel | string, defs: Definitions): WorkflowTemplate | string {
  const t: TriggerLabel =
    typeof target === "string"
      ? defs.templates.has(target)
        ? { kind: "workflow", name: target }
        : { kind: "profile", name: target }
      : target;
  if (t.kind === "batch") return "a batch is not a workflow";
  if (t.kind === "workflow") {
    const template = defs.templates.get(t.name);
    if (template) return template;
    return `there is no workflow template \`${inline(t.name, 60)}\` (known: ${[...defs.templates.keys()].join(", ")})`;
  }
  const profile = defs.profiles.get(t.name);
  if (profile) return singleAgentTemplate(profile.name, profile.timeoutMinutes);
  return `there is no agent profile \`${inline(t.name, 60)}\` (known: ${[...defs.profiles.keys()].join(", ")})`;
}

const latest = (runs: readonly RunState[]): RunState | undefined => runs[runs.length - 1];
const active = (runs: readonly RunState[]): RunState | undefined => runs.findLast((r) => !isTerminal(r));

/** The answer to a close by someone who may not steer: the work goes on, and who could have stopped it. */
export function closeRefusal(actor: string, allowed: readonly RepoRole[]): string {
  return (
    `@${actor} closed this issue, but that does not stop Trellis: only people with the ${allowed.join(", ")} role ` +
    `on this repository can, by closing it or with \`/abort\`. The work goes on.`
  );
}

/** The audit action of a refusal, and how long after one the next on the same issue stays silent. */
export const REFUSED = "refused";
export const REFUSAL_QUIET_MS = 60 * 60_000;

export function refusal(actor: string, allowed: readonly RepoRole[]): string {
  return (
    `Sorry @${actor}, only people with the ${allowed.join(", ")} role on this repository can start or steer Trellis. ` +
    `Ask a maintainer if you think this should run.`
  );
}

/** Decide what an event means. Never throws; anything a human must know becomes a reply. */
export function decide(facts: TriggerFacts): Decision[] {
  const { event, defs } = facts;
  // Bots (this App included) never trigger or steer; GitHub's own reports (workflow runs, merges) still count.
  const steering =
    event.kind === "label_added" || event.kind === "label_removed" || event.kind === "comment_created";
  if (steering && fromAutomation(event)) return [];
  if (event.kind === "check_run_rerequested" && fromAutomation(event)) return [];
  switch (event.kind) {
    case "label_added":
    case "label_removed": {
      const trigger = triggerLabel(event.label, defs);
      if (!trigger || event.issue.isPullRequest) return [];
      if (!isAllowed(facts.role, defs.config.roles)) {
        if (event.kind === "label_removed") return [];
        const audit: Decision = {
          kind: "audit",
          action: REFUSED,
          detail: { issue: event.issue.number, label: event.label, role: facts.role ?? null },
        };
        if (facts.refusedLately) return [audit];
        return [
          { kind: "reply", issue: event.issue.number, body: refusal(event.actor.login, defs.config.roles) },
          audit,
        ];
      }
      if (event.kind === "label_removed") {
        if (trigger.kind === "batch")
          return [{ kind: "batch", issue: event.issue.number, action: { kind: "hold" } }];
        const run = active(facts.runs);
        if (!run) return [];
        return [
          {
            kind: "run_event",
            runId: run.id,
            event: {
              type: "hold",
              at: facts.at,
              actor: event.actor.login,
              reason: `label ${event.label} removed`,
            },
          },
        ];
      }
      if (trigger.kind === "batch")
        return [{ kind: "batch", issue: event.issue.number, action: { kind: "create" } }];
      return startRun(facts, runTarget(event.issue), resolveWorkflow(trigger, defs));
    }
    case "issue_closed": {
      const out: Decision[] = [];
      const run = active(facts.runs);
      // GitHub delivers a merge's issues.closed and pull_request.closed in either order: a close by the
      // merge of the run's PR ends the run as merged, whoever merged it.
      const merged = run && mergedPullRequest(facts, run);
      if (run && merged !== undefined)
        out.push({
          kind: "run_event",
          runId: run.id,
          event: {
            type: "closed_by_merge",
            at: facts.at,
            actor: event.actor.login,
            prNumber: merged.number,
            ...(merged.nodeId !== undefined ? { nodeId: merged.nodeId } : {}),
          },
        });
      const stops = (run !== undefined && merged === undefined) || facts.isBatch === true;
      if (!stops) return out;
      // Any other close aborts only when the closer has a steering role: an issue's author may close it without
      // any role (GitHub Docs, "Repository roles for an organization"). Other bots never steer.
      if (!event.actor.isSelf && !isAllowed(facts.role, defs.config.roles))
        return [
          ...out,
          {
            kind: "reply",
            issue: event.issue.number,
            body: closeRefusal(event.actor.login, defs.config.roles),
          },
          {
            kind: "audit",
            action: "refused",
            detail: { close: event.issue.number, role: facts.role ?? null },
          },
        ];
      if (run && merged === undefined)
        out.push({
          kind: "run_event",
          runId: run.id,
          event: { type: "abort", at: facts.at, actor: event.actor.login, reason: "issue closed" },
        });
      if (facts.isBatch)
        out.push({
          kind: "batch",
          issue: event.issue.number,
          action: { kind: "abort", reason: "issue closed" },
        });
      return out;
    }
    case "comment_created":
      return decideComment(facts, event);
    case "check_run_rerequested": {
      if (!event.checkRun.ownedBySelf) return [];
      const key = parseCheckRunKey(event.checkRun.externalId);
      const run = key && facts.runs.find((r) => r.id === key.runId && sameRepo(r.repo, event.repo));
      if (!key || !run) return [];
      if (!isAllowed(facts.role, defs.config.roles)) return [];
      return [
        {
          kind: "run_event",
          runId: run.id,
          event: { type: "retry", at: facts.at, actor: event.actor.login, stage: key.stage },
        },
      ];
    }
    case "workflow_run": {
      const attemptId = agentAttemptOf(event.run, facts.defs.config.agent_workflow);
      if (!attemptId || event.fromFork) return [];
      const run = facts.runs.find((r) =>
        Object.values(r.stages).some((s) => s.attempts.some((a) => a.id === attemptId)),
      );
      // The attempt id is free text in a run name: the run must also be in the run's repository and, once the App
      // knows the attempt's Actions run (dispatch asks GitHub for it), be that run.
      if (!run || !sameRepo(run.repo, event.repo)) return [];
      const known = Object.values(run.stages)
        .flatMap((s) => s.attempts)
        .find((a) => a.id === attemptId)?.workflowRunId;
      if (known !== undefined && known !== event.run.id) return [];
      // `requested`: GitHub created the run, which may still wait for a runner; `in_progress`: it started, and the
      // stage's timeout counts from here.
      if (event.action === "requested")
        return [
          {
            kind: "run_event",
            runId: run.id,
            event: { type: "attempt_queued", at: facts.at, attemptId, workflowRunId: event.run.id },
          },
        ];
      if (event.action === "in_progress")
        return [
          {
            kind: "run_event",
            runId: run.id,
            event: {
              type: "attempt_started",
              at: facts.at,
              attemptId,
              runUrl: event.run.htmlUrl,
              workflowRunId: event.run.id,
            },
          },
        ];
      const result = facts.result;
      if (result?.ok)
        return [
          {
            kind: "run_event",
            runId: run.id,
            event: {
              type: "attempt_finished",
              at: facts.at,
              attemptId,
              result: result.result,
              workflowRunId: event.run.id,
            },
          },
        ];
      const why = result
        ? result.error
        : `the workflow run ended ${event.run.conclusion ?? "without a conclusion"}`;
      return [
        {
          kind: "run_event",
          runId: run.id,
          event: { type: "attempt_lost", at: facts.at, attemptId, reason: `${why} (${event.run.htmlUrl})` },
        },
      ];
    }
    case "pull_request": {
      if (event.action !== "closed" || event.fromFork) return [];
      const { number, nodeId } = event.pullRequest;
      // The PR the App opened for the run: same repository, same number and (once known) the same node id.
      const run = facts.runs.find(
        (r) =>
          sameRepo(r.repo, event.repo) && Object.values(r.stages).some((s) => isStagePr(s, number, nodeId)),
      );
      if (!run) return [];
      const type = event.pullRequest.merged ? "pr_merged" : "pr_closed";
      return [
        {
          kind: "run_event",
          runId: run.id,
          event: { type, at: facts.at, prNumber: number, nodeId, actor: event.actor.login },
        },
      ];
    }
    default:
      return [];
  }
}

/** The pull requests of a run's stages, each once. */
const runPullRequests = (run: RunState): number[] => [
  ...new Set(Object.values(run.stages).flatMap((s) => (s.prNumber === undefined ? [] : [s.prNumber]))),
];

/**
 * For a closed issue: the pull requests whose state the shell must load first, those of the issue's active run.
 * A merge closes an issue as `completed` (GitHub: "Linking a pull request to an issue"), so a close as
 * `not_planned` needs none.
 */
export function closingPullRequests(event: DomainEvent, runs: readonly RunState[]): number[] {
  if (event.kind !== "issue_closed" || event.stateReason === "not_planned") return [];
  const run = active(runs);
  return run ? runPullRequests(run) : [];
}

/** The run's merged pull request among those GitHub reported (number and, once the stage knows it, node id). */
function mergedPullRequest(
  facts: TriggerFacts,
  run: RunState,
): { number: number; nodeId?: string } | undefined {
  if (facts.event.kind !== "issue_closed" || facts.event.stateReason === "not_planned") return undefined;
  const stages = Object.values(run.stages);
  return facts.pullRequests?.find(
    (pr) => pr.merged && stages.some((s) => isStagePr(s, pr.number, pr.nodeId)),
  );
}

/**
 * A new run on an issue, unless one is active. The issue's author decides whether its proposals need a human's
 * approval before the App commits them (undefined: the author could not be checked, so they do).
 */
export function startRun(
  facts: Pick<TriggerFacts, "defs" | "runs">,
  target: { number: number; title: string; author?: IssueAuthor },
  workflow: WorkflowTemplate | string,
): Decision[] {
  const { number: issue, title } = target;
  if (typeof workflow === "string")
    return [{ kind: "reply", issue, body: `Trellis can't start: ${workflow}.` }];
  const running = active(facts.runs);
  if (running)
    return [
      {
        kind: "reply",
        issue,
        body: `A \`${inline(running.workflow.name, 60)}\` run is already active on this issue; \`/abort\` it first or steer it with \`/status\`.`,
      },
    ];
  const why = outsiderText(facts.defs.config.prompt, [{ number: issue, author: target.author }]);
  return [
    {
      kind: "start_run",
      issue,
      issueTitle: title,
      workflow,
      ...(why !== undefined ? { outsiderText: why } : {}),
    },
  ];
}

/** The issue a webhook carried, as a run's start needs it: its number, title and author. */
const runTarget = (issue: IssueInfo): { number: number; title: string; author: IssueAuthor } => ({
  number: issue.number,
  title: issue.title,
  author: { login: issue.author, association: issue.authorAssociation },
});

function decideComment(
  facts: TriggerFacts,
  event: Extract<DomainEvent, { kind: "comment_created" }>,
): Decision[] {
  const { defs } = facts;
  const issue = event.issue.number;
  const run = latest(facts.runs);
  const parsed = parseCommands(event.comment.body, {
    knownStages: new Set(run ? Object.keys(run.stages) : []),
  });
  if (parsed.commands.length === 0 && parsed.errors.length === 0) return [];
  const commentId = event.comment.id;
  if (!isAllowed(facts.role, defs.config.roles))
    return [
      { kind: "react", commentId, content: "confused" },
      ...(facts.refusedLately
        ? []
        : [{ kind: "reply", issue, body: refusal(event.actor.login, defs.config.roles) } as const]),
      { kind: "audit", action: REFUSED, detail: { issue, comment: commentId, role: facts.role ?? null } },
    ];
  const out: Decision[] = [{ kind: "react", commentId, content: "eyes" }];
  const problems = parsed.errors.map((e) => `- line ${e.line}: \`${inline(e.input, 80)}\`: ${e.message}`);
  const actor = event.actor.login;
  const at = facts.at;
  for (const cmd of parsed.commands) {
    const target = active(facts.runs) ?? run;
    const needRun = (make: (r: RunState) => RunEvent): void => {
      if (!target)
        problems.push(
          `- \`/${cmd.name}\`: there is no Trellis run on this issue yet (start one with \`/run <workflow>\`)`,
        );
      else out.push({ kind: "run_event", runId: target.id, event: make(target) });
    };
    switch (cmd.name) {
      case "help":
        out.push({ kind: "reply", issue, body: helpText(cmd.command) });
        break;
      case "run": {
        const decisions = startRun(facts, runTarget(event.issue), resolveWorkflow(cmd.target, defs));
        for (const d of decisions) if (d.kind === "reply") problems.push(`- \`/run\`: ${d.body}`);
        out.push(...decisions.filter((d) => d.kind !== "reply"));
        break;
      }
      case "batch":
        out.push({
          kind: "batch",
          issue,
          action: {
            kind: "replan",
            ...(cmd.strategy ? { strategy: cmd.strategy } : {}),
            ...(cmd.parallel ? { parallel: cmd.parallel } : {}),
          },
        });
        break;
      case "status":
        if (facts.isBatch) out.push({ kind: "batch", issue, action: { kind: "status" } });
        else if (target) out.push({ kind: "status", runId: target.id });
        else problems.push("- `/status`: there is no Trellis run on this issue yet");
        break;
      case "hold":
      case "unhold":
      case "abort":
        if (facts.isBatch) {
          out.push({
            kind: "batch",
            issue,
            action:
              cmd.name === "abort"
                ? { kind: "abort", reason: cmd.reason ?? `aborted by @${actor}` }
                : { kind: cmd.name },
          });
          break;
        }
        needRun(() =>
          cmd.name === "abort"
            ? { type: "abort", at, actor, reason: cmd.reason ?? `aborted by @${actor}` }
            : cmd.name === "hold"
              ? { type: "hold", at, actor, ...(cmd.reason ? { reason: cmd.reason } : {}) }
              : { type: "unhold", at, actor },
        );
        break;
      case "retry":
        needRun(() => ({ type: "retry", at, actor, ...(cmd.stage ? { stage: cmd.stage } : {}) }));
        break;
      case "approve":
        needRun(() => ({ type: "approve", at, actor, ...(cmd.stage ? { stage: cmd.stage } : {}) }));
        break;
      case "reject":
        needRun(() => ({
          type: "reject",
          at,
          actor,
          reason: cmd.reason,
          ...(cmd.stage ? { stage: cmd.stage } : {}),
        }));
        break;
      case "answer":
        needRun(() => ({ type: "answer", at, actor, text: cmd.text }));
        break;
      case "assign":
        if (!defs.profiles.has(cmd.profile))
          problems.push(`- \`/assign\`: there is no agent profile \`${inline(cmd.profile, 60)}\``);
        else needRun(() => ({ type: "assign", at, actor, stage: cmd.stage, profile: cmd.profile }));
        break;
    }
  }
  out.push({
    kind: "audit",
    action: "commands",
    detail: { comment: commentId, commands: parsed.commands.map((c) => c.name) },
  });
  if (problems.length > 0) {
    out.push({
      kind: "reply",
      issue,
      body: `I couldn't act on part of that comment:\n\n${problems.join("\n")}\n\nType \`/help\` for the commands I understand.`,
    });
  }
  out.push({ kind: "react", commentId, content: problems.length > 0 ? "confused" : "rocket" });
  return out;
}

/** Check runs carry `trellis:<runId>:<stage>` as external id so "Re-run" maps back to the stage. */
export function checkRunKey(runId: string, stage: string): string {
  return `trellis:${runId}:${stage}`;
}

export function parseCheckRunKey(externalId: string): { runId: string; stage: string } | undefined {
  const m = /^trellis:([^:]+):(.+)$/.exec(externalId);
  return m ? { runId: m[1]!, stage: m[2]! } : undefined;
}
