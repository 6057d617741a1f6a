// The ingest benchmark in a tiny configuration: the real App server and the bare Probot server start,
// answer every signed delivery, and the database holds each unique id once. Timing is not asserted.
import { describe, expect, it } from "vitest";
import { runIngestBenchmark, startScriptNodeOptions } from "./ingest.js";

describe("bench:ingest", () => {
  it("measures both servers and finds every delivery recorded exactly once (PGlite)", async () => {
    const r = await runIngestBenchmark({
      db: "pglite",
      deliveries: 200,
      warmup: 20,
      concurrency: 8,
      rounds: 1,
      fromSource: true,
    });
    for (const key of [
      "p50_ms",
      "p99_ms",
      "throughput_per_s",
      "baseline_p50_ms",
      "baseline_p99_ms",
      "baseline_throughput_per_s",
      "p99_ratio",
      "rss_mb",
    ] as const) {
      expect(r[key], key).toBeGreaterThan(0);
    }
    expect(r.p50_ms).toBeLessThanOrEqual(r.p99_ms);
    expect(r).toMatchObject({
      db: "pglite",
      deliveries: 200,
      redeliveries: 10,
      unique_deliveries: 190,
      lost: 0,
      duplicates_applied: 0,
      duplicates_detected: 10,
      errors: 0,
      baseline_errors: 0,
    });
    expect(Object.keys(r.targets).sort()).toEqual([
      "duplicates_applied",
      "lost",
      "p99_ratio",
      "rss",
      "throughput",
    ]);
    expect(r.targets.lost && r.targets.duplicates_applied).toBe(true);
    // The App ran with npm start's heap settings (what keeps its memory bounded under load).
    expect(startScriptNodeOptions()).toEqual(["--max-semi-space-size=8", "--heap-growing-percent=50"]);
    expect(r.node_options).toEqual(startScriptNodeOptions());
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  }, 180_000);
});
