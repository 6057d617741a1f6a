/**
 * The pipeline's two transactions.
 *
 * 1. `ingest` (on the webhook's request path): record the delivery id (a redelivery ends there) and
 *    store the event in the outbox, in one transaction. Then GitHub gets its answer: milliseconds,
 *    and nothing is lost if the process dies right after.
 * 2. `processEvent` (in the worker): gather the facts that need GitHub (definitions, the actor's
 *    role, an attempt's result), then in one transaction lock the repository's aggregate, apply the
 *    pure decisions and the run reducer, store the new states and their effects, and mark the event
 *    done. A crash before the commit leaves the event to be processed again; after it, exactly once.
 */
import type { DomainEvent } from "../handlers/events.js";
import type { GitHub } from "../github/client.js";
import { pullRequestState } from "../github/pull-requests.js";
import { readAttemptResult } from "../github/results.js";
import { loadRepoFiles } from "../github/repo-files.js";
import { loadDefinitions, type Definitions } from "../core/definitions.js";
import { agentAttemptOf } from "../core/dispatch.js";
import { formatDiagnostic } from "../core/diagnostics.js";
import type { Effect, RunEvent, RunState } from "../core/model.js";
import {
  closingPullRequests,
  decide,
  needsRole,
  parseCheckRunKey,
  type Decision,
  type Stake,
  type TriggerFacts,
} from "../core/triggers.js";
import { createRun, nextWake, reduceRun } from "../core/workflow/machine.js";
import type { Db } from "../store/db.js";
import { recordDeliveriesWithEvents, type DeliveryWithEvent } from "../store/inbox.js";
import { lockAggregate } from "../store/locks.js";
import { completeEffect, enqueueEffects, type NewEffect, type OutboxRow } from "../store/outbox.js";
import { findRunByAttempt, findRunsByIssue, getRun, insertRun, saveRun } from "../store/runs.js";
import { appendAuditEntries, type AuditEntry } from "../store/audit.js";
import { findBatchByTrackingIssue } from "../store/batches.js";
import { recordCost } from "../store/costs.js";
import {
  eventAggregate,
  issueAggregate,
  newId,
  repoName,
  runAggregate,
  shortHash,
  type AppDeps,
  type OutboxPayload,
  type ShellEffect,
  type Target,
} from "./runtime.js";
import { applyBatchDecision, applyRefineRun, batchRunChanged } from "./batch.js";
import { processBoardEvent, rememberContent } from "./board.js";
import { createBatcher, type Batcher } from "./ingest-batcher.js";

/** Returns false for a duplicate delivery. */
export async function ingest(deps: AppDeps, event: DomainEvent): Promise<boolean> {
  deps.metrics.inc("trellis_deliveries_total", { event: event.kind });
  // One statement (inbox + outbox) for all deliveries arriving together: the request path's only
  // database round trip, answered after the commit.
  const payload: OutboxPayload = { kind: "event", event };
  const fresh = await ingestBatcher(deps).submit({
    deliveryId: event.deliveryId,
    event: event.kind,
    row: { aggregate: eventAggregate(event), key: `event:${event.deliveryId}`, type: "event", payload },
  });
  lastIngestAt.set(deps, performance.now());
  if (!fresh) deps.metrics.inc("trellis_duplicate_deliveries_total");
  else deps.wake();
  return fresh;
}

// One group-commit batcher per App (per `deps`), shared by its request handlers.
const batchers = new WeakMap<AppDeps, Batcher<DeliveryWithEvent, boolean>>();

function ingestBatcher(deps: AppDeps): Batcher<DeliveryWithEvent, boolean> {
  let batcher = batchers.get(deps);
  if (!batcher) {
    // The urgent lane: a webhook's ack does not queue behind the worker's transactions.
    const db = deps.db.urgent ?? deps.db;
    batcher = createBatcher((items) => recordDeliveriesWithEvents(db, items));
    batchers.set(deps, batcher);
  }
  return batcher;
}

const lastIngestAt = new WeakMap<AppDeps, number>();

/**
 * Waits until webhooks are quiet (nothing queued or being committed, none answered in the last
 * `quietMs`) and resolves true, or resolves false after `maxMs` of sustained load: the worker lets
 * webhooks go first (their events are durable in the outbox, so processing later is correct), but a
 * sustained load cannot starve it.
 */
export async function ingestsSettled(deps: AppDeps, maxMs: number, quietMs = 10): Promise<boolean> {
  const deadline = performance.now() + maxMs;
  for (;;) {
    const now = performance.now();
    const pending = batchers.get(deps)?.pending ?? 0;
    const sinceLast = now - (lastIngestAt.get(deps) ?? -Infinity);
    if (pending === 0 && sinceLast >= quietMs) return true;
    if (now >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(quietMs, deadline - now)));
  }
}

// ---------------------------------------------------------------------------------------------
// Definitions per repository, cached briefly: every event needs them, and they change rarely.

// A push that changes them drops them at once (src/handlers/push.ts); the expiry catches what no push
// announces (a config `extends` from another repository, a missed delivery).
const DEFINITIONS_TTL_MS = 300_000;
const definitionsCache = new Map<string, { at: number; value: Promise<DefinitionsOutcome> }>();

type DefinitionsOutcome = { ok: true; defs: Definitions } | { ok: false; errors: string[] };

/** Drops the cached definitions of one repository (`owner/name`), or of all. */
export function forgetDefinitions(repo?: string): void {
  if (repo === undefined) definitionsCache.clear();
  else definitionsCache.delete(repo);
}

async function definitionsFor(
  deps: AppDeps,
  event: { installationId?: number; repo: Target["repo"] },
): Promise<DefinitionsOutcome> {
  const key = repoName(event.repo);
  const hit = definitionsCache.get(key);
  if (hit && deps.now() - hit.at < DEFINITIONS_TTL_MS) return hit.value;
  const value = (async (): Promise<DefinitionsOutcome> => {
    const octokit = await deps.github(event.installationId);
    const repoFiles = await loadRepoFiles(octokit, event.repo);
    const loaded = loadDefinitions({ builtins: deps.builtins, repo: repoFiles });
    if (!loaded.value || loaded.errors.length > 0)
      return { ok: false, errors: loaded.errors.map(formatDiagnostic) };
    return { ok: true, defs: loaded.value };
  })();
  definitionsCache.set(key, { at: deps.now(), value });
  value.catch(() => definitionsCache.delete(key));
  return value;
}

/** The definitions in force for an effect's repository (they were valid when the effect was stored). */
export async function definitionsOf(deps: AppDeps, target: Target): Promise<Definitions> {
  const loaded = await definitionsFor(deps, target);
  if (!loaded.ok)
    throw new Error(`the repository's Trellis definitions are invalid: ${loaded.errors.join("; ")}`);
  return loaded.defs;
}

// ---------------------------------------------------------------------------------------------

export interface Pending {
  /** When the decision was made, on the App's clock: the audit log's time. */
  at: number;
  effects: Map<string, NewEffect[]>;
  audit: AuditEntry[];
}

export const newPending = (at: number): Pending => ({ at, effects: new Map(), audit: [] });

export const enqueue = (
  p: Pending,
  aggregate: string,
  target: Target,
  effect: ShellEffect,
  runAfter?: Date,
): void => {
  const list = p.effects.get(aggregate) ?? [];
  const payload: OutboxPayload = { kind: "effect", target, effect };
  list.push({ key: effect.key, type: effect.type, payload, ...(runAfter ? { runAfter } : {}) });
  p.effects.set(aggregate, list);
};

/** Carries out one claimed `event` row. */
export async function processEvent(deps: AppDeps, row: OutboxRow, workerId: string): Promise<void> {
  const { event } = row.payload as Extract<OutboxPayload, { kind: "event" }>;
  // A card moved on the board: organisation-level, resolved to its issue by the board glue.
  if (event.kind === "projects_v2_item_edited") return processBoardEvent(deps, row, workerId, event);
  if (!("repo" in event)) {
    await completeEffect(deps.db, row.id, { workerId });
    return;
  }
  if ("issue" in event)
    rememberContent(deps, event.repo, event.issue.number, {
      id: event.issue.nodeId,
      kind: event.issue.isPullRequest ? "pull_request" : "issue",
    });
  const issueNumber = issueOf(event);
  const loaded = await definitionsFor(deps, event);
  if (!loaded.ok) {
    await reportConfigError(deps, row, workerId, event, issueNumber, loaded.errors);
    return;
  }
  const defs = loaded.defs;
  const octokit = await deps.github(event.installationId);
  const stake = await stakeOf(deps, event);
  const role = needsRole(event, defs, stake)
    ? await deps.permissions(octokit, event.repo, event.actor.login)
    : undefined;
  const pullRequests = await closingPullRequestsOf(octokit, event, stake);
  let result: TriggerFacts["result"];
  // Only the agent workflow's dispatched runs are attempts; the repository's CI runs are someone else's.
  const attemptId =
    event.kind === "workflow_run" ? agentAttemptOf(event.run, defs.config.agent_workflow) : undefined;
  if (event.kind === "workflow_run" && event.action === "completed" && attemptId && !event.fromFork) {
    const read = await readAttemptResult(octokit, event.repo, event.run.id, attemptId);
    result = read.ok ? { ok: true, result: read.result } : { ok: false, error: read.message };
  }

  await deps.db.transaction(async (tx) => {
    await lockAggregate(tx, eventAggregate(event));
    const runs = await runsFor(tx, event, issueNumber, attemptId);
    const isBatch =
      issueNumber !== undefined &&
      (await findBatchByTrackingIssue(tx, event.repo, issueNumber)) !== undefined;
    const facts: TriggerFacts = {
      event,
      defs,
      ...(role !== undefined ? { role: role === "none" ? undefined : role } : {}),
      runs,
      ...(isBatch ? { isBatch } : {}),
      ...(result ? { result } : {}),
      ...(pullRequests.length > 0 ? { pullRequests } : {}),
      at: deps.now(),
    };
    const decisions = decide(facts);
    const pending = newPending(deps.now());
    const target: Target = {
      installationId: event.installationId,
      repo: event.repo,
      issue: issueNumber ?? 0,
    };
    // An attempt no run knows may be a batch ticket's refinement: its result goes to the batch.
    if (event.kind === "workflow_run" && runs.length === 0)
      await applyRefineRun(deps, tx, pending, target, defs, event, result);
    for (const d of decisions)
      await applyDecision(deps, tx, pending, target, defs, d, event.actor.login, event);
    await flush(tx, pending);
    await completeEffect(tx, row.id, { workerId });
  });
  deps.wake();
}

/**
 * For a closed issue: what the close could stop (its runs, whether it tracks a batch), read before the transaction
 * to know whether the closer's role and the run's pull requests are needed; the core decides on what it then locks.
 */
async function stakeOf(deps: AppDeps, event: DomainEvent): Promise<Stake | undefined> {
  if (event.kind !== "issue_closed") return undefined;
  const runs = (await findRunsByIssue(deps.db, event.repo, event.issue.number)).map((r) => r.state).reverse();
  const isBatch = (await findBatchByTrackingIssue(deps.db, event.repo, event.issue.number)) !== undefined;
  return { runs, isBatch };
}

/**
 * For a closed issue: its active run's pull requests as GitHub reports them now (read before the transaction,
 * like every fact that needs GitHub; the core checks them against the run it then locks).
 */
async function closingPullRequestsOf(
  octokit: GitHub,
  event: DomainEvent,
  stake: Stake | undefined,
): Promise<NonNullable<TriggerFacts["pullRequests"]>> {
  if (event.kind !== "issue_closed" || !stake) return [];
  const numbers = closingPullRequests(event, stake.runs);
  const found = await Promise.all(numbers.map((n) => pullRequestState(octokit, event.repo, n)));
  return found.filter((pr) => pr !== undefined);
}

function issueOf(event: DomainEvent): number | undefined {
  switch (event.kind) {
    case "label_added":
    case "label_removed":
    case "issue_closed":
    case "comment_created":
      return event.issue.number;
    case "pull_request":
      return event.pullRequest.number;
    default:
      return undefined;
  }
}

async function runsFor(
  tx: Db,
  event: DomainEvent,
  issue: number | undefined,
  attemptId: string | undefined,
): Promise<RunState[]> {
  if (event.kind === "workflow_run") {
    const run = attemptId ? await findRunByAttempt(tx, attemptId) : undefined;
    return run ? [run.state] : [];
  }
  if (event.kind === "check_run_rerequested") {
    const key = parseCheckRunKey(event.checkRun.externalId);
    const run = key ? await getRun(tx, key.runId) : undefined;
    return run ? [run.state] : [];
  }
  if (event.kind === "pull_request") {
    const run = event.pullRequest.runId ? await getRun(tx, event.pullRequest.runId) : undefined;
    return run ? [run.state] : [];
  }
  if (issue === undefined || !("repo" in event)) return [];
  return (await findRunsByIssue(tx, event.repo, issue)).map((r) => r.state).reverse();
}

export async function applyDecision(
  deps: AppDeps,
  tx: Db,
  pending: Pending,
  target: Target,
  defs: Definitions,
  d: Decision,
  actor: string,
  event?: DomainEvent,
): Promise<void> {
  const repo = repoName(target.repo);
  switch (d.kind) {
    case "start_run": {
      const at = deps.now();
      const permissions = Object.fromEntries([...defs.profiles.values()].map((p) => [p.name, p.permission]));
      const run = createRun({
        id: newId("run"),
        repo: target.repo,
        issue: d.issue,
        issueTitle: d.issueTitle,
        workflow: d.workflow,
        costCapUsd: defs.config.budgets.per_run_usd,
        at,
        permissions,
      });
      await insertRun(tx, run);
      pending.audit.push({
        repo,
        actor,
        action: "run_started",
        detail: { run: run.id, workflow: d.workflow.name },
      });
      await reduceAndStore(
        deps,
        tx,
        pending,
        { ...target, issue: d.issue },
        run,
        { type: "start", at, actor },
        true,
      );
      return;
    }
    case "run_event": {
      const stored = await getRun(tx, d.runId, { forUpdate: true });
      if (!stored) return;
      await reduceAndStore(
        deps,
        tx,
        pending,
        { ...target, issue: stored.state.issue },
        stored.state,
        d.event,
        false,
      );
      return;
    }
    case "status": {
      const stored = await getRun(tx, d.runId);
      if (!stored) return;
      const t = { ...target, issue: stored.state.issue, runId: d.runId };
      enqueue(pending, runAggregate(d.runId), t, {
        type: "status_comment",
        key: `status:${d.runId}:manual:${deps.now()}`,
      });
      return;
    }
    case "reply":
      enqueue(
        pending,
        issueAggregate(target),
        { ...target, issue: d.issue },
        {
          type: "reply",
          key: `reply:${target.issue}:${deps.now()}:${shortHash(d.body)}`,
          body: d.body,
        },
      );
      return;
    case "react":
      enqueue(pending, issueAggregate(target), target, {
        type: "reaction",
        key: `reaction:${d.commentId}:${d.content}`,
        commentId: d.commentId,
        content: d.content,
      });
      return;
    case "audit":
      pending.audit.push({ repo, actor, action: d.action, detail: d.detail });
      return;
    case "batch":
      pending.audit.push({ repo, actor, action: `batch_${d.action.kind}`, detail: { issue: d.issue } });
      await applyBatchDecision(deps, tx, pending, target, defs, d, actor, event);
      return;
  }
}

/** Applies one event to a run in the caller's transaction and queues the resulting effects. */
export async function reduceAndStore(
  deps: AppDeps,
  tx: Db,
  pending: Pending,
  target: Target,
  state: RunState,
  event: RunEvent,
  isNew: boolean,
  options: { fromBatch?: boolean } = {},
): Promise<RunState> {
  const out = reduceRun(state, event, { newAttemptId: () => newId("att") });
  if (!isNew || out.state !== state) await saveRun(tx, out.state);
  // A batch ticket's change may let the next tickets start (not when the batch itself caused it).
  if (!options.fromBatch && out.state !== state)
    await batchRunChanged(deps, tx, pending, target, state, out.state);
  const t: Target = { ...target, runId: state.id };
  for (const effect of out.effects) {
    if (effect.type === "audit") {
      pending.audit.push({
        repo: repoName(state.repo),
        actor: effect.actor,
        action: effect.action,
        detail: effect.detail,
      });
      continue;
    }
    enqueue(pending, runAggregate(state.id), t, effect);
  }
  if (event.type === "attempt_finished") {
    const r = event.result;
    await recordCost(tx, {
      attemptId: event.attemptId,
      runId: state.id,
      repo: repoName(state.repo),
      usd: r.costUsd,
      inputTokens: r.tokens.input,
      outputTokens: r.tokens.output,
      at: new Date(event.at),
    });
    deps.metrics.inc("trellis_stage_outcomes_total", { status: r.status });
    deps.metrics.inc("trellis_cost_usd_total", {}, r.costUsd);
  }
  const wake = nextWake(out.state);
  if (wake !== undefined)
    enqueue(
      pending,
      `tick:${state.id}`,
      t,
      { type: "tick", key: `tick:${state.id}:${wake}`, at: wake },
      new Date(wake),
    );
  return out.state;
}

/** Feeds an event back into a run (an effect's outcome, a timer) in its own transaction. */
export async function applyRunEvent(
  deps: AppDeps,
  target: Target,
  runId: string,
  event: RunEvent,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await lockAggregate(tx, `repo:${repoName(target.repo)}`);
    const stored = await getRun(tx, runId, { forUpdate: true });
    if (!stored) return;
    const pending = newPending(deps.now());
    await reduceAndStore(
      deps,
      tx,
      pending,
      { ...target, issue: stored.state.issue },
      stored.state,
      event,
      false,
    );
    await flush(tx, pending);
  });
  deps.wake();
}

export async function flush(tx: Db, pending: Pending): Promise<void> {
  for (const [aggregate, effects] of pending.effects) await enqueueEffects(tx, aggregate, effects);
  const at = new Date(pending.at);
  await appendAuditEntries(
    tx,
    pending.audit.map((entry) => ({ at, ...entry })),
  );
}

async function reportConfigError(
  deps: AppDeps,
  row: OutboxRow,
  workerId: string,
  event: DomainEvent & { repo: Target["repo"] },
  issue: number | undefined,
  errors: string[],
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    // Only an event that asked Trellis for something deserves an answer about the config.
    const asked =
      issue !== undefined &&
      (event.kind === "label_added" || event.kind === "comment_created") &&
      !event.actor.isBot;
    if (asked) {
      const body =
        "Trellis can't act: `.github/trellis.yml` (or a profile or template) is invalid.\n\n" +
        errors.map((e) => `- \`${e.replace(/`/g, "'")}\``).join("\n") +
        "\n\nFix the file and try again; `npx trellis validate` checks it locally.";
      const effect: Effect = {
        type: "reply",
        key: `config-error:${issue}:${shortHash(errors.join("\n"))}`,
        body,
      };
      const target: Target = { installationId: event.installationId, repo: event.repo, issue };
      await enqueueEffects(tx, issueAggregate(target), [
        {
          key: effect.key,
          type: effect.type,
          payload: { kind: "effect", target, effect } satisfies OutboxPayload,
        },
      ]);
    }
    await appendAuditEntries(tx, [
      { repo: repoName(event.repo), actor: event.actor.login, action: "config_invalid", detail: { errors } },
    ]);
    await completeEffect(tx, row.id, { workerId });
  });
  deps.wake();
}
