/**
 * `npm start`: the Trellis App. With APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET in the environment
 * (or .env) it serves webhooks (src/app/http-server.ts); without an App yet, outside production, Probot walks you
 * through creating it from app.yml. WEBHOOK_PROXY_URL (a smee.io channel) forwards webhooks to a local machine
 * through Probot's own server. It refuses to start without a strong webhook secret (src/core/server-config.ts).
 */
import { readFileSync } from "node:fs";
import { run } from "probot";
import { reconcileOptions, startServer } from "./app/http-server.js";
import { normalizePrivateKey, planStart, type Env } from "./core/server-config.js";
import { trellis } from "./index.js";
import { createLogger } from "./logger.js";

try {
  // Like Probot's `run`: .env fills in what the environment does not set.
  process.loadEnvFile();
} catch {
  // No .env: the environment alone.
}
const env: Env = process.env;
const log = createLogger();
const rawKey =
  env.PRIVATE_KEY ?? (env.PRIVATE_KEY_PATH ? readFileSync(env.PRIVATE_KEY_PATH, "utf8") : undefined);
const plan = planStart(env, normalizePrivateKey(rawKey));

/**
 * Without its database the App cannot record a delivery or carry out an effect: rather than limp on, it exits
 * non-zero (after closing what it can, for at most 5 s) so a supervisor starts it again, with a fresh database process.
 */
let stopping: (() => Promise<void>) | undefined;
const onDatabaseLost = (error: Error): void => {
  log.fatal(
    { err: error.message },
    "Trellis lost its database; exiting with code 1 so a supervisor restarts it",
  );
  const closed = stopping?.() ?? Promise.resolve();
  void Promise.race([closed, new Promise((r) => setTimeout(r, 5_000))])
    .catch(() => undefined)
    .finally(() => process.exit(1));
};

switch (plan.kind) {
  case "refuse":
    log.fatal({ errors: plan.errors }, "Trellis refuses to start");
    console.error(`Trellis refuses to start:\n${plan.errors.map((e) => `- ${e}`).join("\n")}`);
    process.exit(1);
    break;
  case "setup":
  case "proxy":
    await run(
      trellis(
        plan.kind === "proxy"
          ? {
              ...(plan.config.metricsToken ? { metricsToken: plan.config.metricsToken } : {}),
              workerOptions: { retention: plan.config.retention },
              onDatabaseLost,
              ...reconcileOptions(undefined, plan.config.reconcileEveryMinutes),
            }
          : { onDatabaseLost },
      ),
      { log },
    );
    break;
  case "serve": {
    const started = startServer(plan.config, { log, app: { onDatabaseLost } });
    // Listening before anything is announced: a SIGTERM that comes while the App starts (or right after it says it
    // listens) stops it cleanly once it has started, instead of killing it mid-way.
    const stop = () => {
      void started
        .then((server) => server.close())
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const server = await started;
    stopping = () => server.close();
    break;
  }
}
