/**
 * The App's HTTP servers for `npm start`: the webhook endpoint (Probot's middleware behind a body limit) and the
 * health and metrics routes, next to it or on a port of their own. Probot's own `Server` puts its webhook
 * middleware before every added handler, so nothing could refuse an oversized body before it is read; this one can.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { Probot, type ProbotOctokit } from "probot";
import { MAX_WEBHOOK_BYTES, type ServeConfig } from "../core/server-config.js";
import { trellis, type TrellisApp, type TrellisAppOptions } from "../index.js";

export interface RunningServer {
  app: TrellisApp;
  /** `http://host:port` of the webhook server, and of the metrics server when it has its own port. */
  url: string;
  metricsUrl?: string;
  close(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  app?: Omit<TrellisAppOptions, "metricsToken" | "serveRoutes">;
  Octokit?: typeof ProbotOctokit;
  /** The largest webhook body accepted (GitHub's cap; tests lower it). */
  maxBodyBytes?: number;
}

export async function startServer(config: ServeConfig, options: StartOptions): Promise<RunningServer> {
  const probot = new Probot({
    appId: config.appId,
    privateKey: config.privateKey,
    secret: config.secret,
    log: options.log,
    ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
    ...(options.Octokit ? { Octokit: options.Octokit } : {}),
  });
  const fn = trellis({
    ...options.app,
    workerOptions: { ...options.app?.workerOptions, retention: config.retention },
    ...reconcileOptions(options.app?.reconcile, config.reconcileEveryMinutes),
    ...(config.metricsToken !== undefined ? { metricsToken: config.metricsToken } : {}),
    serveRoutes: false,
  });
  await probot.load(fn);
  const app = await fn.ready;
  const webhooks = await probot.getNodeMiddleware({ path: config.webhookPath });
  const max = options.maxBodyBytes ?? MAX_WEBHOOK_BYTES;
  const separate = config.metricsPort !== undefined;

  const notFound = (res: ServerResponse) =>
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "Not Found" }));
  const main = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "").split("?")[0]!.replace(/\/+$/, "");
      if (path === config.webhookPath.replace(/\/+$/, "") && req.method === "POST") {
        // Acknowledgement time, as GitHub sees it: from the request's arrival to the answer sent (any status).
        const arrived = performance.now();
        res.once("finish", () =>
          app.deps.metrics.observe(
            "trellis_webhook_ack_seconds",
            { status: String(res.statusCode) },
            (performance.now() - arrived) / 1000,
          ),
        );
        const body = await readBounded(req, res, max);
        if (body === undefined) return;
        // Probot's middleware takes a body already read as the payload (@octokit/webhooks `getPayload`).
        (req as IncomingMessage & { body?: string }).body = body;
        await webhooks(req, res);
        return;
      }
      if (!separate && (await app.routes(req, res))) return;
      notFound(res);
    })().catch((error: unknown) => {
      options.log.error({ err: error }, "request failed");
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const metrics = separate
    ? createServer((req, res) => {
        void (async () => {
          if (!(await app.routes(req, res))) notFound(res);
        })().catch(() => {
          if (!res.headersSent) res.writeHead(500).end();
        });
      })
    : undefined;

  const servers = [main, ...(metrics ? [metrics] : [])];
  const url = await listen(main, config.port, config.host);
  const metricsUrl = metrics ? await listen(metrics, config.metricsPort!, config.host) : undefined;
  options.log.info({ url, ...(metricsUrl ? { metricsUrl } : {}) }, "Trellis is listening");
  return {
    app,
    url,
    ...(metricsUrl ? { metricsUrl } : {}),
    async close() {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      await app.close();
    },
  };
}

/**
 * The request's body as text, or undefined when it was refused with 413: at once when `Content-Length` announces
 * more than `max` bytes (nothing is read), else as soon as the bytes read pass `max` (chunked bodies announce none).
 */
export async function readBounded(
  req: IncomingMessage,
  res: ServerResponse,
  max: number,
): Promise<string | undefined> {
  const tooLarge = () => {
    res
      .writeHead(413, { "content-type": "application/json", connection: "close" })
      .end(
        JSON.stringify({ error: `Payload Too Large: GitHub's webhook payloads are at most ${max} bytes` }),
      );
    // Stop reading what the client still sends; the connection closes once the answer is out.
    req.pause();
    res.on("finish", () => req.destroy());
  };
  const announced = Number(req.headers["content-length"]);
  if (Number.isFinite(announced) && announced > max) {
    tooLarge();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off("data", onData);
        tooLarge();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(size > max ? undefined : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function listen(server: Server, port: number, host: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, ...(host ? { host } : {}) }, () => {
      const { address, port: bound, family } = server.address() as AddressInfo;
      resolve(`http://${family === "IPv6" ? `[${address}]` : address}:${bound}`);
    });
  });
}

/** The App's reconciliation options with RECONCILE_EVERY_MINUTES applied (the App's default when unset). */
export function reconcileOptions(
  given: TrellisAppOptions["reconcile"],
  everyMinutes: number | undefined,
): Pick<TrellisAppOptions, "reconcile"> {
  if (given === false || everyMinutes === undefined) return given === undefined ? {} : { reconcile: given };
  return { reconcile: { ...given, everyMs: everyMinutes * 60_000 } };
}
