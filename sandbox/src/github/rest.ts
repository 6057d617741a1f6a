import type { Actor, GitHubState } from "./state.js";
import { botLogin, now } from "./state.js";
import { SandboxError } from "./errors.js";
import { matchOperation, requestProblems } from "./openapi.js";
import { handleGraphQLAsync } from "./graphql.js";
import type { Ctx, SandboxRequest, SandboxResponse } from "./rest/routing.js";
import { DOCS, errorResponse, json, notFound, routes } from "./rest/routing.js";
// Each area adds its routes to the table as it loads; a request goes to the first route that matches.
import "./rest/accounts.js";
import "./rest/hook-deliveries.js";
import "./rest/repos.js";
import "./rest/issues.js";
import "./rest/comments.js";
import "./rest/sub-issues.js";
import "./rest/checks.js";
import { downloadBlob } from "./rest/actions.js";
import "./rest/pulls.js";

export type { SandboxRequest, SandboxResponse } from "./rest/routing.js";
export { notFound };

/** Serves one request the way GitHub's REST API (and GraphQL endpoint) would. */
export async function handleRequest(state: GitHubState, req: SandboxRequest): Promise<SandboxResponse> {
  const method = req.method.toUpperCase();
  const url = new URL(req.path, "http://sandbox");
  const prefixed = url.pathname.startsWith("/api/v3/") || url.pathname === "/api/v3";
  const pathname = prefixed ? url.pathname.slice("/api/v3".length) || "/" : url.pathname;
  const host = header(req.headers, "host") ?? "127.0.0.1";
  const base = `http://${host}${prefixed ? "/api/v3" : ""}`;

  let body: unknown = req.body;
  if (typeof body === "string" || body instanceof Uint8Array) {
    const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
    if (text.trim() === "") body = undefined;
    else
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        return json(400, { message: "Problems parsing JSON", documentation_url: DOCS, status: "400" });
      }
  }

  const actor = authenticate(state, header(req.headers, "authorization"));
  if (!actor) return json(401, { message: "Bad credentials", documentation_url: DOCS, status: "401" });

  try {
    if (method === "POST" && (pathname === "/graphql" || pathname === "/api/graphql")) {
      if (actor.kind === "anonymous" || actor.kind === "app")
        return json(401, {
          message: "This endpoint requires you to be authenticated.",
          documentation_url: DOCS,
        });
      return json(200, await handleGraphQLAsync(state, body, loginOf(state, actor), actor));
    }
    const blob = /^\/_sandbox\/artifacts\/(\d+)\.zip$/.exec(pathname);
    if (blob && method === "GET") return downloadBlob(state, Number(blob[1]));

    const decoded = pathname.split("/").map(safeDecode).join("/");
    // Matched as sent, each parameter decoded after: GitHub takes a branch name with an encoded slash
    // (`branches/trellis%2F1-fix`, as Octokit sends `{branch}`) as one parameter.
    const found = routes
      .filter((r) => r.method === method)
      .map((r) => ({ r, m: r.pattern.exec(pathname) }))
      .find((x) => x.m);
    if (!found?.m) {
      const op = matchOperation(method, pathname);
      return notFound(op ? `Not Found (the sandbox does not implement ${op.id})` : "Not Found");
    }
    const problems = requestProblems(method, pathname + url.search, body);
    if (problems.length > 0)
      return json(422, {
        message: `Invalid request.\n\n${problems.join("\n")}`,
        documentation_url: DOCS,
        status: "422",
      });
    if (body !== undefined && (typeof body !== "object" || body === null || Array.isArray(body)))
      return json(422, {
        message: "Invalid request.\n\nBody must be a JSON object.",
        documentation_url: DOCS,
      });

    const params: Record<string, string> = {};
    found.r.keys.forEach((k, i) => (params[k] = safeDecode(found.m?.[i + 1] ?? "")));
    const ctx: Ctx = {
      state,
      method,
      params,
      query: url.searchParams,
      body: (body ?? {}) as Record<string, unknown>,
      actor,
      login: loginOf(state, actor),
      base,
    };
    // App JWTs are for /app routes and the installation look-ups of a repository, org or user.
    const isAppRoute =
      decoded === "/app" ||
      decoded.startsWith("/app/") ||
      /^\/(repos\/[^/]+\/[^/]+|orgs\/[^/]+|users\/[^/]+)\/installation$/.test(decoded);
    if (actor.kind === "app" && !isAppRoute)
      return json(401, {
        message: "A JSON web token could not be decoded (only /app routes accept an App JWT)",
        documentation_url: DOCS,
      });
    if (actor.kind !== "app" && isAppRoute)
      return json(401, {
        message: "A JSON web token could not be decoded",
        documentation_url: DOCS,
        status: "401",
      });
    if (actor.kind === "anonymous" && method !== "GET")
      return json(401, { message: "Requires authentication", documentation_url: DOCS, status: "401" });
    return await found.r.handler(ctx);
  } catch (error) {
    if (error instanceof SandboxError) return errorResponse(error);
    throw error;
  }
}

function header(headers: SandboxRequest["headers"], name: string): string | undefined {
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers))
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `Bearer <JWT>` → the App; installation and user tokens from the state; no header → anonymous. */
function authenticate(state: GitHubState, authorization: string | undefined): Actor | undefined {
  if (!authorization) return { kind: "anonymous" };
  const token = authorization.replace(/^(?:token|bearer)\s+/i, "").trim();
  if (/^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(token)) return { kind: "app" };
  const known = state.tokens.get(token);
  if (!known) return undefined;
  if (known.expiresAt && known.expiresAt < now(state)) return undefined;
  return known;
}

function loginOf(state: GitHubState, actor: Actor): string {
  if (actor.kind === "user") return actor.login;
  if (actor.kind === "installation" || actor.kind === "app") return botLogin(state);
  return "ghost";
}
