// `npm run bench:plan [-- --json]`: how fast the batch planner is on 10,000 tickets, and how close the
// dependency-aware schedule gets to the lower bound on random DAGs, each against a naive baseline measured in
// the same run. Exits 1 when a target is missed: planning ≥ 200 ms, or mean makespan/lower bound > 1.05.
import { cpus, loadavg } from "node:os";
import { parseTaskList, planBatch, planListOrder, validateBatch } from "../../src/core/batch/index.js";
import { prng, randomShape, randomTickets, toMarkdown } from "../core/batch/random-dag.js";

const TARGET_MS = 200;
const TARGET_RATIO = 1.05;
const SIZE = 10_000;
const WARMUP = 3;
const RUNS = 21;

const json = process.argv.includes("--json");
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// 1. Speed: one 10,000-ticket tracking issue, planned end to end from its Markdown.
const bigTickets = randomTickets(prng(2026), { size: SIZE, meanDeps: 3, window: 200, maxEstimate: 8 });
const markdown = toMarkdown(bigTickets);
const edges = bigTickets.reduce((n, t) => n + t.deps.length, 0);
const limits = { maxTickets: SIZE, maxBytes: 16 * 1024 * 1024 };

const timings = {
  parse: [] as number[],
  validate: [] as number[],
  schedule: [] as number[],
  total: [] as number[],
};
// CPU time of the process too: on a shared machine wall time also counts other processes' turns.
const cpuTotal: number[] = [];
const baselineSchedule: number[] = [];
for (let run = 0; run < WARMUP + RUNS; run++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const parsed = parseTaskList(markdown, limits);
  const t1 = performance.now();
  const validation = validateBatch(parsed.tickets);
  const t2 = performance.now();
  const plan = planBatch(parsed.tickets, { strategy: "dependency-aware", parallel: 8 });
  const t3 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  if (parsed.errors.length > 0 || !validation.ok || plan.schedule.length !== SIZE) {
    throw new Error("the benchmark batch did not parse, validate and plan cleanly");
  }
  if (run < WARMUP) continue;
  timings.parse.push(t1 - t0);
  timings.validate.push(t2 - t1);
  timings.schedule.push(t3 - t2);
  timings.total.push(t3 - t0);
  cpuTotal.push((cpu.user + cpu.system) / 1000);
}
// The baseline scheduler in its own loop, so that neither run's garbage lands in the other's timing.
const baselineInput = parseTaskList(markdown, limits).tickets;
for (let run = 0; run < WARMUP + RUNS; run++) {
  const t0 = performance.now();
  planListOrder(baselineInput, 8);
  if (run >= WARMUP) baselineSchedule.push(performance.now() - t0);
}
const speed = {
  tickets: SIZE,
  dependencies: edges,
  markdownKiB: round(Buffer.byteLength(markdown) / 1024, 0),
  runs: RUNS,
  medianMs: {
    parse: round(median(timings.parse)),
    validate: round(median(timings.validate)),
    schedule: round(median(timings.schedule)),
    total: round(median(timings.total)),
  },
  maxTotalMs: round(Math.max(...timings.total)),
  cpuTotalMs: round(median(cpuTotal)),
  baselineScheduleMs: round(median(baselineSchedule)),
  scheduleVsBaseline: round(median(timings.schedule) / median(baselineSchedule)),
};

// 2. Quality: 20 random DAGs of 50–2,000 tickets under parallel limits of 2–16.
const rand = prng(20_261_121);
const dags = Array.from({ length: 20 }, (_, i) => {
  const shape = randomShape(rand, 50, 2000);
  const parallel = 2 + Math.floor(rand() * 15);
  const tickets = randomTickets(rand, shape);
  const plan = planBatch(tickets, { strategy: "dependency-aware", parallel });
  const baseline = planListOrder(tickets, parallel);
  return {
    dag: i + 1,
    tickets: shape.size,
    window: shape.window,
    parallel,
    lowerBound: round(plan.lowerBound, 4),
    makespan: plan.makespan,
    ratio: plan.makespan / plan.lowerBound,
    baselineRatio: baseline.makespan / plan.lowerBound,
  };
});
const quality = {
  dags: dags.length,
  meanRatio: round(mean(dags.map((d) => d.ratio)), 4),
  maxRatio: round(Math.max(...dags.map((d) => d.ratio)), 4),
  baselineMeanRatio: round(mean(dags.map((d) => d.baselineRatio)), 4),
  baselineMaxRatio: round(Math.max(...dags.map((d) => d.baselineRatio)), 4),
};

const passed = {
  speed: speed.medianMs.total < TARGET_MS,
  quality: quality.meanRatio <= TARGET_RATIO,
};
const environment = {
  node: process.version,
  cpu: `${cpus()[0]?.model ?? "unknown"} × ${cpus().length}`,
  loadAverage: loadavg().map((x) => round(x)),
};

if (json) {
  console.log(
    JSON.stringify({
      targets: { planningMs: TARGET_MS, meanRatio: TARGET_RATIO },
      passed,
      speed,
      quality,
      dags: dags.map((d) => ({ ...d, ratio: round(d.ratio, 4), baselineRatio: round(d.baselineRatio, 4) })),
      environment,
    }),
  );
} else {
  const ok = (b: boolean) => (b ? "PASS" : "FAIL");
  const lines = [
    `Batch planner benchmark (node ${environment.node}, ${environment.cpu}, load ${environment.loadAverage.join(" ")})`,
    "",
    `Speed: ${SIZE.toLocaleString("en-US")} tickets, ${edges.toLocaleString("en-US")} dependencies, ${speed.markdownKiB} KiB of Markdown; median of ${RUNS} runs after ${WARMUP} warm-ups`,
    `  parse     ${speed.medianMs.parse} ms`,
    `  validate  ${speed.medianMs.validate} ms`,
    `  schedule  ${speed.medianMs.schedule} ms  (naive list-order scheduler: ${speed.baselineScheduleMs} ms; ratio ${speed.scheduleVsBaseline})`,
    `  total     ${speed.medianMs.total} ms  (slowest run ${speed.maxTotalMs} ms; CPU time ${speed.cpuTotalMs} ms)  target < ${TARGET_MS} ms: ${ok(passed.speed)}`,
    "",
    "Quality: makespan / lower bound, lower bound = max(critical path, total work / parallel)",
    "  dag  tickets  window  parallel  lower bound  makespan  ratio   list-order ratio",
    ...dags.map(
      (d) =>
        `  ${String(d.dag).padStart(3)}  ${String(d.tickets).padStart(7)}  ${String(d.window).padStart(6)}  ${String(d.parallel).padStart(8)}  ${String(round(d.lowerBound)).padStart(11)}  ${String(d.makespan).padStart(8)}  ${d.ratio.toFixed(4)}  ${d.baselineRatio.toFixed(4)}`,
    ),
    `  dependency-aware: mean ${quality.meanRatio.toFixed(4)}, max ${quality.maxRatio.toFixed(4)}  target mean ≤ ${TARGET_RATIO}: ${ok(passed.quality)}`,
    `  list-order baseline: mean ${quality.baselineMeanRatio.toFixed(4)}, max ${quality.baselineMaxRatio.toFixed(4)}`,
  ];
  console.log(lines.join("\n"));
}

process.exitCode = passed.speed && passed.quality ? 0 : 1;
