/**
 * The App's operational routes, next to the webhook endpoint or on METRICS_PORT (src/app/http-server.ts):
 * - `/trellis/health/live`: the process answers (always 200; a supervisor restarts a process that does not);
 * - `/trellis/health/ready`: the database answers a ping (200), else 503 with the reason: stop sending traffic;
 * - `/trellis/health`: readiness, as before the split;
 * - `/trellis/metrics`: Prometheus' text format (src/app/metrics.ts).
 * With a token, all of them answer only `Authorization: Bearer <token>`.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pingDb, type Db } from "../store/db.js";
import { withDeadline } from "./deadline.js";
import type { Metrics } from "./metrics.js";

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | boolean | Promise<void | boolean>;

export interface RoutesOptions {
  db: Db;
  metrics: Metrics;
  metricsToken?: string;
  /** Why the database is gone for good (the embedded database's process died), if it is. */
  databaseLost(): Error | undefined;
  /** How long readiness waits for the ping before answering 503 (a probe must not hang). */
  readyTimeoutMs?: number;
}

const PATHS = new Set([
  "/trellis/health",
  "/trellis/health/live",
  "/trellis/health/ready",
  "/trellis/metrics",
]);

const json = (res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) =>
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));

/** GET on one of the paths above; answers false for other requests. */
export function createRoutes(options: RoutesOptions): Handler {
  const { db, metrics } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 2_000;

  const ready = async (res: ServerResponse) => {
    const lost = options.databaseLost();
    if (lost) {
      json(res, 503, { status: "unavailable", db: db.kind, error: lost.message });
      return;
    }
    try {
      await withDeadline(pingDb(db), readyTimeoutMs);
      json(res, 200, { status: "ok", db: db.kind });
    } catch (error) {
      json(res, 503, { status: "unavailable", db: db.kind, error: String(error) });
    }
  };

  return async (req, res) => {
    const url = req.url?.split("?")[0]?.replace(/\/+$/, "") ?? "";
    if (req.method !== "GET" || !PATHS.has(url)) return false;
    if (
      options.metricsToken !== undefined &&
      !bearerMatches(req.headers.authorization, options.metricsToken)
    ) {
      // RFC 6750 §3: a protected resource asked without a valid bearer token answers 401 with a challenge.
      json(res, 401, { status: "unauthorized" }, { "www-authenticate": 'Bearer realm="trellis"' });
      return true;
    }
    if (url === "/trellis/health/live") json(res, 200, { status: "ok" });
    else if (url === "/trellis/metrics") {
      const text = await metrics.render(db);
      res.writeHead(200, { "content-type": metrics.contentType }).end(text);
    } else await ready(res);
    return true;
  };
}

/** `Authorization: Bearer <token>` with the expected token, compared in constant time. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)$/i.exec(header ?? "");
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
