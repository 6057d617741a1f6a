import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { GitHubState, HookDelivery, Repository, StateEvent, WorkflowRun } from "./state.js";
import { onStateEvent } from "./state.js";
import { handleRequest } from "./rest.js";
import {
  cancelWorkflowRun,
  completeWorkflowRun,
  rerequestCheckRun,
  SandboxError,
  startWorkflowRun,
} from "./mutations.js";
import { githubOperations } from "./openapi.js";
import { githubSchema, graphqlProblems } from "./graphql.js";
import { randomUUID } from "node:crypto";
import type { Chaos, DeliveryPlan } from "./chaos.js";
import { recordHookDelivery } from "./hook-deliveries.js";
import type { RateLimitOptions } from "./rate-limits.js";
import { createRateLimits } from "./rate-limits.js";
import type { Delivery } from "./webhooks.js";
import { buildPayload, deliver } from "./webhooks.js";
import { loadSchemas, responseProblems, webhookProblems } from "./schemas.js";
import { gitRequestOf, serveGit } from "./git-http.js";

/** One line of the request log (`--record`). */
export interface RequestLogEntry {
  method: string;
  url: string;
  body: unknown;
  status: number;
  /** Who made it: "app" (JWT), "installation", "user:<login>" or "anonymous" (for per-client counts). */
  by?: string;
  /** Refused for a primary or secondary rate limit (by the stand-in's limits or by chaos). */
  rateLimited?: boolean;
}

export interface GitHubServerOptions {
  port?: number;
  /** Where webhooks go (the App's webhook URL) and the secret they are signed with; without it none are sent. */
  webhook?: { url: string; secret: string };
  onRequest?: (entry: RequestLogEntry) => void;
  /** Called for each delivery made (for logs and tests). */
  onDelivery?: (delivery: Delivery) => void;
  /** Faults, duplicated and reordered deliveries (chaos.ts). */
  chaos?: Chaos;
  /** Check every answer and delivery against GitHub's published schemas (default true); see `schemaProblems`. */
  checkSchemas?: boolean;
  /** GitHub's primary and secondary rate limits (rate-limits.ts): GitHub's figures unless given; `false` turns them off. */
  rateLimits?: RateLimitOptions | false;
}

export interface GitHubServer {
  state: GitHubState;
  /** http://127.0.0.1:<port> */
  url: string;
  /** The GitHub Enterprise-style REST base URL: `<url>/api/v3` (Probot's GHE_HOST / Octokit's baseUrl). */
  apiUrl: string;
  port: number;
  /** Deliveries made so far, in order. */
  deliveries: Delivery[];
  /** POSTs a webhook to the App now, like GitHub (the payload is sent as given). */
  emit(event: string, payload: Record<string, unknown>): Promise<Delivery>;
  /** Resolves when every queued webhook has been delivered. */
  idle(): Promise<void>;
  /**
   * Called for each run a `workflow_dispatch` queues for a runner (a run pending in its concurrency group only once
   * the group frees up); the handler runs the workflow and reports with `completeWorkflowRun`.
   */
  onWorkflowDispatch(handler: (run: WorkflowRun, repo: Repository) => void): () => void;
  /** Called when a queued or running run is cancelled: the handler stops its job. */
  onWorkflowRunCancelled(handler: (run: WorkflowRun, repo: Repository) => void): () => void;
  cancelWorkflowRun(runId: number): WorkflowRun;
  startWorkflowRun(runId: number): WorkflowRun;
  completeWorkflowRun(runId: number, result: Parameters<typeof completeWorkflowRun>[3]): WorkflowRun;
  /** A human pressing "Re-run" on a check run. */
  rerequestCheckRun(checkRunId: number, sender: string): void;
  /**
   * Every way an answer or delivery so far departed from GitHub's published schemas (OpenAPI responses, GraphQL
   * schema, webhook payload schemas), each once; empty when the stand-in spoke as GitHub documents.
   */
  schemaProblems(): string[];
  close(): Promise<void>;
}

/** Who sent a request, from its Authorization header (as the stand-in authenticates it). */
function requester(state: GitHubState, authorization: string | undefined): string {
  if (!authorization) return "anonymous";
  const token = authorization.replace(/^(?:token|bearer)\s+/i, "").trim();
  if (/^eyJ/.test(token)) return "app";
  const known = state.tokens.get(token);
  if (!known) return "unknown";
  return known.kind === "user" ? `user:${known.login}` : known.kind;
}

/** The schema problems of one REST or GraphQL answer (the sandbox's own download routes are not GitHub's). */
function answerProblems(method: string, path: string, status: number, body: unknown): string[] {
  const pathname = new URL(path, "http://sandbox").pathname.replace(/^\/api\/v3(?=\/|$)/, "");
  if (pathname.startsWith("/_sandbox/")) return [];
  if (pathname === "/graphql" || pathname === "/api/graphql")
    return status === 200 ? graphqlProblems(body) : [];
  return responseProblems(method, path, status, body);
}

export async function createGitHubServer(
  state: GitHubState,
  options: GitHubServerOptions = {},
): Promise<GitHubServer> {
  // Load GitHub's API descriptions before the first request rather than during it.
  githubOperations();
  githubSchema();
  const checkSchemas = options.checkSchemas !== false;
  if (checkSchemas) loadSchemas();

  // What departed from GitHub's published schemas, each once; checked off the request path (see serve).
  const problems = new Set<string>();
  const note = (found: string[]): void => {
    for (const p of found) problems.add(p);
  };

  const deliveries: Delivery[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  // A delivery chaos holds back: sent after the next one, or after a short while if none comes.
  let held: { post: () => void; timer: NodeJS.Timeout } | undefined;
  const releaseHeld = (): void => {
    if (!held) return;
    clearTimeout(held.timer);
    const { post } = held;
    held = undefined;
    post();
  };
  /** Sends an event's delivery (`redeliveryOf`: the guid of the delivery the App asked to redeliver). */
  const send = (
    event: string,
    payload: Record<string, unknown>,
    redeliveryOf?: string,
  ): Promise<Delivery> => {
    const webhook = options.webhook;
    const id = redeliveryOf ?? randomUUID();
    const action = typeof payload["action"] === "string" ? { action: payload["action"] } : {};
    const plan: DeliveryPlan = options.chaos?.delivery({ name: event, ...action }) ?? {
      duplicate: false,
      holdBack: false,
    };
    if (checkSchemas && redeliveryOf === undefined) note(webhookProblems(event, payload));
    const once = async (redelivery: boolean): Promise<Delivery> => {
      const started = performance.now();
      const delivery: Delivery = !webhook
        ? { id: "", event, status: "error" as const, error: "no webhook configured" }
        : plan.drop
          ? { id, event, ...action, status: "error", error: "failed to connect (chaos)", dropped: true }
          : await deliver(webhook, event, payload, id);
      // GitHub's delivery log, which the App can list and redeliver from (hook-deliveries.ts).
      if (webhook)
        recordHookDelivery(state, {
          guid: id,
          event,
          payload,
          redelivery,
          durationMs: performance.now() - started,
          outcome: delivery.status === "error" ? { failedToConnect: true } : { statusCode: delivery.status },
        });
      deliveries.push(delivery);
      options.onDelivery?.(delivery);
      return delivery;
    };
    return new Promise<Delivery>((resolve) => {
      const post = (): void => {
        const next = queue.then(async () => {
          const delivery = await once(redeliveryOf !== undefined);
          if (plan.duplicate) await once(true); // a redelivery: the same id again
          return delivery;
        });
        queue = next;
        void next.then(resolve);
      };
      if (plan.holdBack && !held) {
        held = { post, timer: setTimeout(releaseHeld, 200) };
        return;
      }
      post();
      releaseHeld();
    });
  };
  // The App asked GitHub to redeliver ("Redeliver a delivery for an app webhook"): the same event, the same guid.
  const redeliver = (d: HookDelivery): void => {
    if (options.webhook) void send(d.event, d.payload, d.guid);
  };
  state.redeliveryHandlers.add(redeliver);
  // Deliveries go out in the order the state changed, one at a time, as GitHub's are (roughly) ordered.
  const unsubscribe = onStateEvent(state, (event: StateEvent) => {
    if (options.webhook) void send(event.name, buildPayload(state, event));
  });

  const limits = options.rateLimits === false ? undefined : createRateLimits(state, options.rateLimits);
  const server: Server = createServer((req, res) => {
    // Git over HTTP at each repository's clone_url (git-http.ts): not an API request, so neither logged nor faulted.
    const git = gitRequestOf(state, req.url ?? "/");
    if (!git) return void serve(req, res);
    serveGit(state, git, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`git error: ${String(error)}\n`);
    });
  });
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let status = 500;
    let answer: unknown;
    let logged: unknown = raw === "" ? undefined : raw;
    try {
      logged = raw === "" ? undefined : (JSON.parse(raw) as unknown);
    } catch {
      // logged as text
    }
    const by = requester(state, req.headers.authorization);
    let rateLimited = false;
    try {
      const fault = options.chaos?.fault(by, req.method ?? "GET", req.url ?? "/");
      // A faulted request never reached GitHub's counters; others are counted (and maybe refused) first.
      const admission = fault
        ? undefined
        : limits?.admit({
            method: req.method ?? "GET",
            path: req.url ?? "/",
            authorization: req.headers.authorization,
            body: logged,
          });
      const response =
        fault ??
        admission?.response ??
        (await handleRequest(state, {
          method: req.method ?? "GET",
          path: req.url ?? "/",
          headers: req.headers,
          body: raw,
        }));
      status = response.status;
      answer = response.body;
      const headers: Record<string, string> = {
        ...response.headers,
        ...admission?.headers,
        "x-github-request-id": `SANDBOX:${Date.now().toString(16)}`,
      };
      rateLimited =
        (status === 403 || status === 429) &&
        (headers["retry-after"] !== undefined || headers["x-ratelimit-remaining"] === "0");
      if (response.body === undefined) res.writeHead(status, headers).end();
      else if (response.body instanceof Uint8Array) res.writeHead(status, headers).end(response.body);
      else if (typeof response.body === "string") res.writeHead(status, headers).end(response.body);
      else res.writeHead(status, headers).end(JSON.stringify(response.body));
    } catch (error) {
      status = 500;
      res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ message: `Sandbox error: ${String(error)}` }));
    } finally {
      options.onRequest?.({
        method: req.method ?? "GET",
        url: req.url ?? "/",
        body: logged,
        status,
        by,
        ...(rateLimited ? { rateLimited } : {}),
      });
      // After the answer went out, so the check costs the client nothing.
      if (checkSchemas && status !== 500)
        note(answerProblems(req.method ?? "GET", req.url ?? "/", status, answer));
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  state.apiBase = `${url}/api/v3`;
  state.htmlBase = `${url}/_sandbox/web`;

  const runRepo = (runId: number): Repository => {
    for (const repo of state.repos.values()) if (repo.workflowRuns.has(runId)) return repo;
    throw new SandboxError(404, `no workflow run ${runId}`);
  };
  const checkRepo = (id: number): Repository => {
    for (const repo of state.repos.values()) if (repo.checkRuns.has(id)) return repo;
    throw new SandboxError(404, `no check run ${id}`);
  };

  return {
    state,
    url,
    apiUrl: `${url}/api/v3`,
    port,
    deliveries,
    emit: (event, payload) => send(event, payload),
    idle: async () => {
      // Deliveries may cause requests that queue further deliveries; wait until the queue stops growing.
      for (;;) {
        const current = queue;
        await current;
        await new Promise((r) => setTimeout(r, 10));
        if (current === queue && !held) return;
      }
    },
    onWorkflowDispatch: (handler) => {
      state.dispatchHandlers.add(handler);
      return () => state.dispatchHandlers.delete(handler);
    },
    onWorkflowRunCancelled: (handler) => {
      state.cancelHandlers.add(handler);
      return () => state.cancelHandlers.delete(handler);
    },
    cancelWorkflowRun: (runId) => cancelWorkflowRun(state, runRepo(runId), runId),
    startWorkflowRun: (runId) => startWorkflowRun(state, runRepo(runId), runId),
    completeWorkflowRun: (runId, result) => completeWorkflowRun(state, runRepo(runId), runId, result),
    rerequestCheckRun: (id, sender) => {
      rerequestCheckRun(state, checkRepo(id), id, sender);
    },
    schemaProblems: () => [...problems],
    close: async () => {
      unsubscribe();
      state.redeliveryHandlers.delete(redeliver);
      releaseHeld();
      await queue;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
