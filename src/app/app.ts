/** Builds the running App: store, pipeline, worker, routes; used by src/index.ts, the sandbox and tests. */
import type { Probot } from "probot";
import { readBuiltins } from "../builtins.js";
import type { GitHub } from "../github/client.js";
import { observeRequests } from "../github/observe.js";
import { createPermissionChecker } from "../github/permissions.js";
import { readAppIdentity } from "../github/self.js";
import type { AppIdentity, DomainEvent } from "../handlers/events.js";
import { HANDLED_EVENTS, toDomainEvent } from "../handlers/index.js";
import { changedDefinitions } from "../handlers/push.js";
import { DEFAULT_RETENTION } from "../core/server-config.js";
import { openDb, type Db, type OpenDbOptions } from "../store/db.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createAppCaches } from "./caches.js";
import { withDeadline } from "./deadline.js";
import { forgetDefinitions } from "./definitions.js";
import { ingest } from "./process.js";
import { createReconciler, type ReconcileOptions, type Reconciler } from "./reconcile.js";
import { createRoutes, type Handler } from "./routes.js";
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
  /** When set, `/trellis/health*` and `/trellis/metrics` answer only `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** How long recording a delivery may take before it is answered 503 (tests shorten it). */
  ingestDeadlineMs?: number;
  /** Add those routes to Probot's server (default true); false when the caller serves `routes` elsewhere. */
  serveRoutes?: boolean;
  /**
   * The database went away for good while the App runs (the embedded database's process died): `npm start` exits
   * non-zero so a supervisor restarts it. Readiness answers 503 from then on either way.
   */
  onDatabaseLost?: (error: Error) => void;
  /** Reconciliation (src/app/reconcile.ts): on its timer with the worker unless false; `reconciler.pass()` always. */
  reconcile?: ReconcileOptions | false;
}

export interface TrellisApp {
  deps: AppDeps;
  worker: Worker;
  /** Recovers failed deliveries and missed completions; its timer runs with the worker. */
  reconciler: Reconciler;
  /** GET /trellis/health (/live, /ready) and /trellis/metrics (src/app/routes.ts); false for other requests. */
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

export type { Handler };

export async function createApp(
  app: Probot,
  addHandler: ((handler: Handler) => void) | undefined,
  options: TrellisAppOptions = {},
): Promise<TrellisApp> {
  const db = options.db ?? (await openDb(options.dbOptions));
  const metrics: Metrics = createMetrics();
  let databaseLost: Error | undefined;
  db.onLost?.((error) => {
    databaseLost = error;
    app.log.error({ err: error.message }, "the database is gone: readiness answers 503 from now on");
    options.onDatabaseLost?.(error);
  });
  const self: AppIdentity = {};
  // The worker needs `deps` and `deps.wake` needs the worker: a late-bound reference closes the loop.
  const workerRef: { current?: Worker } = {};
  const deps: AppDeps = {
    db,
    // Every client the App makes reports its requests to the metrics (route, status, rate limit left).
    github: installationClients(app, options.now ?? Date.now, (octokit, installationId) =>
      observeRequests(octokit, (request) => metrics.github(installationId, request)),
    ),
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
      const identity = await readAppIdentity(await deps.github(undefined));
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

  const routes = createRoutes({
    db,
    metrics,
    ...(options.metricsToken !== undefined ? { metricsToken: options.metricsToken } : {}),
    databaseLost: () => databaseLost,
  });
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

/**
 * One Octokit per installation, reused for a while: building one per effect was a measurable share of
 * the worker's CPU. Probot's auth refreshes the installation token inside the client as it expires.
 */
function installationClients(
  app: Probot,
  now: () => number,
  onNew: (octokit: GitHub, installationId: number | undefined) => void,
): AppDeps["github"] {
  const TTL_MS = 10 * 60_000;
  const cache = new Map<number, { at: number; client: Promise<GitHub> }>();
  const auth = async (installationId: number | undefined): Promise<GitHub> => {
    const octokit = (await app.auth(installationId)) as unknown as GitHub;
    onNew(octokit, installationId);
    return octokit;
  };
  return (installationId) => {
    if (installationId === undefined) return auth(undefined);
    const hit = cache.get(installationId);
    if (hit && now() - hit.at < TTL_MS) return hit.client;
    const client = auth(installationId);
    cache.set(installationId, { at: now(), client });
    client.catch(() => cache.delete(installationId));
    return client;
  };
}
