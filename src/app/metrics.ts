/**
 * The App's Prometheus metrics (`/trellis/metrics`), with prom-client, in a registry of the App's own: tests and
 * the sandbox run several Apps in one process, and each must count only its own work. Counters and histograms are
 * this process's; the gauges read from the store at scrape time (one cheap query) are the same on every replica.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from "prom-client";
import type { GitHubRequestObservation } from "../github/observe.js";
import type { Db } from "../store/db.js";
import { storeMetrics } from "../store/metrics.js";
import { withDeadline } from "./deadline.js";

/** Counters: name → help and label names (the first ones are documented in the README; keep them). */
export const COUNTERS = {
  trellis_deliveries_total: { help: "Webhook deliveries received, by event", labels: ["event"] },
  trellis_duplicate_deliveries_total: {
    help: "Deliveries whose id was already recorded (redeliveries)",
    labels: [],
  },
  trellis_effects_done_total: { help: "Outbox rows carried out, by type", labels: ["type"] },
  trellis_effects_failed_total: {
    help: "Outbox row executions that failed (retried or given up), by type",
    labels: ["type"],
  },
  trellis_dead_letters_total: {
    help: "Events and effects given up on (listed by `trellis dead-letters`), by type",
    labels: ["type"],
  },
  trellis_dispatches_total: { help: "Agent workflow dispatches, by profile", labels: ["profile"] },
  trellis_stage_outcomes_total: {
    help: "Agent attempts finished, by profile and outcome (the result's status, timed_out, lost or cancelled)",
    labels: ["profile", "status"],
  },
  trellis_cost_usd_total: { help: "Agent cost reported by the Action, USD, by profile", labels: ["profile"] },
  trellis_github_requests_total: {
    help: "Requests to GitHub's API, by method, templated route and HTTP status (`error`: no answer)",
    labels: ["method", "route", "status"],
  },
} as const;

export type CounterName = keyof typeof COUNTERS;

/** Seconds; the buckets fit what each measures (an ack within GitHub's 10 s, an effect within its lease). */
export const HISTOGRAMS = {
  trellis_webhook_ack_seconds: {
    help: "From a webhook request's arrival to its answer, by HTTP status (npm start's server)",
    labels: ["status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 8, 10],
  },
  trellis_event_to_effect_seconds: {
    help: "From an outbox row's creation to its completion (scheduled timers excluded), by type",
    labels: ["type"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  },
  trellis_effect_duration_seconds: {
    help: "How long carrying out an outbox row took, by type and outcome (done, failed, deferred)",
    labels: ["type", "outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  },
} as const;

export type HistogramName = keyof typeof HISTOGRAMS;

type LabelsOf<T extends { labels: readonly string[] }> = Partial<Record<T["labels"][number], string>>;

export interface Metrics {
  inc<N extends CounterName>(name: N, labels?: LabelsOf<(typeof COUNTERS)[N]>, by?: number): void;
  observe<N extends HistogramName>(name: N, labels: LabelsOf<(typeof HISTOGRAMS)[N]>, seconds: number): void;
  /** One answered (or failed) request to GitHub, from the Octokit hook (src/github/observe.ts). */
  github(installation: number | undefined, request: GitHubRequestObservation): void;
  /** The exposition text, with the store's gauges read now. */
  render(db: Db): Promise<string>;
  readonly contentType: string;
}

/** The store's gauges, by status: name → help and which part of `storeMetrics` it shows. */
const STORE_GAUGES = {
  trellis_effects: ["Outbox rows waiting or running (the outbox's depth), by status", "outbox"],
  trellis_runs: ["Workflow runs by status", "runsByStatus"],
  trellis_stages: ["Current stages by status", "stagesByStatus"],
  trellis_attempts: ["Agent attempts by status", "attemptsByStatus"],
} as const;

/** A scrape waits this long for the store's gauges, then answers without them (and `trellis_database_up 0`). */
const STORE_READ_MS = 2_000;

/**
 * Process metrics (CPU, memory, event loop, GC) describe the process, not an App: they are collected once per
 * process and registered in every App's registry. collectDefaultMetrics per App would add a GC observer and a
 * 10 ms event-loop timer for each App a test creates, never removed.
 */
let processMetrics: Metric[] | undefined;
function sharedProcessMetrics(): Metric[] {
  if (!processMetrics) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    processMetrics = registry.getMetricsAsArray() as unknown as Metric[];
  }
  return processMetrics;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  for (const metric of sharedProcessMetrics()) registry.registerMetric(metric);
  const counters = new Map<string, Counter>();
  for (const [name, spec] of Object.entries(COUNTERS)) {
    counters.set(
      name,
      new Counter({ name, help: spec.help, labelNames: spec.labels, registers: [registry] }),
    );
  }
  const histograms = new Map<string, Histogram>();
  for (const [name, spec] of Object.entries(HISTOGRAMS)) {
    histograms.set(
      name,
      new Histogram({
        name,
        help: spec.help,
        labelNames: spec.labels,
        buckets: [...spec.buckets],
        registers: [registry],
      }),
    );
  }
  const rateLimit = new Gauge({
    name: "trellis_github_rate_limit_remaining",
    help: "Requests left in GitHub's rate-limit window (x-ratelimit-remaining), by installation and resource",
    labelNames: ["installation", "resource"],
    registers: [registry],
  });
  const databaseUp = new Gauge({
    name: "trellis_database_up",
    help: "1 when the database answered this scrape's query, else 0",
    registers: [registry],
  });
  const storeGauges = Object.entries(STORE_GAUGES).map(([name, [help, part]]) => ({
    part,
    gauge: new Gauge({ name, help, labelNames: ["status"], registers: [registry] }),
  }));
  const githubRequests = counters.get("trellis_github_requests_total")!;

  return {
    inc(name, labels = {}, by = 1) {
      // A counter only goes up; a negative or non-finite amount (a cost corrected downwards) is not counted.
      if (!(by >= 0) || !Number.isFinite(by)) return;
      counters.get(name)!.inc(labels as Record<string, string>, by);
    },
    observe(name, labels, seconds) {
      histograms.get(name)!.observe(labels as Record<string, string>, Math.max(0, seconds));
    },
    github(installation, request) {
      githubRequests.inc({ method: request.method, route: request.route, status: String(request.status) });
      if (request.rateLimit)
        rateLimit.set(
          {
            installation: installation === undefined ? "app" : String(installation),
            resource: request.rateLimit.resource,
          },
          request.rateLimit.remaining,
        );
    },
    async render(db) {
      for (const { gauge } of storeGauges) gauge.reset();
      try {
        const stored = await withDeadline(storeMetrics(db), STORE_READ_MS);
        for (const { part, gauge } of storeGauges)
          for (const [status, n] of Object.entries(stored[part])) gauge.set({ status }, n);
        databaseUp.set(1);
      } catch {
        // The database is down or slow: the process's own metrics still tell what is going on.
        databaseUp.set(0);
      }
      return registry.metrics();
    },
    contentType: registry.contentType,
  };
}
