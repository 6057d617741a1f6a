/**
 * A batch decision (the batch label, a command on the tracking issue, its closing) turned into what happens to the
 * batch: create it, feed its reducer an event, or only answer. Pure: the shell loads the batch, calls this, and
 * stores the outcome.
 */
import { REFINE_PROFILE, type Definitions } from "../definitions.js";
import type { BatchAction } from "../triggers.js";
import {
  createBatch,
  isStrategy,
  refusalBody,
  type BatchEffect,
  type BatchEvent,
  type BatchState,
} from "./machine.js";
import { refineTimeoutMinutes } from "./refine-outcome.js";

export interface BatchActionFacts {
  action: BatchAction;
  repo: { owner: string; name: string };
  trackingIssue: number;
  /** The tracking issue's batch, when it has one. */
  batch?: BatchState;
  /** The tracking issue as the event carried it: a new batch is made of its task list. */
  issue?: { title: string; body: string; author?: string; authorAssociation?: string };
  defs: Definitions;
  actor: string;
  at: number;
}

/** New ids, asked for only when a batch is created. */
export interface BatchActionIds {
  newBatchId(): string;
  newAttemptId(): string;
}

export type BatchActionOutcome =
  | { kind: "nothing" }
  /** Only a reply on the tracking issue, and an audit entry when the reply refuses a batch. */
  | { kind: "reply"; body: string; audit?: { action: string; detail: Record<string, unknown> } }
  | { kind: "created"; state: BatchState; effects: BatchEffect[] }
  | { kind: "event"; event: BatchEvent };

const unknownStrategy = (strategy: string): BatchActionOutcome => ({
  kind: "reply",
  body: `Unknown batch strategy \`${strategy}\`: use sequential, parallel or dependency-aware.`,
});

export function decideBatchAction(f: BatchActionFacts, ids: BatchActionIds): BatchActionOutcome {
  const { action, at, actor, defs } = f;
  const reply = (body: string): BatchActionOutcome => ({ kind: "reply", body });

  if (!f.batch) {
    if (action.kind !== "create" && action.kind !== "replan") {
      if (action.kind === "status")
        return reply("There is no batch on this issue; label it with the batch label to start one.");
      return { kind: "nothing" };
    }
    if (!f.issue) return { kind: "nothing" };
    let strategy = defs.config.batch.strategy as string;
    let parallel = defs.config.batch.parallel_limit;
    if (action.kind === "replan") {
      if (action.strategy !== undefined) strategy = action.strategy;
      if (action.parallel !== undefined) parallel = action.parallel;
    }
    if (!isStrategy(strategy)) return unknownStrategy(strategy);
    const id = ids.newBatchId();
    // Raw tickets are refined when the config asks for it and a refine profile exists (else created verbatim).
    const refiner = defs.config.batch.refine ? defs.profiles.get(REFINE_PROFILE) : undefined;
    const out = createBatch({
      id,
      repo: f.repo,
      trackingIssue: f.trackingIssue,
      title: f.issue.title,
      body: f.issue.body,
      ...(f.issue.author !== undefined && f.issue.authorAssociation !== undefined
        ? { trackingAuthor: { login: f.issue.author, association: f.issue.authorAssociation } }
        : {}),
      strategy,
      parallel,
      batchSize: defs.config.batch.batch_size,
      at,
      actor,
      ...(refiner
        ? {
            refine: { parallel: refiner.maxParallel, timeoutMinutes: refineTimeoutMinutes(defs) },
            newAttemptId: ids.newAttemptId,
          }
        : {}),
    });
    if (!out.ok)
      return {
        kind: "reply",
        body: refusalBody(out.errors),
        audit: {
          action: "batch_refused",
          detail: { issue: f.trackingIssue, errors: out.errors.slice(0, 20) },
        },
      };
    return { kind: "created", state: out.state, effects: out.effects };
  }

  const batch = f.batch;
  switch (action.kind) {
    case "create":
      // The label again on a live batch resumes it (removing the label held it).
      if (batch.held) return { kind: "event", event: { type: "unhold", at, actor } };
      if (batch.status === "active" || batch.status === "creating")
        return reply("This issue already has a running batch; `/status` shows it, `/batch` re-plans it.");
      return reply("This issue's batch has finished; open a new tracking issue for a new batch.");
    case "replan":
      if (action.strategy !== undefined && !isStrategy(action.strategy))
        return unknownStrategy(action.strategy);
      return {
        kind: "event",
        event: {
          type: "replan",
          at,
          actor,
          ...(action.strategy !== undefined && isStrategy(action.strategy)
            ? { strategy: action.strategy }
            : {}),
          ...(action.parallel !== undefined ? { parallel: action.parallel } : {}),
        },
      };
    case "hold":
      return { kind: "event", event: { type: "hold", at, actor, reason: `held by @${actor}` } };
    case "unhold":
      return { kind: "event", event: { type: "unhold", at, actor } };
    case "abort":
      return { kind: "event", event: { type: "abort", at, actor, reason: action.reason } };
    case "status":
      return { kind: "event", event: { type: "refresh", at, actor } };
  }
}
