// The set-up of `npm run bench:ingest` (ingest.ts): the stubbed GitHub, the two server processes
// (ingest-server.ts) and the App's database.
import { fork, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { OpenDbOptions } from "../../src/store/db.js";
import { APP_ID, type FromChild, type ServeConfig, type ToChild } from "./ingest-server.js";

// GitHub, stubbed: just enough for the App to authenticate and find no repository config.

export async function startGitHubStub(): Promise<{
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

export function freePort(): Promise<number> {
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

export interface ChildHandle {
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

export async function startChild(config: ServeConfig, fromSource: boolean): Promise<ChildHandle> {
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

interface Database {
  dbOptions: OpenDbOptions;
  cleanup(): Promise<void>;
}

export async function prepareDatabase(kind: "pglite" | "postgres"): Promise<Database> {
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
