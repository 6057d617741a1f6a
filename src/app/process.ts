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
import { agentAttemptOf } from "../core/dispatch.js";
import { configErrorReply } from "../core/config-error.js";
import type { RunState } from "../core/model.js";
import {
  closingPullRequests,
  decide,
  isAllowed,
  needsRole,
  parseCheckRunKey,
  REFUSAL_QUIET_MS,
  REFUSED,
  type Stake,
  type TriggerFacts,
} from "../core/triggers.js";
import { auditedOnIssueSince } from "../store/audit.js";
import type { Db } from "../store/db.js";
import { recordDeliveriesWithEvents, type DeliveryWithEvent } from "../store/inbox.js";
import { completeEffect, type OutboxRow } from "../store/outbox.js";
import { findRunByAttempt, findRunsByIssue, getRun } from "../store/runs.js";
import { findBatchByTrackingIssue } from "../store/batches.js";
import { eventAggregate, issueAggregate } from "./aggregates.js";
import { applyRefineRun } from "./batch.js";
import { processBoardEvent } from "./board-control.js";
import { rememberContent } from "./board.js";
import { applyDecision } from "./decisions.js";
import { definitionsFor } from "./definitions.js";
import { createBatcher, type Batcher } from "./ingest-batcher.js";
import { repoName, type AppDeps, type OutboxPayload, type Target } from "./runtime.js";
import { enqueue, runCommand, type ClaimedRow } from "./unit-of-work.js";

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

/** Carries out one claimed `event` row. */
export async function processEvent(deps: AppDeps, row: OutboxRow, workerId: string): Promise<void> {
  const { event } = row.payload as Extract<OutboxPayload, { kind: "event" }>;
  const claimed: ClaimedRow = { row, workerId };
  // A card moved on the board: organisation-level, resolved to its issue by the board glue.
  if (event.kind === "projects_v2_item_edited") return processBoardEvent(deps, claimed, event);
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
    await reportConfigError(deps, claimed, { event, issue: issueNumber, errors: loaded.errors });
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

  await runCommand(
    deps,
    eventAggregate(event),
    async (uow) => {
      const { tx } = uow;
      const runs = await runsFor(tx, event, issueNumber, attemptId);
      const isBatch =
        issueNumber !== undefined &&
        (await findBatchByTrackingIssue(tx, event.repo, issueNumber)) !== undefined;
      const refusedLately =
        role !== undefined &&
        issueNumber !== undefined &&
        !isAllowed(role === "none" ? undefined : role, defs.config.roles) &&
        (await auditedOnIssueSince(tx, {
          repo: repoName(event.repo),
          issue: issueNumber,
          action: REFUSED,
          since: new Date(deps.now() - REFUSAL_QUIET_MS),
        }));
      const facts: TriggerFacts = {
        event,
        defs,
        ...(role !== undefined ? { role: role === "none" ? undefined : role } : {}),
        ...(refusedLately ? { refusedLately } : {}),
        runs,
        ...(isBatch ? { isBatch } : {}),
        ...(result ? { result } : {}),
        ...(pullRequests.length > 0 ? { pullRequests } : {}),
        at: deps.now(),
      };
      const decisions = decide(facts);
      const target: Target = {
        installationId: event.installationId,
        repo: event.repo,
        issue: issueNumber ?? 0,
      };
      // An attempt no run knows may be a batch ticket's refinement: its result goes to the batch.
      if (event.kind === "workflow_run" && runs.length === 0)
        await applyRefineRun(uow, { target, defs }, event, result);
      for (const d of decisions)
        await applyDecision(uow, { target, defs, actor: event.actor.login, event }, d);
    },
    claimed,
  );
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

/** The issue (or pull request) an event is about, if any. */
export function issueOf(event: DomainEvent): number | undefined {
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

/** An invalid config: the event is done and audited, and answered when the core says it asked for an answer. */
async function reportConfigError(
  deps: AppDeps,
  claimed: ClaimedRow,
  invalid: { event: DomainEvent & { repo: Target["repo"] }; issue: number | undefined; errors: string[] },
): Promise<void> {
  const { event, issue, errors } = invalid;
  await runCommand(
    deps,
    eventAggregate(event),
    async ({ pending }) => {
      const reply = configErrorReply(event, issue, errors);
      if (reply && issue !== undefined) {
        const target: Target = { installationId: event.installationId, repo: event.repo, issue };
        enqueue(pending, issueAggregate(target), target, reply);
      }
      pending.audit.push({
        repo: repoName(event.repo),
        actor: event.actor.login,
        action: "config_invalid",
        detail: { errors },
      });
    },
    claimed,
  );
}
