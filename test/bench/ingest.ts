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
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { report } from "./ingest-report.js";
import { runIngestBenchmark, type IngestBenchOptions } from "./ingest-run.js";
// The server processes load only what they serve (the App's modules only in the App's process); the
// example payloads, pg and the PostgreSQL helpers are imported where the parent needs them.
//
// The parts: ingest-load.ts (the deliveries), ingest-setup.ts (GitHub stub, servers, database),
// ingest-measure.ts (CPU and memory), ingest-run.ts (one run, its result), ingest-report.ts (the report).

export {
  DEFAULT_OPTIONS,
  runIngestBenchmark,
  TARGETS,
  type IngestBenchOptions,
  type IngestBenchResult,
} from "./ingest-run.js";
export { startScriptNodeOptions } from "./ingest-setup.js";

const SELF = fileURLToPath(import.meta.url);

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
