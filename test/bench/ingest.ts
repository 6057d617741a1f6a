// `npm run bench:ingest [-- --json] [--db pglite|postgres] [--deliveries N] [--rounds N] [--warmup N] [--concurrency N]`:
// the App's webhook ingest path under load. The real Probot `Server` runs the real Trellis App (real store,
// effect worker on as in production) in a child process on 127.0.0.1, so the RSS measured is the App's own;
// in the same run the same load goes to a bare Probot app that does nothing, on the same `Server` (both
// compiled, both running; measured rounds alternate between them so that the machine's other work falls on
// both alike). Signed deliveries of real example payloads (5 % of them redeliveries of ids already sent) go
// out at a fixed concurrency over keep-alive connections; afterwards the App's database is checked: every
// unique delivery recorded once, one `event` outbox row per unique id. Exits 1 when a target is missed.
//
// GitHub is a local stub (in this parent process): it mints installation tokens, answers GET /app, and 404s
// everything else, so the worker finds no `.github/trellis.yml` and processes each event with the default
// definitions — the labels and comments of the examples trigger nothing, so no effects reach "GitHub".
import { fork, type ChildProcess } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, createServer, request, type Server as HttpServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { OpenDbOptions } from "../../src/store/db.js";
import { APP_ID, SECRET, type FromChild, type ServeConfig, type ToChild } from "./ingest-server.js";
// The server processes load only what they serve (the App's modules only in the App's process); the
// example payloads, pg and the PostgreSQL helpers are imported where the parent needs them.

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
// The load: signed deliveries of real example payloads.

const INSTALLATION_ID = 4242;
const REPOS = 16;

interface Body {
  event: string;
  body: Buffer;
  signature: string;
}

interface Delivery {
  id: string;
  body: Body;
}

/** Real payloads (adjusted: an installation, one of several repositories), each signed once. */
async function bodies(): Promise<Body[]> {
  const { examplePayload } = await import("../support/webhooks.js");
  const kinds: { event: string; make: (repo: Record<string, unknown>) => object }[] = [
    { event: "issues", make: (repository) => examplePayload("issues", "labeled", { repository }) },
    { event: "issues", make: (repository) => examplePayload("issues", "labeled", { repository }, 1) },
    {
      event: "issue_comment",
      make: (repository) => examplePayload("issue_comment", "created", { repository }),
    },
    {
      event: "workflow_run",
      make: (repository) => examplePayload("workflow_run", "completed", { repository }),
    },
    { event: "pull_request", make: (repository) => examplePayload("pull_request", "opened", { repository }) },
    { event: "pull_request", make: (repository) => examplePayload("pull_request", "closed", { repository }) },
  ];
  const out: Body[] = [];
  for (let r = 0; r < REPOS; r++) {
    for (const kind of kinds) {
      const repository = { name: `bench-${r}`, full_name: `Codertocat/bench-${r}` };
      const payload = {
        ...kind.make(repository),
        installation: { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" },
      };
      const body = Buffer.from(JSON.stringify(payload));
      const signature = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
      out.push({ event: kind.event, body, signature });
    }
  }
  return out;
}

/** A deterministic plan: fresh ids, and every so often the id (and body) of an earlier delivery again. */
function plan(
  all: Body[],
  count: number,
  redeliveryShare: number,
  seed: number,
): { deliveries: Delivery[]; unique: number } {
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const deliveries: Delivery[] = [];
  const redeliveries = Math.round(count * redeliveryShare);
  const every = redeliveries > 0 ? count / redeliveries : Infinity;
  let unique = 0;
  for (let i = 0; i < count; i++) {
    const isRedelivery = deliveries.length > 0 && Math.floor((i + 1) / every) > Math.floor(i / every);
    if (isRedelivery) {
      // Mostly ids answered a while ago (as GitHub redelivers), sometimes one still in flight.
      const back = 1 + Math.floor(random() * Math.min(deliveries.length, 400));
      const original = deliveries[deliveries.length - back];
      if (original) {
        deliveries.push({ ...original });
        continue;
      }
    }
    const body = all[i % all.length];
    if (!body) throw new Error("no payloads");
    deliveries.push({ id: randomUUID(), body });
    unique++;
  }
  return { deliveries, unique };
}

interface LoadResult {
  latenciesMs: number[];
  errors: number;
  resets: number;
  wallMs: number;
}

async function sendAll(port: number, deliveries: Delivery[], concurrency: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latenciesMs: number[] = [];
  let errors = 0;
  let resets = 0;
  let next = 0;
  const send = (d: Delivery) =>
    new Promise<number>((resolvePromise, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/api/github/webhooks",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": d.body.body.length,
            "user-agent": "GitHub-Hookshot/bench",
            "x-github-event": d.body.event,
            "x-github-delivery": d.id,
            "x-github-hook-id": "1",
            "x-github-hook-installation-target-type": "integration",
            "x-github-hook-installation-target-id": String(APP_ID),
            "x-hub-signature-256": d.body.signature,
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolvePromise(res.statusCode ?? 0));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(d.body.body);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < deliveries.length) {
        const d = deliveries[next++];
        if (!d) break;
        const start = performance.now();
        let status = 0;
        // A keep-alive socket the server closes as a request goes out fails with ECONNRESET; like
        // GitHub, send the delivery again (the same id: the inbox makes that harmless). Counted.
        for (let attempt = 0; ; attempt++) {
          try {
            status = await send(d);
            break;
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (attempt >= 2 || (code !== "ECONNRESET" && code !== "EPIPE")) throw error;
            resets++;
          }
        }
        latenciesMs.push(performance.now() - start);
        if (status < 200 || status >= 300) errors++;
      }
    }),
  );
  const wallMs = performance.now() - t0;
  agent.destroy();
  return { latenciesMs, errors, resets, wallMs };
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
const percentileOf = (values: number[], p: number): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    p,
  );
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// GitHub, stubbed: just enough for the App to authenticate and find no repository config.

async function startGitHubStub(): Promise<{
  url: string;
  requests: Map<string, number>;
  close(): Promise<void>;
}> {
  const requests = new Map<string, number>();
  const server: HttpServer = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    const route = `${req.method} ${path.replace(/\/contents\/.*/, "/contents/…")}`;
    requests.set(route, (requests.get(route) ?? 0) + 1);
    req.resume();
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "POST" && /^\/app\/installations\/\d+\/access_tokens$/.test(path)) {
      json(201, {
        token: "ghs_benchbenchbenchbenchbenchbenchbench",
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        permissions: { issues: "write", contents: "write", checks: "write", actions: "write" },
        repository_selection: "all",
      });
    } else if (req.method === "GET" && path === "/app") {
      json(200, { id: APP_ID, slug: "trellis-bench", name: "Trellis bench" });
    } else {
      json(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
    }
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

interface ChildHandle {
  pid: number;
  /** The Node options the server process runs with (`process.execArgv`). */
  execArgv: string[];
  request<T extends FromChild["type"]>(message: ToChild, answer: T): Promise<Extract<FromChild, { type: T }>>;
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), "..", "..");
/** The servers run compiled, as `npm start` runs the App (the npm script builds first). */
const SERVER = join(ROOT, "dist", "test", "bench", "ingest-server.js");
const SERVER_SOURCE = join(ROOT, "test", "bench", "ingest-server.ts");

/**
 * The Node options of `npm start` (package.json's start script: `node <options> dist/src/server.js`).
 * Both servers run with them, so the App is measured as it runs in production and the bare Probot app
 * under the same heap settings.
 */
export function startScriptNodeOptions(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    scripts?: { start?: string };
  };
  const [command, ...words] = (pkg.scripts?.start ?? "").trim().split(/\s+/);
  if (command !== "node") throw new Error(`the start script should run node, not "${command}"`);
  const options: string[] = [];
  for (const word of words) {
    if (!word.startsWith("-")) break;
    options.push(word);
  }
  return options;
}

async function startChild(config: ServeConfig, fromSource: boolean): Promise<ChildHandle> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server process there (for `--cpu-prof`).
  const profileDir = process.env.BENCH_CPU_PROF;
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir, config.mode)}`] : [];
  const server = fromSource ? SERVER_SOURCE : SERVER;
  if (!existsSync(server)) throw new Error(`${server} is missing: run \`npm run build\` first`);
  const child: ChildProcess = fork(server, [JSON.stringify(config)], {
    cwd: ROOT,
    execArgv: [...startScriptNodeOptions(), ...(fromSource ? ["--import", "tsx"] : []), ...profile],
    // Logs go nowhere (as cheap as a log shipper reading stdout gets); errors stay visible.
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const waitFor = <T extends FromChild["type"]>(type: T): Promise<Extract<FromChild, { type: T }>> =>
    new Promise((resolveMessage, reject) => {
      const onMessage = (m: FromChild) => {
        if (m.type === type || m.type === "error") {
          cleanup();
          if (m.type === "error") reject(new Error(`the ${config.mode} server failed: ${m.message}`));
          else resolveMessage(m as Extract<FromChild, { type: T }>);
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`the ${config.mode} server exited (code ${code}) before answering "${type}"`));
      };
      const cleanup = () => {
        child.off("message", onMessage);
        child.off("exit", onExit);
      };
      child.on("message", onMessage);
      child.on("exit", onExit);
    });
  const { execArgv } = await waitFor("ready");
  if (child.pid === undefined) throw new Error("the server process has no pid");
  return {
    pid: child.pid,
    execArgv,
    request: (message, answer) => {
      const reply = waitFor(answer);
      child.send(message);
      return reply;
    },
    stop: async () => {
      const exited = new Promise<void>((done) => child.once("exit", () => done()));
      if (child.exitCode === null) {
        await waitForStop(child);
        await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    },
  };
}

async function waitForStop(child: ChildProcess): Promise<void> {
  await new Promise<void>((done) => {
    const onMessage = (m: FromChild) => {
      if (m.type === "stopped" || m.type === "error") done();
    };
    child.on("message", onMessage);
    child.once("exit", () => done());
    child.send({ type: "stop" } satisfies ToChild);
  });
}

/** CPU time (user + system) a process has used so far, in ms (Linux; clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  // The command name (field 2) may contain spaces; the fields after its closing parenthesis don't.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Peak and current resident set size of a process, in MB (Linux). */
function memoryOf(pid: number): { hwmMb: number; rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { hwmMb: kb("VmHWM") / 1024, rssMb: kb("VmRSS") / 1024 };
}

// ---------------------------------------------------------------------------------------------
// One run: the bare Probot baseline, then the App, the same load against both.

interface Database {
  dbOptions: OpenDbOptions;
  cleanup(): Promise<void>;
}

async function prepareDatabase(kind: "pglite" | "postgres"): Promise<Database> {
  if (kind === "pglite") {
    const dir = mkdtempSync(join(tmpdir(), "trellis-bench-"));
    // A new data directory, as on the App's first start (it runs initdb in a process that then ends).
    return {
      dbOptions: { dataDir: join(dir, "db") },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    // A schema of its own, dropped afterwards: the benchmark never touches the user's tables.
    const schema = `bench_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
    return {
      dbOptions: { databaseUrl: fromEnv, schema },
      cleanup: async () => {
        const { default: pg } = await import("pg");
        const client = new pg.Client({ connectionString: fromEnv });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      },
    };
  }
  const { findPostgresBin, startTemporaryPostgres } = await import("../support/postgres.js");
  const bin = findPostgresBin();
  if (!bin)
    throw new Error("--db postgres needs DATABASE_URL or PostgreSQL server binaries (initdb, pg_ctl)");
  const server = await startTemporaryPostgres(bin);
  return { dbOptions: { databaseUrl: server.url }, cleanup: server.stop };
}

/** The processes a process started (Linux): the App's embedded database, for one. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface Phase {
  load: LoadResult;
  /** The lifetime peak (VmHWM), the RSS at the end, and the highest RSS sampled during the load. */
  memory: { hwmMb: number; rssMb: number; underLoadMb: number };
  /** Peak RSS of the server's child processes together (none for a bare server or PostgreSQL). */
  childrenHwmMb: number | null;
  cpuMs: number;
  /** The part of `cpuMs` spent in the server's child processes (the embedded database). */
  childrenCpuMs: number;
}

/** One measured burst against one server: latencies, the CPU it cost, its memory while it ran. */
async function measure(
  child: ChildHandle,
  port: number,
  deliveries: Delivery[],
  concurrency: number,
): Promise<Phase> {
  // The embedded database's process counts too: its CPU is the App's cost.
  const childrenCpu = () => childrenOf(child.pid).reduce((sum, pid) => sum + cpuMsOf(pid), 0);
  const cpuOfTree = () => childrenCpu() + cpuMsOf(child.pid);
  const cpu0 = cpuOfTree();
  const childrenCpu0 = childrenCpu();
  // Resident memory while the load runs, sampled (the process's lifetime peak is reported apart).
  let rssUnderLoadMb = memoryOf(child.pid).rssMb;
  const sampler = setInterval(() => {
    rssUnderLoadMb = Math.max(rssUnderLoadMb, memoryOf(child.pid).rssMb);
  }, 20);
  let load: LoadResult;
  try {
    load = await sendAll(port, deliveries, concurrency);
  } finally {
    clearInterval(sampler);
  }
  const memory = memoryOf(child.pid);
  const children = childrenOf(child.pid);
  const childrenHwmMb = children.length ? children.reduce((sum, pid) => sum + memoryOf(pid).hwmMb, 0) : null;
  return {
    load,
    memory: { ...memory, underLoadMb: Math.max(rssUnderLoadMb, memory.rssMb) },
    childrenHwmMb,
    cpuMs: cpuOfTree() - cpu0,
    childrenCpuMs: childrenCpu() - childrenCpu0,
  };
}

/** The rounds of one server, pooled: every latency, summed wall and CPU time, peak memory. */
function pool(phases: Phase[]): Phase {
  const sum = (f: (p: Phase) => number) => phases.reduce((total, p) => total + f(p), 0);
  const max = (f: (p: Phase) => number) => Math.max(...phases.map(f));
  const children = phases.map((p) => p.childrenHwmMb).filter((m): m is number => m !== null);
  return {
    load: {
      latenciesMs: phases.flatMap((p) => p.load.latenciesMs),
      errors: sum((p) => p.load.errors),
      resets: sum((p) => p.load.resets),
      wallMs: sum((p) => p.load.wallMs),
    },
    memory: {
      hwmMb: max((p) => p.memory.hwmMb),
      rssMb: phases[phases.length - 1]?.memory.rssMb ?? 0,
      underLoadMb: max((p) => p.memory.underLoadMb),
    },
    childrenHwmMb: children.length ? Math.max(...children) : null,
    cpuMs: sum((p) => p.cpuMs),
    childrenCpuMs: sum((p) => p.childrenCpuMs),
  };
}

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

// ---------------------------------------------------------------------------------------------
// Command line.

function parseArgs(argv: string[]): Partial<IngestBenchOptions> & { json: boolean } {
  const out: Partial<IngestBenchOptions> & { json: boolean } = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const count = () => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0) throw new Error(`${arg} needs a whole number`);
      return n;
    };
    if (arg === "--json") out.json = true;
    else if (arg === "--db") {
      const v = value();
      if (v !== "pglite" && v !== "postgres") throw new Error(`--db is pglite or postgres, not "${v}"`);
      out.db = v;
    } else if (arg === "--deliveries") out.deliveries = Math.max(1, count());
    else if (arg === "--warmup") out.warmup = count();
    else if (arg === "--rounds") out.rounds = Math.max(1, count());
    else if (arg === "--concurrency") out.concurrency = Math.max(1, count());
    else if (arg === "--redeliveries") out.redeliveryShare = Math.min(1, Number(value()));
    else if (arg === "--log-level") out.logLevel = value();
    else if (arg === "--from-source") out.fromSource = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  return out;
}

const row = (...values: number[]): string =>
  values.map((v, i) => String(v).padStart([7, 7, 13, 16, 12][i] ?? 8)).join("  ");

function report(r: IngestBenchResult): string {
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

async function main(argv: string[]): Promise<void> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (error) {
    console.error(`bench:ingest: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
    return;
  }
  const { json, ...options } = args;
  const result = await runIngestBenchmark(options);
  console.log(json ? JSON.stringify(result) : report(result));
  process.exitCode = result.passed ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
