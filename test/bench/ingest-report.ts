// The human-readable report of `npm run bench:ingest` (ingest.ts; `--json` prints the result instead).
import { TARGETS, type IngestBenchResult } from "./ingest-run.js";

const row = (...values: number[]): string =>
  values.map((v, i) => String(v).padStart([7, 7, 13, 16, 12][i] ?? 8)).join("  ");

export function report(r: IngestBenchResult): string {
  const mark = (ok: boolean) => (ok ? "pass" : "MISS");
  return [
    `Webhook ingest, ${r.db}, ${r.deliveries} deliveries (${r.redeliveries} redelivered) in ${r.rounds} rounds at concurrency ${r.concurrency}, ${r.cpus} CPUs, load average ${r.load_avg_1m}`,
    `Both servers run with npm start's Node options: ${r.node_options.join(" ") || "(none)"}`,
    `                 p50 ms   p99 ms   deliveries/s   CPU ms/delivery   RSS MB (load)`,
    `  Trellis App  ${row(r.p50_ms, r.p99_ms, r.throughput_per_s, r.cpu_ms_per_delivery, r.rss_mb)}`,
    ...(r.db_rss_mb === null
      ? []
      : [
          `  (of which the embedded database's own process: CPU ${r.db_cpu_ms_per_delivery} ms/delivery; its peak RSS ${r.db_rss_mb} MB)`,
        ]),
    `  bare Probot  ${row(r.baseline_p50_ms, r.baseline_p99_ms, r.baseline_throughput_per_s, r.baseline_cpu_ms_per_delivery, r.baseline_rss_mb)}`,
    `Database: ${r.unique_deliveries} unique measured ids; lost ${r.lost}, duplicates applied ${r.duplicates_applied}, duplicates detected ${r.duplicates_detected}/${r.redeliveries}, non-2xx ${r.errors}`,
    `Worker: ${r.worker_done_at_end} events processed during the last round's load; backlog drained in ${r.worker_drain_ms < 0 ? "(not within 60 s)" : `${r.worker_drain_ms} ms`}`,
    `Targets:`,
    `  ${mark(r.targets.p99_ratio)}  p99 ≤ ${TARGETS.p99Ratio} × bare Probot p99 (ratio ${r.p99_ratio}; by round ${r.p99_ratio_by_round.join(", ")})`,
    `  ${mark(r.targets.throughput)}  ≥ ${TARGETS.throughputPerS} deliveries/s (${r.throughput_per_s})`,
    `  ${mark(r.targets.rss)}  RSS under load ≤ ${TARGETS.rssMb} MB (${r.rss_mb}; lifetime peak ${r.rss_peak_mb}, bare Probot ${r.baseline_rss_mb} / ${r.baseline_rss_peak_mb})`,
    `  ${mark(r.targets.lost)}  0 lost, every delivery answered 2xx (${r.lost} lost, ${r.errors} non-2xx)`,
    `  ${mark(r.targets.duplicates_applied)}  0 duplicates applied (${r.duplicates_applied})`,
  ].join("\n");
}
