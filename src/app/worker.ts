/**
 * The effect worker: claims outbox rows (FOR UPDATE SKIP LOCKED, with leases), carries them out, and
 * retries transient failures with exponential backoff and jitter. Any number of App processes can
 * run one against the same PostgreSQL: a row is only ever executed by the worker holding its lease.
 */
import { randomBytes } from "node:crypto";
import { abandonedEffectEvent, deadLetterNotice } from "../core/dead-letters.js";
import type { Effect } from "../core/model.js";
import type { Retention } from "../core/server-config.js";
import { isTransient } from "../github/client.js";
import { attemptsWithin, backoffMs } from "../store/backoff.js";
import { pruneExpired } from "../store/retention.js";
import {
  claimEffects,
  completeEffect,
  failEffect,
  nextEffectDueInMs,
  type OutboxRow,
} from "../store/outbox.js";
import { Deferred, executeEffect } from "./effects.js";
import { applyRunEvent } from "./decisions.js";
import { issueAggregate, repoAggregate } from "./aggregates.js";
import { ingestsSettled, issueOf, processEvent } from "./process.js";
import type { AppDeps, OutboxPayload, Target } from "./runtime.js";
import { enqueue, runCommand } from "./unit-of-work.js";

export interface WorkerOptions {
  concurrency?: number;
  leaseMs?: number;
  /** Longest sleep between polls when nothing wakes the worker (other replicas may add rows). */
  idleMs?: number;
  /** Tries of a transiently failing row before it becomes a dead letter (default: what fits in `retryForMs`). */
  maxAttempts?: number;
  /** How long transient failures are retried, with jittered backoff (default an hour). */
  retryForMs?: number;
  /**
   * Webhooks first (GitHub waits on them): before claiming, the loop waits for webhooks to be quiet,
   * at most this long; after a wait that timed out it claims a single row, so a sustained load slows
   * the worker to one event per `yieldMs` but never stops it. 0 disables yielding. (`drain` never yields.)
   */
  yieldMs?: number;
  /** Finished records past this are deleted by the worker's housekeeping; undefined: nothing is deleted. */
  retention?: Retention;
  /** How often the housekeeping runs (default hourly; the first time right after the start). */
  housekeepingEveryMs?: number;
}

export interface Worker {
  readonly id: string;
  wake(): void;
  /** Claims and executes until nothing is due now (tests and the sandbox use this). */
  drain(options?: { maxRounds?: number }): Promise<number>;
  /** Deletes expired records now if the period has passed (the loop does this on its own). */
  housekeeping(): Promise<void>;
  stop(): Promise<void>;
}

/** How far before a retried effect was stored its earlier tries are looked for (clocks of GitHub and the database differ). */
const RETRY_LOOKBACK_MS = 10 * 60_000;

/** Retries of transient failures: 1 s doubling to 5 minutes, jittered. */
const BACKOFF = { baseMs: 1_000, maxMs: 5 * 60_000 };

export function createWorker(deps: AppDeps, options: WorkerOptions = {}): Worker & { start(): void } {
  const id = `worker-${process.pid}-${randomBytes(3).toString("hex")}`;
  const concurrency = options.concurrency ?? 8;
  const leaseMs = options.leaseMs ?? 120_000;
  const idleMs = options.idleMs ?? 2_000;
  const maxAttempts = options.maxAttempts ?? attemptsWithin(options.retryForMs ?? 60 * 60_000, BACKOFF);
  const yieldMs = options.yieldMs ?? 100;
  const housekeepingEveryMs = options.housekeepingEveryMs ?? 60 * 60_000;
  let lastHousekeeping = -Infinity;
  let running = false;
  let loop: Promise<void> | undefined;
  let sleeper: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  /** Retries are due on the App's clock, the one that claims them. */
  const later = (ms: number): Date => new Date(deps.now() + ms);

  const wake = (): void => {
    if (sleeper) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
      sleeper = undefined;
    }
  };

  async function execute(row: OutboxRow): Promise<void> {
    const payload = row.payload as OutboxPayload;
    try {
      if (payload.kind === "event") {
        await processEvent(deps, row, id);
      } else {
        // A second claim (a crash, a lost answer, a transient failure): the earlier try may have done the work.
        const retry =
          row.attempts > 1 ? { since: new Date(row.createdAt.getTime() - RETRY_LOOKBACK_MS) } : undefined;
        await executeEffect(deps, payload.target, payload.effect, retry);
        await completeEffect(deps.db, row.id, { workerId: id });
      }
      deps.metrics.inc("trellis_effects_done_total", { type: row.type });
    } catch (error) {
      if (error instanceof Deferred) {
        await failEffect(deps.db, row.id, error.message, {
          retryAt: later(error.delayMs),
          uncounted: true,
          workerId: id,
        });
        return;
      }
      deps.metrics.inc("trellis_effects_failed_total", { type: row.type });
      const transient = isTransient(error) && row.attempts < maxAttempts;
      deps.log.warn(
        { effect: row.key, attempts: row.attempts, transient, err: String(error) },
        "effect failed",
      );
      if (transient) {
        const delay = backoffMs(row.attempts, BACKOFF, Math.random);
        await failEffect(deps.db, row.id, error, { retryAt: later(delay), workerId: id });
        return;
      }
      await failEffect(deps.db, row.id, error, { permanent: true, workerId: id });
      await giveUp(row, payload, error).catch((e: unknown) =>
        deps.log.error({ effect: row.key, err: String(e) }, "could not report a dead letter"),
      );
    }
  }

  /**
   * A dead letter: the run learns of an effect it waits on (a dispatch, a commit), so no stage waits forever; the
   * issue is told of the others (src/core/dead-letters.ts); `trellis dead-letters` lists them all.
   */
  async function giveUp(row: OutboxRow, payload: OutboxPayload, error: unknown): Promise<void> {
    deps.metrics.inc("trellis_dead_letters_total", { type: row.type });
    const message = error instanceof Error ? error.message : String(error);
    if (payload.kind === "effect" && payload.target.runId) {
      // The shell's own effects (reactions, ticks, batch work) are none the core knows: they give no event.
      const event = abandonedEffectEvent(payload.effect as Effect, message, deps.now());
      if (event) await applyRunEvent(deps, payload.target, payload.target.runId, event);
    }
    const kind = payload.kind === "effect" ? payload.effect.type : `event:${payload.event.kind}`;
    const delivered = payload.kind === "event" ? payload.event : undefined;
    const target: Target | undefined =
      payload.kind === "effect"
        ? payload.target
        : delivered && "repo" in delivered
          ? { installationId: delivered.installationId, repo: delivered.repo, issue: issueOf(delivered) ?? 0 }
          : undefined;
    const body = deadLetterNotice(kind, message, row.attempts, row.id);
    if (!body || !target || target.issue <= 0) return;
    const { runId: _, batchId: __, ...onIssue } = target;
    await runCommand(deps, repoAggregate(onIssue.repo), async ({ pending }) =>
      enqueue(pending, issueAggregate(onIssue), onIssue, {
        type: "reply",
        key: `dead-letter:${row.id}`,
        body,
      }),
    );
  }

  async function round(limit = concurrency): Promise<number> {
    const rows = await claimEffects(deps.db, { workerId: id, limit, leaseMs, now: new Date(deps.now()) });
    await Promise.all(rows.map(execute));
    return rows.length;
  }

  /** Deleting is idempotent, so replicas need not take turns: each prunes at most once per period. */
  async function housekeeping(): Promise<void> {
    if (!options.retention || deps.now() - lastHousekeeping < housekeepingEveryMs) return;
    lastHousekeeping = deps.now();
    try {
      const pruned = await pruneExpired(deps.db, options.retention);
      if (pruned.inbox + pruned.outbox + pruned.audit > 0)
        deps.log.info({ pruned }, "pruned expired records");
    } catch (error) {
      deps.log.warn({ err: String(error) }, "housekeeping failed; it is tried again next period");
    }
  }

  async function run(): Promise<void> {
    while (running) {
      await housekeeping();
      let n = 0;
      try {
        // Webhooks first: under sustained load, one event per `yieldMs` keeps the worker moving.
        const quiet = yieldMs <= 0 || (await ingestsSettled(deps, yieldMs));
        n = await round(quiet ? concurrency : 1);
      } catch (error) {
        deps.log.error({ err: String(error) }, "worker round failed");
      }
      if (n > 0 || !running) continue;
      const due = await nextEffectDueInMs(deps.db, new Date(deps.now())).catch(() => null);
      const ms = Math.min(due ?? idleMs, idleMs);
      // stop() may have come while the due time was read: it found no sleeper to wake.
      if (ms > 0 && running)
        await new Promise<void>((resolve) => {
          sleeper = { timer: setTimeout(resolve, ms), resolve };
        });
    }
  }

  return {
    id,
    wake,
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    housekeeping,
    async drain({ maxRounds = 1_000 } = {}) {
      let total = 0;
      for (let i = 0; i < maxRounds; i++) {
        const n = await round();
        total += n;
        if (n === 0) break;
      }
      return total;
    },
    async stop() {
      running = false;
      wake();
      await loop;
    },
  };
}
