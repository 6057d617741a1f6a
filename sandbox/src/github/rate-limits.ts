/**
 * GitHub's rate limits, as the stand-in enforces them on every API request (called from server.ts's `serve()`).
 *
 * Primary limits ("Rate limits for the REST API",
 * https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api, and "Rate limits and query limits
 * for the GraphQL API", https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api):
 * - an installation access token: 5,000 requests an hour per installation (the minimum; bigger installations get
 *   more, up to 12,500); a user: 5,000 an hour; the Actions `GITHUB_TOKEN`: 1,000 an hour per repository;
 *   unauthenticated: 60 an hour per IP address. GraphQL counts points against a separate budget of the same size.
 * - every answer carries `x-ratelimit-limit`, `-remaining`, `-used`, `-reset` (UTC epoch seconds) and `-resource`
 *   (`core` for REST, always `graphql` for GraphQL); the window resets an hour after it began.
 * - past the limit: REST answers 403 (or 429) with `x-ratelimit-remaining: 0`; GraphQL answers 200 with an error
 *   (`type: "RATE_LIMITED"`) and `x-ratelimit-remaining: 0`.
 * - `GET /rate_limit` "does not count against your primary rate limit".
 * The docs give no figure for requests made with the App's JWT: those are neither counted nor limited here.
 *
 * Secondary limits ("About secondary rate limits", same pages): "no more than 80 content-generating requests per
 * minute and no more than 500 content-generating requests per hour", per installation or user here. Which requests
 * generate content is not listed; the docs' point table charges "most REST API POST, PATCH, PUT, or DELETE
 * requests" and "GraphQL requests with mutations" as the writing ones, and "Best practices for using the REST API"
 * asks to pause between `POST`, `PATCH`, `PUT` and `DELETE` requests to avoid secondary limits: those are what
 * count. Past them GitHub answers 403 (or 429) "with an error message that indicates that you exceeded a secondary
 * rate limit" and, "if present", `retry-after` in seconds: here always, the time until the window has room. A
 * refused request does not count towards the window. The other secondary limits (concurrency, points per minute,
 * CPU time) are not modelled.
 */
import {
  Kind,
  parse,
  type ArgumentNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { SandboxResponse } from "./rest/routing.js";
import type { GitHubState } from "./state.js";
import { now as nowIso } from "./state.js";

export interface RateLimitOptions {
  /** Requests (GraphQL: points) an hour per installation token's installation (GitHub: 5,000). */
  installationPerHour?: number;
  /** Requests (points) an hour per user (GitHub: 5,000). */
  userPerHour?: number;
  /** Requests (points) an hour per repository for the Actions `GITHUB_TOKEN` (GitHub: 1,000). */
  actionsTokenPerHour?: number;
  /** Unauthenticated REST requests an hour per IP address (GitHub: 60). */
  anonymousPerHour?: number;
  /** Content-creating requests a minute per installation or user (GitHub: 80). */
  contentPerMinute?: number;
  /** Content-creating requests an hour per installation or user (GitHub: 500). */
  contentPerHour?: number;
}

export const GITHUB_RATE_LIMITS: Required<RateLimitOptions> = {
  installationPerHour: 5000,
  userPerHour: 5000,
  actionsTokenPerHour: 1000,
  anonymousPerHour: 60,
  contentPerMinute: 80,
  contentPerHour: 500,
};

/** GitHub's answer to a request past a secondary rate limit (as reported from GitHub, e.g. KnpLabs/php-github-api#1070). */
export const SECONDARY_LIMIT_MESSAGE =
  "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.";
const DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";

export interface RateLimitRequest {
  method: string;
  /** Path with query, with or without the `/api/v3` prefix. */
  path: string;
  authorization?: string;
  /** The parsed JSON body (GraphQL: `{ query, variables, operationName }`). */
  body?: unknown;
}

export interface Admission {
  /** `x-ratelimit-*` (and, when refused, `retry-after`) headers for the answer. */
  headers: Record<string, string>;
  /** The answer when the request is refused, or answered here (`GET /rate_limit`). */
  response?: SandboxResponse;
}

export interface RateLimitStatus {
  limit: number;
  remaining: number;
  used: number;
  /** UTC epoch seconds. */
  reset: number;
}

export interface RateLimits {
  admit(req: RateLimitRequest): Admission;
}

type Resource = "core" | "graphql";

/** Whose budget a request spends. */
interface Client {
  /** Identifies the budget (an installation, a user, a repository's GITHUB_TOKEN, the IP). */
  key: string;
  /** Identifies the secondary (content) budget: the installation or user; undefined when it cannot write. */
  contentKey?: string;
  perHour: number;
  /** For GitHub's message: "API rate limit exceeded for …". */
  who: string;
}

interface Window {
  limit: number;
  used: number;
  /** Epoch ms at which the window ends. */
  resetAt: number;
}

const HOUR = 3600_000;
const MINUTE = 60_000;
const ACTIONS_LOGIN = "github-actions[bot]";

export type CountedRateLimit = RateLimitStatus & { cost: number };

/**
 * The GraphQL budget as counted for the request being served: `admit` sets it and graphql.ts takes it for the
 * `rateLimit` field (server.ts calls `handleRequest`, which reaches `handleGraphQL` without awaiting, right after).
 */
let graphqlNow: CountedRateLimit | undefined;
export function takeGraphQLRateLimit(): CountedRateLimit | undefined {
  const taken = graphqlNow;
  graphqlNow = undefined;
  return taken;
}

export function createRateLimits(state: GitHubState, options: RateLimitOptions = {}): RateLimits {
  const limits = { ...GITHUB_RATE_LIMITS, ...options };
  const windows = new Map<string, Window>();
  const content = new Map<string, number[]>();

  const windowOf = (client: Client, resource: Resource, now: number): Window => {
    const key = `${client.key}:${resource}`;
    let w = windows.get(key);
    if (!w || now >= w.resetAt) {
      w = { limit: client.perHour, used: 0, resetAt: now + HOUR };
      windows.set(key, w);
    }
    return w;
  };
  const statusOf = (w: Window): RateLimitStatus => ({
    limit: w.limit,
    remaining: Math.max(0, w.limit - w.used),
    used: w.used,
    reset: Math.ceil(w.resetAt / 1000),
  });
  const headersOf = (w: Window, resource: Resource): Record<string, string> => {
    const s = statusOf(w);
    return {
      "x-ratelimit-limit": String(s.limit),
      "x-ratelimit-remaining": String(s.remaining),
      "x-ratelimit-used": String(s.used),
      "x-ratelimit-reset": String(s.reset),
      "x-ratelimit-resource": resource,
    };
  };

  const clientOf = (authorization: string | undefined, pathname: string): Client | undefined => {
    if (!authorization) return { key: "ip:127.0.0.1", perHour: limits.anonymousPerHour, who: "127.0.0.1" };
    const token = authorization.replace(/^(?:token|bearer)\s+/i, "").trim();
    const known = state.tokens.get(token);
    if (!known || (known.expiresAt && known.expiresAt < nowIso(state))) return undefined;
    if (known.kind === "installation") {
      const key = `installation:${known.installationId}`;
      return {
        key,
        contentKey: key,
        perHour: limits.installationPerHour,
        who: `installation ID ${known.installationId}`,
      };
    }
    if (known.kind !== "user") return undefined;
    const login = known.login.toLowerCase();
    const user = { id: state.users.get(login)?.id ?? 0 };
    const key = `user:${login}`;
    if (login === ACTIONS_LOGIN) {
      // The GITHUB_TOKEN's budget is per repository; requests that name none share one.
      const repo = /^\/repos\/([^/]+\/[^/]+)/.exec(pathname)?.[1]?.toLowerCase() ?? "";
      return {
        key: `${key}:${repo}`,
        contentKey: key,
        perHour: limits.actionsTokenPerHour,
        who: `user ID ${user.id}`,
      };
    }
    return { key, contentKey: key, perHour: limits.userPerHour, who: `user ID ${user.id}` };
  };

  /** Seconds until the content window has room again, or undefined when it has room now. */
  const contentRefusal = (times: number[], now: number): number | undefined => {
    const inMinute = times.filter((t) => t > now - MINUTE);
    if (inMinute.length >= limits.contentPerMinute) {
      const oldest = inMinute[inMinute.length - limits.contentPerMinute] ?? now;
      return Math.max(1, Math.ceil((oldest + MINUTE - now) / 1000));
    }
    if (times.length >= limits.contentPerHour) {
      const oldest = times[times.length - limits.contentPerHour] ?? now;
      return Math.max(1, Math.ceil((oldest + HOUR - now) / 1000));
    }
    return undefined;
  };

  const json = (status: number, headers: Record<string, string>, body: unknown): SandboxResponse => ({
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body,
  });

  return {
    admit(req) {
      graphqlNow = undefined;
      const method = req.method.toUpperCase();
      const url = new URL(req.path, "http://sandbox");
      const pathname = url.pathname.replace(/^\/api\/v3(?=\/|$)/, "") || "/";
      if (pathname.startsWith("/_sandbox/")) return { headers: {} }; // the stand-in's own download URLs
      const client = clientOf(req.authorization, pathname);
      if (!client) return { headers: {} }; // the App's JWT, or a token GitHub refuses with 401
      const now = state.clock().getTime();
      const isGraphQL = method === "POST" && (pathname === "/graphql" || pathname === "/api/graphql");
      if (isGraphQL && !client.contentKey) return { headers: {} }; // GraphQL refuses anonymous requests

      if (method === "GET" && pathname === "/rate_limit") {
        const core = statusOf(windowOf(client, "core", now));
        const graphql = statusOf(windowOf(client, "graphql", now));
        // Search is not served by the stand-in: its budget (30 a minute, 10 unauthenticated) stays full.
        const searchLimit = client.contentKey ? 30 : 10;
        const search = {
          limit: searchLimit,
          remaining: searchLimit,
          used: 0,
          reset: Math.ceil((now + MINUTE) / 1000),
        };
        return {
          headers: {},
          response: json(200, headersOf(windowOf(client, "core", now), "core"), {
            resources: { core, graphql, search },
            rate: core,
          }),
        };
      }

      const operation = isGraphQL ? graphqlOperation(req.body) : undefined;
      const resource: Resource = isGraphQL ? "graphql" : "core";
      const cost = operation?.cost ?? 1;
      const w = windowOf(client, resource, now);
      if (w.used + cost > w.limit) {
        const message = `API rate limit exceeded for ${client.who}.`;
        const headers = { ...headersOf(w, resource), "x-ratelimit-remaining": "0" };
        if (isGraphQL)
          return {
            headers,
            response: json(
              200,
              {},
              { errors: [{ type: "RATE_LIMITED", code: "graphql_rate_limit", message }] },
            ),
          };
        const extra = client.contentKey
          ? ""
          : " (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)";
        return {
          headers,
          response: json(403, {}, { message: message + extra, documentation_url: DOCS, status: "403" }),
        };
      }
      w.used += cost;
      const headers = headersOf(w, resource);
      if (isGraphQL) graphqlNow = { ...statusOf(w), cost };

      const creates = isGraphQL ? operation?.mutation === true : !["GET", "HEAD", "OPTIONS"].includes(method);
      if (creates && client.contentKey) {
        const times = (content.get(client.contentKey) ?? []).filter((t) => t > now - HOUR);
        content.set(client.contentKey, times);
        const retryAfter = contentRefusal(times, now);
        if (retryAfter !== undefined) {
          graphqlNow = undefined;
          return {
            headers,
            response: json(
              403,
              { "retry-after": String(retryAfter) },
              { message: SECONDARY_LIMIT_MESSAGE, documentation_url: `${DOCS}#about-secondary-rate-limits` },
            ),
          };
        }
        times.push(now);
      }
      return { headers };
    },
  };
}

/**
 * A GraphQL request's points and whether it is a mutation. Points follow "Predicting the point value of a query":
 * each connection (a field given `first` or `last`) costs one request per parent node it may be fetched for, the sum
 * divided by 100 and rounded, at least 1.
 */
export function graphqlOperation(body: unknown): { cost: number; mutation: boolean } {
  const request = (body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  let document: DocumentNode;
  try {
    document = parse(String(request.query ?? ""));
  } catch {
    return { cost: 1, mutation: false };
  }
  const name = typeof request.operationName === "string" ? request.operationName : undefined;
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION && (!name || d.name?.value === name),
  );
  if (!operation) return { cost: 1, mutation: false };
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((f) => [f.name.value, f]),
  );
  const variables = (request.variables ?? {}) as Record<string, unknown>;
  let requests = 0;
  const walk = (set: SelectionSetNode | undefined, parents: number, seen: ReadonlySet<string>): void => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) {
        const size = pageSize(s.arguments ?? [], variables);
        if (size === undefined) walk(s.selectionSet, parents, seen);
        else {
          requests += parents;
          walk(s.selectionSet, parents * size, seen);
        }
      } else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet, parents, seen);
      else if (!seen.has(s.name.value))
        walk(fragments.get(s.name.value)?.selectionSet, parents, new Set([...seen, s.name.value]));
    }
  };
  walk(operation.selectionSet, 1, new Set());
  return { cost: Math.max(1, Math.round(requests / 100)), mutation: operation.operation === "mutation" };
}

function pageSize(args: readonly ArgumentNode[], variables: Record<string, unknown>): number | undefined {
  for (const a of args) {
    if (a.name.value !== "first" && a.name.value !== "last") continue;
    const v = a.value;
    if (v.kind === Kind.INT) return Number(v.value);
    if (v.kind === Kind.VARIABLE) {
      const given = variables[v.name.value];
      if (typeof given === "number") return given;
    }
  }
  return undefined;
}
