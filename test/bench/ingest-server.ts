// The server process of `npm run bench:ingest` (test/bench/ingest.ts): the real Probot `Server` with either the
// real Trellis App or a bare app that does nothing. It runs compiled (`npm run build`, dist/), as `npm start`
// does in production, in a process of its own so that the RSS measured is its own.
import { generateKeyPairSync } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pino, type Logger } from "pino";
import { Probot, Server } from "probot";
import type { TrellisApp } from "../../src/index.js";
import { REDACT_PATHS, scrubSecrets } from "../../src/logger.js";
import type { OpenDbOptions } from "../../src/store/db.js";

export const SECRET = "bench-webhook-secret";
export const APP_ID = 4711;

export interface ServeConfig {
  mode: "app" | "bare";
  port: number;
  github: string;
  logLevel: string;
  dbOptions?: OpenDbOptions;
}

export type ToChild = { type: "verify"; ids: string[] } | { type: "stop" };
export type FromChild =
  | { type: "ready"; execArgv: string[] }
  | {
      type: "verified";
      recorded: number;
      duplicates: number;
      eventRows: number;
      eventKeys: number;
      done: number;
    }
  | { type: "stopped" }
  | { type: "error"; message: string };

/**
 * The production logger's redaction, with the scrubbing of secrets done on each finished line
 * (`streamWrite`): src/logger.ts's `formatters.log` JSON-stringifies the raw object before pino's
 * serializers run, which throws on the req/res objects Probot's HTTP logger logs for every request.
 */
function serverLogger(level: string): Logger {
  return pino({
    level,
    redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
    hooks: { streamWrite: scrubSecrets },
  });
}

export async function serve(config: ServeConfig): Promise<void> {
  const send = (message: FromChild) => process.send?.(message);
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const log = serverLogger(config.logLevel);
  const server = new Server({
    host: "127.0.0.1",
    port: config.port,
    log,
    Probot: Probot.defaults({ appId: APP_ID, privateKey, secret: SECRET, baseUrl: config.github, log }),
  });
  let app: TrellisApp | undefined;
  if (config.mode === "app") {
    const { trellis } = await import("../../src/index.js");
    const fn = trellis(config.dbOptions ? { dbOptions: config.dbOptions } : {});
    await server.load(fn);
    app = await fn.ready;
  } else {
    await server.load((probot) => {
      probot.onAny(() => undefined);
    });
  }
  await server.start();

  process.on("message", (message: ToChild) => {
    void (async () => {
      try {
        if (message.type === "verify") {
          if (!app) throw new Error("the bare server has no database");
          send({ type: "verified", ...(await verify(app, message.ids)) });
        } else {
          await server.stop();
          await app?.close();
          // Exit once the parent has the answer: nothing else should keep a benchmark server alive.
          process.send?.({ type: "stopped" } satisfies FromChild, () => process.exit(0));
        }
      } catch (error) {
        send({
          type: "error",
          message: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
      }
    })();
  });
  send({ type: "ready", execArgv: process.execArgv });
}

/** What the App's database holds for the ids sent, once the worker has (nearly) caught up. */
async function verify(
  app: TrellisApp,
  ids: string[],
): Promise<Omit<Extract<FromChild, { type: "verified" }>, "type">> {
  const db = app.deps.db;
  const keys = ids.map((id) => `event:${id}`);
  const inbox = await db.query<{ recorded: number; duplicates: number }>(
    `SELECT count(*)::int AS recorded, COALESCE(sum(duplicates), 0)::int AS duplicates
       FROM inbox WHERE delivery_id = ANY($1::text[])`,
    [ids],
  );
  const outbox = await db.query<{ rows: number; keys: number; done: number }>(
    `SELECT count(*)::int AS rows, count(DISTINCT key)::int AS keys,
            count(*) FILTER (WHERE status = 'done')::int AS done
       FROM outbox WHERE type = 'event' AND key = ANY($1::text[])`,
    [keys],
  );
  return {
    recorded: inbox.rows[0]?.recorded ?? 0,
    duplicates: inbox.rows[0]?.duplicates ?? 0,
    eventRows: outbox.rows[0]?.rows ?? 0,
    eventKeys: outbox.rows[0]?.keys ?? 0,
    done: outbox.rows[0]?.done ?? 0,
  };
}

// Run as a program (not when the benchmark imports its constants and types).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  serve(JSON.parse(process.argv[2] ?? "{}") as ServeConfig).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
