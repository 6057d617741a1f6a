/**
 * The one command handler every change goes through: lock the aggregate → load → decide → save → enqueue → flush
 * (the effects and the audit entries, in the same transaction) → wake the worker. Runs, batches, the board and
 * received events all use it; what differs (what to load, which reducer decides) is the caller's `work`.
 */
import { appendAuditEntries, type AuditEntry } from "../store/audit.js";
import type { Db } from "../store/db.js";
import { lockAggregate } from "../store/locks.js";
import { completeEffect, enqueueEffects, type NewEffect, type OutboxRow } from "../store/outbox.js";
import type { AppDeps, OutboxPayload, ShellEffect, Target } from "./runtime.js";

/** What a transaction will store when it commits: effects by aggregate, and audit entries. */
export interface Pending {
  /** When the decision was made, on the App's clock: the audit log's time. */
  at: number;
  effects: Map<string, NewEffect[]>;
  audit: AuditEntry[];
  /** What to count once the transaction has committed (metrics: a rolled-back step counts nothing). */
  afterCommit: (() => void)[];
}

export const newPending = (at: number): Pending => ({ at, effects: new Map(), audit: [], afterCommit: [] });

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

export async function flush(tx: Db, pending: Pending): Promise<void> {
  for (const [aggregate, effects] of pending.effects) await enqueueEffects(tx, aggregate, effects);
  const at = new Date(pending.at);
  await appendAuditEntries(
    tx,
    pending.audit.map((entry) => ({ at, ...entry })),
  );
}

/** One transaction's work in progress: the App, the transaction, and what it will store. */
export interface UnitOfWork {
  deps: AppDeps;
  tx: Db;
  pending: Pending;
}

/** An outbox row a worker claimed: done in the same transaction as the change it caused. */
export interface ClaimedRow {
  row: OutboxRow;
  workerId: string;
}

/** The worker no longer holds the row it was carrying out: another has claimed it since its lease ran out. */
export class LeaseLost extends Error {
  constructor(key: string) {
    super(`lease lost on ${key}: another worker holds it now; this outcome is dropped`);
    this.name = "LeaseLost";
  }
}

/**
 * Runs `work` in one transaction holding the aggregate's lock, then stores what it queued (and marks `claimed`
 * done) before the commit, and wakes the worker after it. A crash before the commit changes nothing.
 */
export async function runCommand<T>(
  deps: AppDeps,
  lock: string,
  work: (uow: UnitOfWork) => Promise<T>,
  claimed?: ClaimedRow,
): Promise<T> {
  let committed: Pending | undefined;
  const result = await deps.db.transaction(async (tx) => {
    await lockAggregate(tx, lock);
    const uow: UnitOfWork = { deps, tx, pending: newPending(deps.now()) };
    committed = uow.pending;
    const out = await work(uow);
    await flush(tx, uow.pending);
    // Another worker took the row meanwhile (this one's lease ran out): roll back, its outcome counts instead.
    if (claimed && !(await completeEffect(tx, claimed.row.id, { workerId: claimed.workerId })))
      throw new LeaseLost(claimed.row.key);
    return out;
  });
  for (const count of committed?.afterCommit ?? []) count();
  deps.wake();
  return result;
}
