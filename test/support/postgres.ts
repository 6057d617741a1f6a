/**
 * Vitest global setup: a throw-away PostgreSQL server for the store's tests on the real engine.
 *
 * - TEST_DATABASE_URL set → used as is.
 * - Otherwise, when PostgreSQL server binaries exist (initdb/pg_ctl on PATH or under
 *   /usr/lib/postgresql/<v>/bin), a temporary cluster is initialised, started on 127.0.0.1 on a
 *   free port (as the `postgres` user when running as root, since initdb refuses root), and removed
 *   on teardown.
 * - With neither, the PostgreSQL variants are skipped with a message — except on CI, where that fails.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A PostgreSQL URL for store tests, or null when none is available. */
    postgresUrl: string | null;
    postgresUnavailableReason: string;
  }
}

export function findPostgresBin(): string | undefined {
  const onPath = spawnSync("sh", ["-c", "command -v pg_ctl"], { encoding: "utf8" });
  const fromPath = onPath.status === 0 ? onPath.stdout.trim() : "";
  if (fromPath && existsSync(join(fromPath, "..", "initdb"))) return join(fromPath, "..");
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "pg_ctl")) && existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], "bin") : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export type PostgresPlan =
  { kind: "url"; url: string } | { kind: "start"; bin: string } | { kind: "unavailable"; reason: string };

/** What the setup will do, from the environment and the binaries found. */
export function planPostgres(env: NodeJS.ProcessEnv, bin: string | undefined): PostgresPlan {
  if (env.TEST_DATABASE_URL) return { kind: "url", url: env.TEST_DATABASE_URL };
  if (bin) return { kind: "start", bin };
  return {
    kind: "unavailable",
    reason: "no PostgreSQL server binaries (initdb, pg_ctl) found and TEST_DATABASE_URL is unset",
  };
}

/** Outside CI a missing PostgreSQL only skips its test variants; on CI it fails the run. */
export function unavailable(env: NodeJS.ProcessEnv, reason: string): { reason: string; fatal: boolean } {
  return { reason, fatal: env.CI === "true" || env.CI === "1" };
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const plan = planPostgres(process.env, process.env.TEST_DATABASE_URL ? undefined : findPostgresBin());
  const skip = (reason: string): undefined => {
    const verdict = unavailable(process.env, reason);
    if (verdict.fatal) throw new Error(`PostgreSQL is required on CI: ${reason}`);
    console.warn(`\n[store tests] PostgreSQL variants skipped: ${reason}\n`);
    project.provide("postgresUrl", null);
    project.provide("postgresUnavailableReason", reason);
    return undefined;
  };
  if (plan.kind === "url") {
    project.provide("postgresUrl", plan.url);
    project.provide("postgresUnavailableReason", "");
    return undefined;
  }
  if (plan.kind === "unavailable") return skip(plan.reason);
  try {
    const { url, stop } = await startTemporaryPostgres(plan.bin);
    project.provide("postgresUrl", url);
    project.provide("postgresUnavailableReason", "");
    return stop;
  } catch (error) {
    return skip(error instanceof Error ? error.message : String(error));
  }
}

export interface TemporaryPostgres {
  /** URL of the `trellis_test` database on the temporary server. */
  url: string;
  /** The cluster's temporary directory (data, socket, log). */
  dir: string;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Initialises and starts a throw-away PostgreSQL cluster from the binaries in `bin` (see the header);
 * used by the global setup and by `npm run bench:ingest -- --db postgres`.
 */
export async function startTemporaryPostgres(bin: string): Promise<TemporaryPostgres> {
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "trellis-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  const run = (cmd: string, args: string[]): void => {
    const [file, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]]
      : [join(bin, cmd), args];
    execFileSync(file, argv, { stdio: "pipe", cwd: dir });
  };
  const port = await freePort();
  const stop = async (): Promise<void> => {
    try {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (asRoot) {
      // initdb refuses to run as root: the cluster belongs to the `postgres` user.
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
      chownSync(dir, uid, gid);
    }
    chmodSync(dir, 0o700);
    run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    run("pg_ctl", [
      "-D",
      data,
      "-l",
      log,
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c full_page_writes=off -c max_connections=200`,
      "start",
    ]);
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await admin.connect();
    await admin.query("CREATE DATABASE trellis_test");
    await admin.end();
  } catch (error) {
    const serverLog = existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-10).join("\n") : "";
    await stop();
    const detail = `${error instanceof Error ? error.message : String(error)}${serverLog ? `\n${serverLog}` : ""}`;
    throw new Error(`could not start a temporary PostgreSQL server from ${bin}: ${detail}`);
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/trellis_test`, dir, stop };
}
