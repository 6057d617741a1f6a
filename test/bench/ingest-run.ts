// One run of `npm run bench:ingest` (ingest.ts): its options, its result and the targets it is judged by.
import { cpus, loadavg } from "node:os";
import { bodies, percentile, percentileOf, plan, round, sendAll } from "./ingest-load.js";
import { measure, pool, type Phase } from "./ingest-measure.js";
import type { ServeConfig } from "./ingest-server.js";
import {
  freePort,
  prepareDatabase,
  startChild,
  startGitHubStub,
  startScriptNodeOptions,
  type ChildHandle,
} from "./ingest-setup.js";

export interface IngestBenchOptions {
  db: "pglite" | "postgres";
  /** Measured deliveries per round, redeliveries included. */
  deliveries: number;
  /** Measured rounds; each sends the deliveries to the bare server, then to the App. */
  rounds: number;
  /** Unmeasured deliveries sent first to each server (JIT, pools, caches). */
  warmup: number;
  concurrency: number;
  /** Share of the measured deliveries that repeat an id already sent. */
  redeliveryShare: number;
  /** The servers' log level (production default: info, which logs every request). */
  logLevel: string;
  /** Run the servers from TypeScript under tsx instead of compiled (`--from-source`; quick checks only). */
  fromSource: boolean;
}

export const DEFAULT_OPTIONS: IngestBenchOptions = {
  db: "pglite",
  deliveries: 5_000,
  rounds: 3,
  warmup: 500,
  concurrency: 32,
  redeliveryShare: 0.05,
  logLevel: "info",
  fromSource: false,
};

export const TARGETS = { p99Ratio: 1.5, throughputPerS: 1_000, rssMb: 150 } as const;

export interface IngestBenchResult {
  p50_ms: number;
  p99_ms: number;
  throughput_per_s: number;
  baseline_p50_ms: number;
  baseline_p99_ms: number;
  baseline_throughput_per_s: number;
  p99_ratio: number;
  /** The same ratio for each round alone (how much the machine's other work moved it). */
  p99_ratio_by_round: number[];
  /**
   * Server CPU time (user + system, the embedded database's process included) per measured delivery:
   * the cost, whatever else runs on the machine.
   */
  cpu_ms_per_delivery: number;
  baseline_cpu_ms_per_delivery: number;
  /** The part of `cpu_ms_per_delivery` spent by the embedded database's process (0 for PostgreSQL). */
  db_cpu_ms_per_delivery: number;
  /**
   * The App server process's RSS: the highest sampled while the webhook load ran, its lifetime peak
   * (VmHWM: start-up, and the worker catching up on each round's backlog between rounds), at the end.
   */
  rss_mb: number;
  rss_peak_mb: number;
  rss_end_mb: number;
  /** PGlite: peak RSS of the embedded database's own process (a child of the App, like a PostgreSQL server). */
  db_rss_mb: number | null;
  baseline_rss_mb: number;
  baseline_rss_peak_mb: number;
  rounds: number;
  /** Measured deliveries over all rounds. */
  deliveries: number;
  unique_deliveries: number;
  redeliveries: number;
  /** Unique ids sent (warm-up included) that the inbox did not record. */
  lost: number;
  /** `event` outbox rows beyond one per unique id. */
  duplicates_applied: number;
  /** Redeliveries the inbox counted as duplicates (should equal `redeliveries`). */
  duplicates_detected: number;
  /** Non-2xx answers (App, baseline). */
  errors: number;
  baseline_errors: number;
  /** Requests sent again after the server reset a keep-alive connection (App, baseline). */
  connection_resets: number;
  baseline_connection_resets: number;
  /** Events the worker processed during the last round's load, and how long it then took to finish the rest. */
  worker_done_at_end: number;
  worker_drain_ms: number;
  concurrency: number;
  cpus: number;
  /** The machine's 1-minute load average when the run started. */
  load_avg_1m: number;
  db: "pglite" | "postgres";
  /** npm start's Node options, as the App's process reported them (`process.execArgv`). */
  node_options: string[];
  targets: Record<"p99_ratio" | "throughput" | "rss" | "lost" | "duplicates_applied", boolean>;
  passed: boolean;
}

// ---------------------------------------------------------------------------------------------
// One run: the bare Probot baseline, then the App, the same load against both.

export async function runIngestBenchmark(
  partial: Partial<IngestBenchOptions> = {},
): Promise<IngestBenchResult> {
  const options = { ...DEFAULT_OPTIONS, ...partial };
  const all = await bodies();
  // Other processes on the machine take their share of the CPUs: the load is reported with the figures.
  const loadBefore = loadavg()[0] ?? 0;
  const warmupPlan = plan(all, options.warmup, 0, 1);
  const rounds = Array.from({ length: options.rounds }, (_, r) =>
    plan(all, options.deliveries, options.redeliveryShare, 2 + r),
  );
  const github = await startGitHubStub();
  const database = await prepareDatabase(options.db);
  const common = { github: github.url, logLevel: options.logLevel };
  const servers: ChildHandle[] = [];
  try {
    // Both servers run side by side; the rounds alternate between them, so a change in what else the
    // machine is doing falls on both alike. Whichever is not measured is idle (the App's worker has
    // finished its backlog before the bare server's turn).
    const bareConfig: ServeConfig = { mode: "bare", port: await freePort(), ...common };
    const bare = await startChild(bareConfig, options.fromSource);
    servers.push(bare);
    const appConfig: ServeConfig = {
      mode: "app",
      port: await freePort(),
      ...common,
      dbOptions: database.dbOptions,
    };
    const app = await startChild(appConfig, options.fromSource);
    servers.push(app);

    const ids = new Set(warmupPlan.deliveries.map((d) => d.id));
    const verify = () => app.request({ type: "verify", ids: [...ids] }, "verified");
    // Lets the worker finish the backlog (bounded): not a target, but it shows whether it keeps up.
    const drain = async () => {
      const start = performance.now();
      let last = await verify();
      while (last.done < last.eventKeys && performance.now() - start < 60_000) {
        await new Promise((done) => setTimeout(done, 200));
        last = await verify();
      }
      return { last, ms: performance.now() - start };
    };
    await sendAll(bareConfig.port, warmupPlan.deliveries, options.concurrency);
    await sendAll(appConfig.port, warmupPlan.deliveries, options.concurrency);
    let doneBefore = (await drain()).last.done;

    const bareRounds: Phase[] = [];
    const appRounds: Phase[] = [];
    let atEnd: Awaited<ReturnType<typeof verify>> | undefined;
    let drained: Awaited<ReturnType<typeof drain>> | undefined;
    let workerDuringLoad = 0;
    for (const round of rounds) {
      bareRounds.push(await measure(bare, bareConfig.port, round.deliveries, options.concurrency));
      appRounds.push(await measure(app, appConfig.port, round.deliveries, options.concurrency));
      for (const d of round.deliveries) ids.add(d.id);
      atEnd = await verify();
      workerDuringLoad = atEnd.done - doneBefore;
      drained = await drain();
      doneBefore = drained.last.done;
    }
    if (!atEnd || !drained) throw new Error("no rounds were run");
    const phase = pool(appRounds);
    const baseline = pool(bareRounds);
    const measuredCount = options.deliveries * options.rounds;
    const uniqueMeasured = rounds.reduce((total, r) => total + r.unique, 0);
    const latencies = [...phase.load.latenciesMs].sort((a, b) => a - b);
    const baseLatencies = [...baseline.load.latenciesMs].sort((a, b) => a - b);
    const p99 = percentile(latencies, 99);
    const baseP99 = percentile(baseLatencies, 99);
    const unique = ids.size;
    const result = {
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(p99),
      throughput_per_s: Math.round(measuredCount / (phase.load.wallMs / 1000)),
      baseline_p50_ms: round(percentile(baseLatencies, 50)),
      baseline_p99_ms: round(baseP99),
      baseline_throughput_per_s: Math.round(measuredCount / (baseline.load.wallMs / 1000)),
      p99_ratio: round(baseP99 > 0 ? p99 / baseP99 : Infinity),
      p99_ratio_by_round: appRounds.map((r, i) =>
        round(percentileOf(r.load.latenciesMs, 99) / percentileOf(bareRounds[i]?.load.latenciesMs ?? [], 99)),
      ),
      cpu_ms_per_delivery: round(phase.cpuMs / measuredCount, 3),
      baseline_cpu_ms_per_delivery: round(baseline.cpuMs / measuredCount, 3),
      db_cpu_ms_per_delivery: round(phase.childrenCpuMs / measuredCount, 3),
      rss_mb: round(phase.memory.underLoadMb, 1),
      rss_peak_mb: round(phase.memory.hwmMb, 1),
      rss_end_mb: round(phase.memory.rssMb, 1),
      db_rss_mb: phase.childrenHwmMb === null ? null : round(phase.childrenHwmMb, 1),
      baseline_rss_mb: round(baseline.memory.underLoadMb, 1),
      baseline_rss_peak_mb: round(baseline.memory.hwmMb, 1),
      rounds: options.rounds,
      deliveries: measuredCount,
      unique_deliveries: uniqueMeasured,
      redeliveries: measuredCount - uniqueMeasured,
      lost: unique - atEnd.recorded,
      duplicates_applied:
        Math.max(atEnd.eventRows - atEnd.eventKeys, 0) + Math.max(atEnd.eventKeys - unique, 0),
      duplicates_detected: atEnd.duplicates,
      errors: phase.load.errors,
      baseline_errors: baseline.load.errors,
      connection_resets: phase.load.resets,
      baseline_connection_resets: baseline.load.resets,
      worker_done_at_end: workerDuringLoad,
      worker_drain_ms: Math.round(drained.last.done >= drained.last.eventKeys ? drained.ms : -1),
      concurrency: options.concurrency,
      cpus: cpus().length,
      load_avg_1m: round(loadBefore, 1),
      db: options.db,
      node_options: app.execArgv.filter((option) => startScriptNodeOptions().includes(option)),
    };
    const targets = {
      p99_ratio: result.p99_ratio <= TARGETS.p99Ratio,
      throughput: result.throughput_per_s >= TARGETS.throughputPerS,
      rss: result.rss_mb <= TARGETS.rssMb,
      lost: result.lost === 0 && result.errors === 0,
      duplicates_applied: result.duplicates_applied === 0,
    };
    return { ...result, targets, passed: Object.values(targets).every(Boolean) };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await database.cleanup();
    await github.close();
  }
}
