/**
 * The imperative shell of batches: applies batch decisions and ticket-run changes through the pure batch
 * reducer (src/core/batch/machine.ts) in the caller's transaction, starts and aborts ticket runs there too,
 * and carries out the batch's GitHub effects (ticket issues, sub-issues and "blocked by" links, the
 * tracking issue's status comment), feeding their outcomes back as batch events.
 */
import {
  createBatch,
  isStrategy,
  reduceBatch,
  refusalBody,
  storedStatus,
  type BatchEffect,
  type BatchEvent,
  type BatchState,
} from "../core/batch/machine.js";
import { renderBatchStatus } from "../core/batch/render.js";
import type { Definitions } from "../core/definitions.js";
import type { RunState, WorkflowTemplate } from "../core/model.js";
import { stageLabel } from "../core/render.js";
import { singleAgentTemplate } from "../core/templates.js";
import { resolveWorkflow, type Decision } from "../core/triggers.js";
import { createRun, currentStage, isTerminal } from "../core/workflow/machine.js";
import type { DomainEvent } from "../handlers/events.js";
import { idOf, repoParams, statusOf, type GitHub } from "../github/client.js";
import { upsertMarkedComment } from "../github/comments.js";
import { addBlockedBy, addSubIssue, createIssue } from "../github/issues.js";
import { marker } from "../github/markers.js";
import type { Db } from "../store/db.js";
import {
  findBatchByTrackingIssue,
  getBatch,
  insertBatch,
  saveBatch,
  upsertTickets,
} from "../store/batches.js";
import { lockAggregate } from "../store/locks.js";
import { getRun, insertRun } from "../store/runs.js";
import { definitionsOf, enqueue, flush, reduceAndStore, type Pending } from "./process.js";
import { newId, repoName, shortHash, type AppDeps, type ShellEffect, type Target } from "./runtime.js";

/** Batch effects the worker carries out (the others are applied in the reducer's transaction). */
export type BatchShellEffect = Extract<BatchEffect, { type: "batch_issue" | "batch_link" | "batch_status" }>;

export const isBatchShellEffect = (e: ShellEffect): e is BatchShellEffect =>
  e.type === "batch_issue" || e.type === "batch_link" || e.type === "batch_status";

export const batchAggregate = (batchId: string): string => `batch:${batchId}`;
export const batchStatusMarker = (batchId: string): string => marker("batch-status", batchId);
/** Found on a ticket issue the App created, so a retry after a crash finds it instead of creating another. */
export const ticketMarker = (batchId: string, ticket: string): string =>
  marker("batch-ticket", `${batchId}:${ticket.replace(/[^A-Za-z0-9_.:#/-]/g, "_")}`);

type BatchDecision = Extract<Decision, { kind: "batch" }>;

/** Applies a batch decision (label, command, closed issue) in the caller's transaction. */
export async function applyBatchDecision(
  deps: AppDeps,
  tx: Db,
  pending: Pending,
  target: Target,
  defs: Definitions,
  d: BatchDecision,
  actor: string,
  event?: DomainEvent,
): Promise<void> {
  const at = deps.now();
  const t: Target = { ...target, issue: d.issue };
  const found = await findBatchByTrackingIssue<BatchState>(tx, target.repo, d.issue);
  const stored = found ? await getBatch<BatchState>(tx, found.id, { forUpdate: true }) : undefined;
  const action = d.action;
  const say = (body: string): void =>
    enqueue(pending, batchAggregate(`${repoName(target.repo)}#${d.issue}`), t, {
      type: "reply",
      key: `batch-reply:${repoName(target.repo)}#${d.issue}:${at}:${shortHash(body)}`,
      body,
    });

  if (!stored) {
    if (action.kind !== "create" && action.kind !== "replan") {
      if (action.kind === "status")
        say("There is no batch on this issue; label it with the batch label to start one.");
      return;
    }
    const issue = event && "issue" in event ? event.issue : undefined;
    if (!issue) return;
    let strategy = defs.config.batch.strategy as string;
    let parallel = defs.config.batch.parallel_limit;
    if (action.kind === "replan") {
      if (action.strategy !== undefined) strategy = action.strategy;
      if (action.parallel !== undefined) parallel = action.parallel;
    }
    if (!isStrategy(strategy))
      return say(`Unknown batch strategy \`${strategy}\`: use sequential, parallel or dependency-aware.`);
    const id = newId("bat");
    const out = createBatch({
      id,
      repo: target.repo,
      trackingIssue: d.issue,
      title: issue.title,
      body: issue.body,
      strategy,
      parallel,
      batchSize: defs.config.batch.batch_size,
      at,
      actor,
    });
    if (!out.ok) {
      say(refusalBody(out.errors));
      pending.audit.push({
        repo: repoName(target.repo),
        actor,
        action: "batch_refused",
        detail: { issue: d.issue, errors: out.errors.slice(0, 20) },
      });
      return;
    }
    await insertBatch(tx, {
      id,
      repo: repoName(target.repo),
      trackingIssue: d.issue,
      strategy: out.state.strategy,
      parallel: out.state.parallel,
      status: storedStatus(out.state),
      state: out.state,
    });
    await applyOutput(deps, tx, pending, t, defs, out.state, out.effects);
    return;
  }

  let event_: BatchEvent;
  switch (action.kind) {
    case "create":
      // The label again on a live batch resumes it (removing the label held it).
      if (stored.state.held) event_ = { type: "unhold", at, actor };
      else if (stored.state.status === "active" || stored.state.status === "creating")
        return say("This issue already has a running batch; `/status` shows it, `/batch` re-plans it.");
      else return say("This issue's batch has finished; open a new tracking issue for a new batch.");
      break;
    case "replan":
      if (action.strategy !== undefined && !isStrategy(action.strategy))
        return say(
          `Unknown batch strategy \`${action.strategy}\`: use sequential, parallel or dependency-aware.`,
        );
      event_ = {
        type: "replan",
        at,
        actor,
        ...(action.strategy !== undefined && isStrategy(action.strategy)
          ? { strategy: action.strategy }
          : {}),
        ...(action.parallel !== undefined ? { parallel: action.parallel } : {}),
      };
      break;
    case "hold":
      event_ = { type: "hold", at, actor, reason: `held by @${actor}` };
      break;
    case "unhold":
      event_ = { type: "unhold", at, actor };
      break;
    case "abort":
      event_ = { type: "abort", at, actor, reason: action.reason };
      break;
    case "status":
      event_ = { type: "refresh", at, actor };
      break;
  }
  await reduceAndApply(deps, tx, pending, t, defs, stored.state, event_);
}

async function reduceAndApply(
  deps: AppDeps,
  tx: Db,
  pending: Pending,
  target: Target,
  defs: Definitions | undefined,
  state: BatchState,
  event: BatchEvent,
): Promise<void> {
  const out = reduceBatch(state, event, { newRunId: () => newId("run") });
  if (out.state === state) return;
  await applyOutput(deps, tx, pending, target, defs, out.state, out.effects);
}

/** Saves the batch, applies its in-transaction effects, queues the rest, and updates the tickets table. */
async function applyOutput(
  deps: AppDeps,
  tx: Db,
  pending: Pending,
  target: Target,
  defs: Definitions | undefined,
  state: BatchState,
  effects: BatchEffect[],
): Promise<void> {
  await saveBatch(tx, {
    id: state.id,
    status: storedStatus(state),
    state,
    strategy: state.strategy,
    parallel: state.parallel,
  });
  const t: Target = { ...target, issue: state.trackingIssue, batchId: state.id };
  const repo = repoName(state.repo);
  for (const effect of effects) {
    switch (effect.type) {
      case "audit":
        pending.audit.push({ repo, actor: effect.actor, action: effect.action, detail: effect.detail });
        break;
      case "start_ticket": {
        const loaded = defs ?? (await definitionsOf(deps, t));
        const at = deps.now();
        const run = createRun({
          id: effect.runId,
          repo: state.repo,
          issue: effect.issue,
          issueTitle: effect.title,
          workflow: ticketWorkflow(loaded, effect.workflow),
          costCapUsd: loaded.config.budgets.per_run_usd,
          batch: state.trackingIssue,
          at,
          permissions: Object.fromEntries([...loaded.profiles.values()].map((p) => [p.name, p.permission])),
        });
        await insertRun(tx, run, { batchId: state.id });
        pending.audit.push({
          repo,
          actor: "trellis",
          action: "run_started",
          detail: { run: run.id, workflow: run.workflow.name, batch: state.id, ticket: effect.ticket },
        });
        const { batchId: _, ...runTarget } = t;
        await reduceAndStore(
          deps,
          tx,
          pending,
          { ...runTarget, issue: effect.issue },
          run,
          { type: "start", at, actor: "trellis" },
          true,
          { fromBatch: true },
        );
        break;
      }
      case "abort_ticket": {
        const stored = await getRun(tx, effect.runId, { forUpdate: true });
        if (!stored || isTerminal(stored.state)) break;
        const { batchId: _, ...runTarget } = t;
        await reduceAndStore(
          deps,
          tx,
          pending,
          { ...runTarget, issue: stored.state.issue },
          stored.state,
          { type: "abort", at: deps.now(), actor: "trellis", reason: effect.reason },
          false,
          { fromBatch: true },
        );
        break;
      }
      default:
        enqueue(pending, batchAggregate(state.id), t, effect);
    }
  }
  await upsertTickets(
    tx,
    state.id,
    state.tickets.map((tk) => ({
      key: tk.key,
      title: tk.title,
      issue: tk.issue ?? null,
      runId: tk.runId ?? null,
      status: tk.status,
      dependsOn: tk.deps,
    })),
  );
}

/** The ticket's own workflow when the repository knows it, else the default workflow. */
function ticketWorkflow(defs: Definitions, name: string | undefined): WorkflowTemplate {
  for (const candidate of [name, defs.config.default_workflow]) {
    if (!candidate) continue;
    const w = resolveWorkflow(candidate, defs);
    if (typeof w !== "string") return w;
  }
  return singleAgentTemplate(defs.config.default_profile);
}

/** What the tracking issue shows of a ticket's run. */
function runView(run: RunState): Omit<Extract<BatchEvent, { type: "run_update" }>, "type" | "at" | "runId"> {
  const stage = currentStage(run);
  const pr = Object.values(run.stages)
    .map((s) => s.prNumber)
    .filter((n): n is number => n !== undefined)
    .at(-1);
  const label = stage ? stageLabel(stage) : undefined;
  return {
    status: run.status,
    ...(stage ? { stage: stage.id, agent: stage.profile } : {}),
    ...(pr !== undefined ? { prNumber: pr } : {}),
    ...(label ? { check: `${label.emoji} ${label.text}` } : {}),
    costUsd: run.costUsd,
    ...(run.reason ? { reason: run.reason } : {}),
  };
}

/**
 * Called for every change of a run (in the run's transaction, under the repository lock): when the run is
 * a batch ticket and what the tracking issue shows of it changed, the batch reducer hears of it — a
 * finished ticket lets the next ones start.
 */
export async function batchRunChanged(
  deps: AppDeps,
  tx: Db,
  pending: Pending,
  target: Target,
  before: RunState,
  after: RunState,
): Promise<void> {
  if (after.batch === undefined) return;
  const view = runView(after);
  if (JSON.stringify(view) === JSON.stringify(runView(before))) return;
  const found = await findBatchByTrackingIssue<BatchState>(tx, after.repo, after.batch);
  if (!found) return;
  const stored = await getBatch<BatchState>(tx, found.id, { forUpdate: true });
  if (!stored) return;
  await reduceAndApply(deps, tx, pending, { ...target, issue: after.batch }, undefined, stored.state, {
    type: "run_update",
    at: deps.now(),
    runId: after.id,
    ...view,
  });
}

/** Feeds an effect's outcome back into a batch in its own transaction. */
export async function applyBatchEvent(
  deps: AppDeps,
  target: Target,
  batchId: string,
  event: BatchEvent,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await lockAggregate(tx, `repo:${repoName(target.repo)}`);
    const stored = await getBatch<BatchState>(tx, batchId, { forUpdate: true });
    if (!stored) return;
    const pending: Pending = { effects: new Map(), audit: [] };
    await reduceAndApply(deps, tx, pending, target, undefined, stored.state, event);
    await flush(tx, pending);
  });
  deps.wake();
}

// ---------------------------------------------------------------------------------------------
// Executors

export async function executeBatchEffect(
  deps: AppDeps,
  octokit: GitHub,
  target: Target,
  effect: BatchShellEffect,
): Promise<void> {
  const batch = target.batchId ? await getBatch<BatchState>(deps.db, target.batchId) : undefined;
  if (!batch) {
    deps.log.warn({ effect: effect.key }, "effect for a batch that no longer exists; skipped");
    return;
  }
  const state = batch.state;
  switch (effect.type) {
    case "batch_issue": {
      const ticket = state.tickets.find((t) => t.key === effect.ticket);
      if (!ticket) return;
      const defs = await definitionsOf(deps, target);
      let found: { number: number; id: number; title?: string; labels: string[] };
      if (effect.create) {
        const created = await createIssue(octokit, target.repo, {
          ...effect.create,
          marker: ticketMarker(state.id, ticket.key),
        });
        found = { number: created.number, id: created.id, labels: [] };
      } else {
        const { data } = await octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}", {
          ...repoParams(target.repo),
          issue_number: ticket.issue ?? 0,
        });
        found = {
          number: data.number,
          id: idOf(data.id),
          title: data.title,
          labels: data.labels.map((l) => (typeof l === "string" ? l : (l.name ?? ""))),
        };
      }
      const prefix = defs.config.labels.workflow_prefix;
      const workflow = found.labels
        .filter((l) => l.startsWith(prefix))
        .map((l) => l.slice(prefix.length))
        .find((w) => defs.templates.has(w));
      await applyBatchEvent(deps, target, state.id, {
        type: "ticket_issue",
        at: deps.now(),
        ticket: ticket.key,
        issue: found.number,
        issueId: found.id,
        ...(found.title ? { title: found.title } : {}),
        ...(workflow ? { workflow } : {}),
      });
      return;
    }
    case "batch_link": {
      // An issue can have one parent only; one already placed elsewhere stays there (not worth failing for).
      await tolerate(deps, effect.key, () =>
        addSubIssue(octokit, target.repo, state.trackingIssue, effect.issue.id),
      );
      for (const blocker of effect.blockedBy)
        await tolerate(deps, effect.key, () =>
          addBlockedBy(octokit, target.repo, effect.issue.number, blocker.id),
        );
      return;
    }
    case "batch_status":
      // A later step asked again and will render the same (latest) state: one comment write, not many.
      if (state.statusSeq !== undefined && effect.seq < state.statusSeq) return;
      await upsertMarkedComment(
        octokit,
        target.repo,
        state.trackingIssue,
        batchStatusMarker(state.id),
        renderBatchStatus(state, { marker: batchStatusMarker(state.id), now: deps.now() }),
        { login: deps.self.slug ? `${deps.self.slug}[bot]` : undefined, appId: deps.self.id },
      );
      return;
  }
}

/** GitHub's 422 (already linked elsewhere, limits reached) is logged, not retried. */
async function tolerate(deps: AppDeps, key: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (statusOf(error) !== 422) throw error;
    deps.log.warn({ effect: key, err: String(error) }, "GitHub refused a batch link; left as it is");
  }
}
