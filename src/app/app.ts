/** Builds the running App: store, pipeline, worker, routes; used by src/index.ts, the sandbox and tests. */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Probot } from "probot";
import { readBuiltins } from "../builtins.js";
import type { GitHub } from "../github/client.js";
import { createPermissionChecker } from "../github/permissions.js";
import { readAppIdentity } from "../github/self.js";
import type { AppIdentity, DomainEvent } from "../handlers/events.js";
import { HANDLED_EVENTS, toDomainEvent } from "../handlers/index.js";
import { changedDefinitions } from "../handlers/push.js";
import { DEFAULT_RETENTION } from "../core/server-config.js";
import { openDb, pingDb, type Db, type OpenDbOptions } from "../store/db.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createAppCaches } from "./caches.js";
import { forgetDefinitions } from "./definitions.js";
import { ingest } from "./process.js";
import { createReconciler, type ReconcileOptions, type Reconciler } from "./reconcile.js";
import type { AppDeps } from "./runtime.js";
import { createWorker, type Worker, type WorkerOptions } from "./worker.js";

export interface TrellisAppOptions {
  db?: Db;
  dbOptions?: OpenDbOptions;
  /** Start the background effect worker (default true; tests drain it by hand). */
  worker?: boolean;
  workerOptions?: WorkerOptions;
  now?: () => number;
  /** How long a collaborator's role is trusted before it is looked up again. */
  permissionTtlMs?: number;
  /** When set, `/trellis/health` and `/trellis/metrics` answer only `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** How long recording a delivery may take before it is answered 503 (tests shorten it). */
  ingestDeadlineMs?: number;
  /** Add those routes to Probot's server (default true); false when the caller serves `routes` elsewhere. */
  serveRoutes?: boolean;
  /** Reconciliation (src/app/reconcile.ts): on its timer with the worker unless false; `reconciler.pass()` always. */
  reconcile?: ReconcileOptions | false;
}

export interface TrellisApp {
  deps: AppDeps;
  worker: Worker;
  /** Recovers failed deliveries and missed completions; its timer runs with the worker. */
  reconciler: Reconciler;
  /** GET /trellis/health and /trellis/metrics; answers false for other requests. */
  routes: Handler;
  /** Ingests a domain event as if a webhook delivered it. */
  ingest(event: DomainEvent): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * GitHub Docs, "Best practices for using webhooks": respond "with a 2XX response within 10 seconds", else the
 * delivery counts as failed; @octokit/webhooks answers 202 at 9 s whatever then happens. A delivery not recorded
 * after 8 s gets 503 instead: a failure GitHub shows, never an acknowledgement of something lost.
 */
export const INGEST_DEADLINE_MS = 8_000;

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the database did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | boolean | Promise<void | boolean>;

export async function createApp(
  app: Probot,
  addHandler: ((handler: Handler) => void) | undefined,
  options: TrellisAppOptions = {},
): Promise<TrellisApp> {
  const db = options.db ?? (await openDb(options.dbOptions));
  const metrics: Metrics = createMetrics();
  const self: AppIdentity = {};
  // The worker needs `deps` and `deps.wake` needs the worker: a late-bound reference closes the loop.
  const workerRef: { current?: Worker } = {};
  const deps: AppDeps = {
    db,
    github: installationClients(app, options.now ?? Date.now),
    self,
    builtins: await readBuiltins(),
    permissions: createPermissionChecker(options.permissionTtlMs ?? 60_000),
    now: options.now ?? Date.now,
    log: app.log,
    metrics,
    wake: () => workerRef.current?.wake(),
    caches: createAppCaches(),
  };
  // Records past the default retention are pruned unless the server's configuration says otherwise.
  const worker = createWorker(deps, { retention: DEFAULT_RETENTION, ...options.workerOptions });
  workerRef.current = worker;

  // The App's own identity, so its comments and check runs are recognised (best effort: the sandbox
  // and tests may not serve GET /app).
  void (async () => {
    try {
      const identity = await readAppIdentity((await app.auth()) as unknown as GitHub);
      if (identity) {
        self.id = identity.id;
        self.slug = identity.slug;
      }
    } catch (error) {
      app.log.debug({ err: String(error) }, "could not read the App's identity");
    }
  })();

  const ingestDeadlineMs = options.ingestDeadlineMs ?? INGEST_DEADLINE_MS;
  const receive = async (event: DomainEvent | undefined): Promise<void> => {
    if (!event) return;
    try {
      await withDeadline(ingest(deps, event), ingestDeadlineMs);
    } catch (error) {
      // Not recorded, so not acknowledged: @octokit/webhooks answers with the error's status, and GitHub records
      // a failed delivery that can be redelivered (the inbox drops it if it was recorded after all).
      app.log.error(
        { err: String(error), delivery: event.deliveryId },
        "delivery not recorded: answered 503",
      );
      throw Object.assign(new Error(`Trellis could not record the delivery: ${String(error)}`), {
        status: 503,
      });
    }
  };
  // One router for every event Trellis handles (src/handlers/index.ts): the payload becomes a domain event.
  app.on([...HANDLED_EVENTS], (c) => receive(toDomainEvent(c, self)));
  // Not a domain event: a change to the definitions only means reading them again.
  app.on("push", (c) => {
    const repo = changedDefinitions(c.payload);
    if (repo) forgetDefinitions(deps, repo);
  });

  const routes: Handler = async (req, res) => {
    const url = req.url?.split("?")[0];
    if (req.method !== "GET" || (url !== "/trellis/health" && url !== "/trellis/metrics")) return false;
    if (
      options.metricsToken !== undefined &&
      !bearerMatches(req.headers.authorization, options.metricsToken)
    ) {
      // RFC 6750 §3: a protected resource asked without a valid bearer token answers 401 with a challenge.
      res
        .writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer realm="trellis"' })
        .end(JSON.stringify({ status: "unauthorized" }));
      return true;
    }
    try {
      if (url === "/trellis/health") {
        await pingDb(db);
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ status: "ok", db: db.kind }));
      } else {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(await metrics.render(db));
      }
    } catch (error) {
      res
        .writeHead(503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: "unavailable", error: String(error) }));
    }
    return true;
  };
  try {
    if (options.serveRoutes !== false) addHandler?.(routes);
  } catch {
    // Probot loaded without its HTTP server (tests, embedding): the routes are still on `routes`.
  }

  const reconciler = createReconciler(deps, options.reconcile || {});
  if (options.worker !== false) {
    worker.start();
    if (options.reconcile !== false) reconciler.start();
  }
  return {
    deps,
    worker,
    reconciler,
    routes,
    ingest: (event) => ingest(deps, event),
    async close() {
      await reconciler.stop();
      await worker.stop();
      if (!options.db) await db.close();
    },
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

/**
 * One Octokit per installation, reused for a while: building one per effect was a measurable share of
 * the worker's CPU. Probot's auth refreshes the installation token inside the client as it expires.
 */
function installationClients(app: Probot, now: () => number): AppDeps["github"] {
  const TTL_MS = 10 * 60_000;
  const cache = new Map<number, { at: number; client: Promise<GitHub> }>();
  return (installationId) => {
    if (installationId === undefined) return app.auth() as unknown as Promise<GitHub>;
    const hit = cache.get(installationId);
    if (hit && now() - hit.at < TTL_MS) return hit.client;
    const client = app.auth(installationId) as unknown as Promise<GitHub>;
    cache.set(installationId, { at: now(), client });
    client.catch(() => cache.delete(installationId));
    return client;
  };
}
