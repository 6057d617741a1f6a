/**
 * How `npm start` serves the App, decided from its environment. Pure: the entry (src/server.ts) reads the
 * environment and the private key file, this module says whether and how to start.
 */

/**
 * GitHub Docs, "Webhook events and payloads" (Payload cap): "Payloads are capped at 25 MB. If an event generates a
 * larger payload, GitHub will not deliver a payload for that webhook event." A larger body is not from GitHub.
 */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

/**
 * A webhook secret shorter than this is refused. GitHub Docs, "Validating webhook deliveries": the secret should be
 * "a random string of text with high entropy"; the manifest flow's secrets are 40 hex characters.
 */
export const MIN_SECRET_LENGTH = 16;

/**
 * GitHub Docs, "Redelivering webhooks": deliveries "from the past 3 days" can be redelivered on GitHub.com, "from
 * the past 7 days" on GitHub Enterprise Server: the inbox keeps ids at least that long.
 */
const GITHUB_REDELIVERY_DAYS = 7;

/** Probot's fallback when no secret is given (probot/lib/server/server.js `defaultWebhookSecret`): public. */
const PROBOT_DEFAULT_SECRET = "development";

export interface ServeConfig {
  appId: number;
  privateKey: string;
  secret: string;
  /** GitHub's REST base URL (GitHub Enterprise Server: `GHE_HOST`). */
  baseUrl?: string;
  host?: string;
  port: number;
  webhookPath: string;
  /** Where `/trellis/health` and `/trellis/metrics` are served: next to the webhooks, or on a port of their own. */
  metricsPort?: number;
  /** When set, those routes answer only `Authorization: Bearer <token>`. */
  metricsToken?: string;
  retention: Retention;
  /** How often reconciliation recovers failed deliveries and missed completions, in minutes (0: never); unset: 10. */
  reconcileEveryMinutes?: number;
}

/** How long the worker keeps finished records, in days; 0 keeps them forever. */
export interface Retention {
  /** Deliveries seen (the inbox drops redeliveries by id; GitHub redelivers only recent ones). */
  inboxDays: number;
  /** Effects done or given up (their keys become reusable after this). */
  outboxDays: number;
  auditDays: number;
}

export const DEFAULT_RETENTION: Retention = { inboxDays: 7, outboxDays: 30, auditDays: 365 };

export type StartPlan =
  /** No App yet (no APP_ID or key) outside production: Probot's manifest flow creates one. */
  | { kind: "setup" }
  /** Development through a smee.io channel: Probot's own server, which runs the proxy client. */
  | { kind: "proxy"; config: ServeConfig; url: string }
  | { kind: "serve"; config: ServeConfig }
  | { kind: "refuse"; errors: string[] };

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Decides how to start. The webhook secret is required whenever the App has credentials (with them, a forged event
 * acts with real tokens: without a secret Probot verifies against the public string "development"), and always in
 * production (`NODE_ENV=production`), where the setup flow never runs.
 */
export function planStart(env: Env, privateKey: string | undefined): StartPlan {
  const production = env.NODE_ENV === "production";
  const appId = Number(env.APP_ID);
  const hasApp = Number.isInteger(appId) && appId > 0 && privateKey !== undefined;
  const errors: string[] = [];
  if (!hasApp) {
    if (!production) return { kind: "setup" };
    if (!(Number.isInteger(appId) && appId > 0))
      errors.push("APP_ID is missing or not a number: it is required in production (NODE_ENV=production)");
    if (privateKey === undefined)
      errors.push("the App's private key is missing: set PRIVATE_KEY or PRIVATE_KEY_PATH");
  }
  const secret = env.WEBHOOK_SECRET ?? "";
  if (secret === "")
    errors.push(
      "WEBHOOK_SECRET is not set: without it anyone could forge GitHub's webhooks. Set it to the App's " +
        "webhook secret (GitHub → the App's settings → Webhook secret)",
    );
  else if (secret === PROBOT_DEFAULT_SECRET || secret.length < MIN_SECRET_LENGTH)
    errors.push(
      `WEBHOOK_SECRET is too weak: use a random secret of at least ${MIN_SECRET_LENGTH} characters ` +
        "(e.g. `openssl rand -hex 20`), the same in the App's settings",
    );
  const port = portOf(env.PORT, "PORT", errors) ?? 3000;
  const metricsPort = portOf(env.METRICS_PORT, "METRICS_PORT", errors);
  if (metricsPort !== undefined && metricsPort === port)
    errors.push(`METRICS_PORT (${metricsPort}) must differ from PORT: leave it unset to serve both on PORT`);
  const metricsToken = env.METRICS_TOKEN === "" ? undefined : env.METRICS_TOKEN;
  if (metricsToken !== undefined && metricsToken.length < MIN_SECRET_LENGTH)
    errors.push(`METRICS_TOKEN is too short: use at least ${MIN_SECRET_LENGTH} random characters`);
  const retention: Retention = {
    inboxDays:
      daysOf(env.RETENTION_INBOX_DAYS, "RETENTION_INBOX_DAYS", errors) ?? DEFAULT_RETENTION.inboxDays,
    outboxDays:
      daysOf(env.RETENTION_OUTBOX_DAYS, "RETENTION_OUTBOX_DAYS", errors) ?? DEFAULT_RETENTION.outboxDays,
    auditDays:
      daysOf(env.RETENTION_AUDIT_DAYS, "RETENTION_AUDIT_DAYS", errors) ?? DEFAULT_RETENTION.auditDays,
  };
  // A redelivery GitHub still offers must find its id in the inbox, or it would be applied twice.
  if (retention.inboxDays > 0 && retention.inboxDays < GITHUB_REDELIVERY_DAYS)
    errors.push(
      `RETENTION_INBOX_DAYS must be at least ${GITHUB_REDELIVERY_DAYS} (GitHub redelivers deliveries of the past ${GITHUB_REDELIVERY_DAYS} days), or 0 to keep them forever`,
    );
  const reconcileEveryMinutes = minutesOf(env.RECONCILE_EVERY_MINUTES, "RECONCILE_EVERY_MINUTES", errors);
  if (errors.length > 0) return { kind: "refuse", errors };

  const config: ServeConfig = {
    appId,
    privateKey: privateKey!,
    secret,
    port,
    webhookPath: env.WEBHOOK_PATH || "/api/github/webhooks",
    ...(env.HOST ? { host: env.HOST } : {}),
    ...(env.GHE_HOST ? { baseUrl: `${env.GHE_PROTOCOL || "https"}://${env.GHE_HOST}/api/v3` } : {}),
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    ...(metricsToken !== undefined ? { metricsToken } : {}),
    retention,
    ...(reconcileEveryMinutes !== undefined ? { reconcileEveryMinutes } : {}),
  };
  if (env.WEBHOOK_PROXY_URL) return { kind: "proxy", config, url: env.WEBHOOK_PROXY_URL };
  return { kind: "serve", config };
}

function portOf(value: string | undefined, name: string, errors: string[]): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0 && n <= 65535) return n;
  errors.push(`${name} must be a port number (0–65535), not "${value}"`);
  return undefined;
}

function daysOf(value: string | undefined, name: string, errors: string[]): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0) return n;
  errors.push(`${name} must be a whole number of days (0 keeps records forever), not "${value}"`);
  return undefined;
}

function minutesOf(value: string | undefined, name: string, errors: string[]): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (Number.isFinite(n) && n >= 0) return n;
  errors.push(`${name} must be a number of minutes (0 turns it off), not "${value}"`);
  return undefined;
}

/**
 * The App's private key as Probot's `PRIVATE_KEY` accepts it: PEM text (newlines possibly escaped as `\n`, as in
 * `.env` files) or the same base64-encoded. Undefined when it is not a PEM key.
 */
export function normalizePrivateKey(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const pem = (text: string) => (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) ? text : undefined);
  const direct = pem(raw.replace(/\\n/g, "\n"));
  if (direct) return direct;
  if (!/^[A-Za-z0-9+/=\s]+$/.test(raw)) return undefined;
  return pem(Buffer.from(raw, "base64").toString("utf8"));
}
