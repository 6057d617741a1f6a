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
  extendLease,
  failEffect,
  nextEffectDueInMs,
  releaseEffects,
  type OutboxRow,
} from "../store/outbox.js";
import { Deferred, executeEffect } from "./effects.js";
import { applyRunEvent } from "./decisions.js";
import { issueAggregate, repoAggregate } from "./aggregates.js";
import { ingestsSettled, issueOf, processEvent } from "./process.js";
import type { AppDeps, OutboxPayload, Target } from "./runtime.js";
import { enqueue, LeaseLost, runCommand } from "./unit-of-work.js";

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
  /**
   * How long `stop()` lets executions under way finish (default 20 s, inside a container's usual 30 s notice); then
   * their rows are handed back, so another replica carries them out without waiting for the lease to run out.
   */
  stopGraceMs?: number;
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
    const started = performance.now();
    let outcome: "done" | "failed" | "deferred" = "failed";
    // A long execution keeps its lease; once another worker has the row, this one's outcome is not recorded.
    const heartbeat = setInterval(() => {
      extendLease(deps.db, row.id, id, leaseMs).then(
        (held) => {
          if (!held) deps.log.warn({ effect: row.key }, "lease lost: another worker has this row now");
        },
        () => undefined,
      );
    }, leaseMs / 3);
    heartbeat.unref();
    try {
      if (payload.kind === "event") {
        await processEvent(deps, row, id);
      } else {
        // A second claim (a crash, a lost answer, a transient failure): the earlier try may have done the work.
        const retry =
          row.attempts > 1 ? { since: new Date(row.createdAt.getTime() - RETRY_LOOKBACK_MS) } : undefined;
        await executeEffect(deps, payload.target, payload.effect, retry);
        if (!(await completeEffect(deps.db, row.id, { workerId: id }))) throw new LeaseLost(row.key);
      }
      outcome = "done";
      deps.metrics.inc("trellis_effects_done_total", { type: row.type });
      observeLatency(row, payload);
    } catch (error) {
      if (error instanceof LeaseLost) {
        deps.log.warn({ effect: row.key }, error.message);
        return;
      }
      if (error instanceof Deferred) {
        outcome = "deferred";
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
    } finally {
      clearInterval(heartbeat);
      deps.metrics.observe(
        "trellis_effect_duration_seconds",
        { type: row.type, outcome },
        (performance.now() - started) / 1000,
      );
    }
  }

  /**
   * Event to effect: from the row's creation to its completion, retries included. Both ends are real time (the
   * database stamps `created_at`; the App's `now` may be a test's fake clock). A timer (a tick, a deadline) waits
   * on purpose: it is left out.
   */
  function observeLatency(row: OutboxRow, payload: OutboxPayload): void {
    if (payload.kind === "effect" && typeof (payload.effect as { at?: unknown }).at === "number") return;
    deps.metrics.observe(
      "trellis_event_to_effect_seconds",
      { type: row.type },
      (Date.now() - row.createdAt.getTime()) / 1000,
    );
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

  /** Executions under way: each holds a slot until it ends; the loop claims only for free slots. */
  const active = new Set<Promise<void>>();

  /** One slot's execution: a slow or rate-limited call holds up only its own row, never the others. */
  function launch(row: OutboxRow): void {
    const done: Promise<void> = execute(row)
      .catch((error: unknown) => deps.log.error({ effect: row.key, err: String(error) }, "execution failed"))
      .finally(() => {
        active.delete(done);
        wake();
      });
    active.add(done);
  }

  async function run(): Promise<void> {
    while (running) {
      await housekeeping();
      let claimed = 0;
      const free = concurrency - active.size;
      if (free > 0)
        try {
          // Webhooks first: under sustained load, one row per `yieldMs` keeps the worker moving.
          const quiet = yieldMs <= 0 || (await ingestsSettled(deps, yieldMs));
          const rows = await claimEffects(deps.db, {
            workerId: id,
            limit: quiet ? free : 1,
            leaseMs,
            now: new Date(deps.now()),
          });
          rows.forEach(launch);
          claimed = rows.length;
        } catch (error) {
          deps.log.error({ err: String(error) }, "worker claim failed");
        }
      if (!running) break;
      if (claimed > 0 && active.size < concurrency) continue;
      // Every slot busy, or nothing claimable: sleep until a slot frees or a row comes due (at most idleMs).
      const due =
        active.size < concurrency
          ? await nextEffectDueInMs(deps.db, new Date(deps.now())).catch(() => null)
          : null;
      const ms = Math.min(due ?? idleMs, idleMs);
      // stop() may have come while the due time was read: it found no sleeper to wake.
      if (ms > 0 && running)
        await new Promise<void>((resolve) => {
          sleeper = { timer: setTimeout(resolve, ms), resolve };
        });
    }
    await Promise.all(active);
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
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), options.stopGraceMs ?? 20_000);
      });
      const ended = await Promise.race([loop?.then(() => "done" as const) ?? "done", graceOver]);
      clearTimeout(timer);
      if (ended === "late") {
        const released = await releaseEffects(deps.db, id).catch(() => 0);
        deps.log.warn({ released }, "stopped with executions under way: their rows are handed back");
      }
    },
  };
}
