/**
 * Reconciliation: what GitHub said while the App was not listening, recovered. GitHub never redelivers a failed
 * webhook, so at start and every few minutes one replica (a lease in the database) makes a pass:
 *
 * 1. Failed deliveries. The App's deliveries since the last pass are listed (with its JWT), and each event none of
 *    whose deliveries succeeded is redelivered (src/core/reconcile.ts decides which); the inbox drops any the App had
 *    recorded after all.
 * 2. Missed completions. Attempts dispatched or running whose Actions run is known and of which nothing was heard for
 *    a while are looked up; a run found completed is ingested as the `workflow_run.completed` its webhook would have
 *    been (built by the same handler from GitHub's answer, under the delivery id `reconcile:<run id>` so the inbox
 *    takes it once), and the worker applies it like any other.
 *
 * Bounded and paced: a few requests a second, at most so many pages, redeliveries and look-ups per pass, and never
 * longer than half its lease.
 */
import { randomBytes } from "node:crypto";
import {
  chooseRedeliveries,
  deliverySucceeded,
  listingSince,
  REDELIVERY_WINDOW_MS,
  type Redelivery,
} from "../core/reconcile.js";
import { parseRepoFullName } from "../core/repo.js";
import { idOf } from "../github/client.js";
import { listDeliveriesSince, redeliverDelivery } from "../github/deliveries.js";
import { getWorkflowRun, type WorkflowRunData } from "../github/dispatch.js";
import type { AppIdentity, DomainEvent } from "../handlers/events.js";
import { toDomainEvent as workflowRunEvent, type WorkflowRunPayload } from "../handlers/workflow-run.js";
import { quietAttemptsInFlight } from "../store/attempts.js";
import { recordedDeliveries } from "../store/inbox.js";
import {
  noteRedelivery,
  pruneRedeliveries,
  redeliveryTries,
  releaseReconcileLease,
  takeReconcileLease,
  type ReconcileLease,
} from "../store/reconcile.js";
import { ingest } from "./process.js";
import type { AppDeps } from "./runtime.js";

export interface ReconcileOptions {
  /** How often a pass runs (default 10 minutes); 0: never on its own. */
  everyMs?: number;
  /** The first pass, after the start (default 10 s: the App is listening by then, to receive what it redelivers). */
  firstAfterMs?: number;
  /** The least time between two of its requests to GitHub (default 250 ms: at most 4 a second). */
  pauseMs?: number;
  /** Pages of deliveries read per pass (default 10, of 100 each). */
  maxPages?: number;
  /** Redeliveries asked per pass (default 30). */
  maxRedeliveries?: number;
  /** Redeliveries asked of one event before it is given up (default 3). */
  maxTries?: number;
  /** Actions runs looked up per pass (default 20). */
  maxRunLookups?: number;
  /** How long an attempt in flight must have been quiet before its run is looked up (default 5 minutes). */
  quietMs?: number;
  /** How long the lease is held at most (default 5 minutes); a pass stops at half of it. */
  leaseMs?: number;
}

export const RECONCILE_DEFAULTS: Required<ReconcileOptions> = {
  everyMs: 10 * 60_000,
  firstAfterMs: 10_000,
  pauseMs: 250,
  maxPages: 10,
  maxRedeliveries: 30,
  maxTries: 3,
  maxRunLookups: 20,
  quietMs: 5 * 60_000,
  leaseMs: 5 * 60_000,
};

export interface PassReport {
  /** False when another pass held the lease (or, for a scheduled pass, one ran lately). */
  ran: boolean;
  /** Deliveries listed. */
  listed: number;
  redelivered: Redelivery[];
  /** Failed events left alone: redelivered `maxTries` times already. */
  givenUp: string[];
  /** Actions runs looked up, and those found completed whose completion was ingested. */
  lookedUp: number;
  completed: number[];
  errors: string[];
}

export interface Reconciler {
  /** Runs the passes on a timer: the first after `firstAfterMs`, then every `everyMs`. */
  start(): void;
  /** One pass now (when no other holds the lease). */
  pass(): Promise<PassReport>;
  /** Stops the timer and waits for a pass under way, which stops early. */
  stop(): Promise<void>;
}

export function createReconciler(deps: AppDeps, options: ReconcileOptions = {}): Reconciler {
  const o: Required<ReconcileOptions> = { ...RECONCILE_DEFAULTS, ...options };
  const holder = `reconcile-${process.pid}-${randomBytes(3).toString("hex")}`;
  let timer: NodeJS.Timeout | undefined;
  const underWay = new Set<Promise<PassReport>>();
  let started = false;
  let stopping = false;

  async function pass(scheduled: boolean): Promise<PassReport> {
    const report: PassReport = {
      ran: false,
      listed: 0,
      redelivered: [],
      givenUp: [],
      lookedUp: 0,
      completed: [],
      errors: [],
    };
    // Replicas share one cadence: a scheduled pass skips when another replica made one lately.
    const lease = await takeReconcileLease(deps.db, {
      holder,
      leaseMs: o.leaseMs,
      ...(scheduled ? { minIntervalMs: Math.floor(o.everyMs * 0.9) } : {}),
    });
    if (!lease) return report;
    report.ran = true;
    const deadline = performance.now() + o.leaseMs / 2;
    const run: Run = {
      deps,
      o,
      report,
      pace: pacer(o.pauseMs),
      going: () => !stopping && performance.now() < deadline,
    };
    let checkedAt: Date | undefined;
    try {
      checkedAt = await redeliverFailed(run, lease).catch((error: unknown) => {
        report.errors.push(`deliveries: ${String(error)}`);
        return undefined;
      });
      if (run.going())
        await completeMissed(run).catch((error: unknown) => {
          report.errors.push(`attempts in flight: ${String(error)}`);
        });
    } finally {
      await releaseReconcileLease(deps.db, {
        holder,
        ...(checkedAt ? { deliveriesCheckedAt: checkedAt } : {}),
      });
    }
    logPass(deps, report);
    return report;
  }

  const runPass = (scheduled: boolean): Promise<PassReport> => {
    const running = pass(scheduled).finally(() => underWay.delete(running));
    underWay.add(running);
    return running;
  };

  const schedule = (ms: number): void => {
    if (stopping || o.everyMs <= 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void runPass(true)
        .catch((error: unknown) => deps.log.warn({ err: String(error) }, "reconciliation pass failed"))
        .finally(() => schedule(o.everyMs));
    }, ms);
    // The timer alone never keeps the process alive.
    timer.unref();
  };

  return {
    start() {
      if (started) return;
      started = true;
      schedule(o.firstAfterMs);
    },
    pass: () => runPass(false),
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await Promise.allSettled([...underWay]);
    },
  };
}

interface Run {
  deps: AppDeps;
  o: Required<ReconcileOptions>;
  report: PassReport;
  /** Resolves when the next request to GitHub may go. */
  pace: () => Promise<void>;
  /** False once the App is stopping or the pass has run out of time. */
  going: () => boolean;
}

/** The first half; resolves to how far deliveries were listed when the listing was complete. */
async function redeliverFailed(
  { deps, o, report, pace, going }: Run,
  lease: ReconcileLease,
): Promise<Date | undefined> {
  const startedAt = deps.now();
  const octokit = await deps.github(undefined); // the App's own JWT
  await pace();
  const listing = await listDeliveriesSince(
    octokit,
    listingSince(startedAt, lease.deliveriesCheckedAt?.getTime()),
    { maxPages: o.maxPages, beforeNextPage: pace },
  );
  report.listed = listing.deliveries.length;
  const failed = [
    ...new Set(listing.deliveries.filter((d) => !deliverySucceeded(d.statusCode)).map((d) => d.guid)),
  ];
  const [recorded, tries] = await Promise.all([
    recordedDeliveries(deps.db, failed),
    redeliveryTries(deps.db, failed),
  ]);
  const choice = chooseRedeliveries({
    deliveries: listing.deliveries,
    now: startedAt,
    recorded,
    tries,
    max: o.maxRedeliveries,
    maxTries: o.maxTries,
  });
  report.givenUp = choice.givenUp;
  for (const redelivery of choice.redeliver) {
    if (!going()) break;
    await pace();
    try {
      await redeliverDelivery(octokit, redelivery.deliveryId);
      await noteRedelivery(deps.db, redelivery.guid, new Date(deps.now()));
      report.redelivered.push(redelivery);
    } catch (error) {
      report.errors.push(`redelivering ${redelivery.guid}: ${String(error)}`);
    }
  }
  await pruneRedeliveries(deps.db, new Date(startedAt - REDELIVERY_WINDOW_MS));
  return listing.complete ? new Date(startedAt) : undefined;
}

/** The second half: attempts whose completion never arrived. */
async function completeMissed({ deps, o, report, pace, going }: Run): Promise<void> {
  const quiet = await quietAttemptsInFlight(deps.db, {
    quietSince: new Date(deps.now() - o.quietMs),
    limit: o.maxRunLookups,
  });
  for (const attempt of quiet) {
    if (!going()) break;
    const repo = parseRepoFullName(attempt.repo);
    if (!repo || attempt.installationId === null) {
      report.errors.push(`${attempt.attemptId}: no installation is known for ${attempt.repo}`);
      continue;
    }
    await pace();
    try {
      const octokit = await deps.github(attempt.installationId);
      const run = await getWorkflowRun(octokit, repo, attempt.workflowRunId);
      report.lookedUp++;
      if (run.status !== "completed") continue;
      if (await ingest(deps, completionEvent(run, attempt.installationId, deps.self)))
        report.completed.push(idOf(run.id));
    } catch (error) {
      report.errors.push(`looking up run ${attempt.workflowRunId} of ${attempt.attemptId}: ${String(error)}`);
    }
  }
}

/**
 * The `workflow_run.completed` delivery GitHub would have made for `run`, translated by the webhook's own handler: the
 * REST answer carries the fields of the payload's `workflow_run`, its repository and the actor who triggered it.
 */
function completionEvent(run: WorkflowRunData, installationId: number, self: AppIdentity): DomainEvent {
  const payload = {
    action: "completed",
    workflow_run: run,
    repository: run.repository,
    sender: run.triggering_actor ?? run.actor,
    installation: { id: installationId },
  } as unknown as WorkflowRunPayload;
  const event = workflowRunEvent(payload, `reconcile:${run.id}`, self);
  if (!event) throw new Error(`run ${run.id}: no workflow_run event`);
  return event;
}

function pacer(pauseMs: number): () => Promise<void> {
  let nextAt = 0;
  return async () => {
    const wait = nextAt - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    nextAt = performance.now() + pauseMs;
  };
}

function logPass(deps: AppDeps, report: PassReport): void {
  const summary = {
    listed: report.listed,
    redelivered: report.redelivered.map((r) => `${r.event}${r.action ? `.${r.action}` : ""} ${r.guid}`),
    ...(report.givenUp.length > 0 ? { givenUp: report.givenUp } : {}),
    lookedUp: report.lookedUp,
    completed: report.completed,
    ...(report.errors.length > 0 ? { errors: report.errors } : {}),
  };
  if (report.errors.length > 0) deps.log.warn(summary, "reconciliation pass ended with errors");
  else if (report.redelivered.length > 0 || report.completed.length > 0)
    deps.log.info(
      summary,
      `reconciliation redelivered ${report.redelivered.length} failed deliveries and applied ${report.completed.length} missed completions`,
    );
  else deps.log.debug(summary, "reconciliation found nothing to recover");
}
