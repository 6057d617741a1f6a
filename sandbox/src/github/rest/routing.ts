import type { Actor, GitHubState, Issue, Repository } from "../state.js";
import { fullName, getRepo } from "../state.js";
import { SandboxError } from "../errors.js";

/**
 * The REST stand-in's plumbing: the request every route handler gets, the route table the areas add to, and
 * the helpers they share (look-ups, body checks, errors, pagination).
 */

export interface SandboxRequest {
  method: string;
  /** Path with optional query string; an `/api/v3` prefix (GitHub Enterprise style) is accepted. */
  path: string;
  headers?: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or the raw text (parsed here), or undefined. */
  body?: unknown;
}

export interface SandboxResponse {
  status: number;
  headers: Record<string, string>;
  /** A JSON value, raw bytes (downloads) or undefined (204). */
  body: unknown;
}

export const DOCS = "https://docs.github.com/rest";

export interface Ctx {
  state: GitHubState;
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  actor: Actor;
  /** Who the request acts as: a user login or the App's bot. */
  login: string;
  /** Absolute base for Link headers and redirects, e.g. http://127.0.0.1:3000/api/v3. */
  base: string;
}

type Result = SandboxResponse | Promise<SandboxResponse>;
export type RouteHandler = (ctx: Ctx) => Result;

export const json = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): SandboxResponse => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8", ...headers },
  body,
});

export const notFound = (message = "Not Found"): SandboxResponse =>
  json(404, { message, documentation_url: DOCS, status: "404" });

export function errorResponse(error: SandboxError): SandboxResponse {
  if (error.status === 404) return notFound(error.message);
  return json(error.status, {
    message: error.message,
    ...(error.errors ? { errors: error.errors } : {}),
    documentation_url: DOCS,
    status: String(error.status),
  });
}

export const invalid = (resource: string, field: string, code = "invalid", message?: string): SandboxError =>
  new SandboxError(422, "Validation Failed", [{ resource, field, code, ...(message ? { message } : {}) }]);

// ---------------------------------------------------------------------------------------------------------------
// Routing

export const routes: { method: string; pattern: RegExp; keys: string[]; handler: RouteHandler }[] = [];

export function route(spec: string, handler: RouteHandler): void {
  const [method, template] = spec.split(" ") as [string, string];
  const keys: string[] = [];
  const source = template.replace(/\{(\w+)\}/g, (_m, key: string) => {
    keys.push(key);
    return key === "path" ? "(.*)" : "([^/]+)";
  });
  routes.push({ method, pattern: new RegExp(`^${source}$`), keys, handler });
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

export function repoOf(ctx: Ctx): Repository {
  const repo = getRepo(ctx.state, ctx.params["owner"] ?? "", ctx.params["repo"] ?? "");
  if (!repo) throw new SandboxError(404, "Not Found");
  if (ctx.actor.kind === "installation") {
    const inst = ctx.state.installations.get(ctx.actor.installationId);
    if (!inst?.repos.some((r) => r.toLowerCase() === fullName(repo).toLowerCase()))
      throw new SandboxError(404, "Not Found");
  }
  if (ctx.actor.kind === "anonymous" && repo.private) throw new SandboxError(404, "Not Found");
  return repo;
}

export function issueOf(ctx: Ctx, repo: Repository, key = "issue_number"): Issue {
  const issue = repo.issues.get(Number(ctx.params[key]));
  if (!issue) throw new SandboxError(404, "Not Found");
  return issue;
}

export function pullOf(ctx: Ctx, repo: Repository): Issue {
  const pr = repo.issues.get(Number(ctx.params["pull_number"]));
  if (!pr?.pull) throw new SandboxError(404, "Not Found");
  return pr;
}

export function str(ctx: Ctx, key: string, resource: string, required = false): string | undefined {
  const v = ctx.body[key];
  if (v === undefined || v === null) {
    if (required) throw invalid(resource, key, "missing_field");
    return undefined;
  }
  if (typeof v !== "string") throw invalid(resource, key, "invalid", `${key} must be a string`);
  return v;
}

export function int(ctx: Ctx, key: string, resource: string): number {
  const v = ctx.body[key];
  if (typeof v !== "number" || !Number.isInteger(v))
    throw invalid(resource, key, "invalid", `${key} must be an integer`);
  return v;
}

export function oneOf<T extends string>(
  ctx: Ctx,
  key: string,
  resource: string,
  values: readonly T[],
): T | undefined {
  const v = str(ctx, key, resource);
  if (v === undefined) return undefined;
  if (!values.includes(v as T))
    throw invalid(resource, key, "invalid", `${key} must be one of: ${values.join(", ")}`);
  return v as T;
}

export function stringList(ctx: Ctx, key: string, resource: string): string[] | undefined {
  const v = ctx.body[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalid(resource, key);
  return v.map((x: unknown) => {
    if (typeof x === "string") return x;
    if (typeof x === "object" && x !== null && typeof (x as { name?: unknown }).name === "string")
      return (x as { name: string }).name;
    throw invalid(resource, key);
  });
}

export const requireWrite = (ctx: Ctx): void => {
  if (ctx.actor.kind === "anonymous") throw new SandboxError(401, "Requires authentication");
};

/** `per_page`/`page` pagination with GitHub's Link header. */
export function page(
  ctx: Ctx,
  items: unknown[],
  wrap?: (slice: unknown[]) => Record<string, unknown>,
): SandboxResponse {
  const perPage = Math.min(100, Math.max(1, Number(ctx.query.get("per_page") ?? 30) || 30));
  const pageNo = Math.max(1, Number(ctx.query.get("page") ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((pageNo - 1) * perPage, pageNo * perPage);
  const link = (n: number, rel: string) => {
    const q = new URLSearchParams(ctx.query);
    q.set("page", String(n));
    q.set("per_page", String(perPage));
    const path = currentPath(ctx);
    return `<${ctx.base}${path}?${q.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (pageNo < last) links.push(link(pageNo + 1, "next"), link(last, "last"));
  if (pageNo > 1) links.push(link(1, "first"), link(pageNo - 1, "prev"));
  return json(200, wrap ? wrap(slice) : slice, links.length ? { link: links.join(", ") } : {});
}

// The route's own path is rebuilt from the params so Link headers point back to it.
const pathOf = new WeakMap<Ctx, string>();
function currentPath(ctx: Ctx): string {
  return pathOf.get(ctx) ?? "";
}
function withPath(template: string, handler: RouteHandler): RouteHandler {
  return (ctx) => {
    pathOf.set(
      ctx,
      template.replace(/\{(\w+)\}/g, (_m, k: string) =>
        k === "path" ? (ctx.params[k] ?? "") : encodeURIComponent(ctx.params[k] ?? ""),
      ),
    );
    return handler(ctx);
  };
}
export function listRoute(spec: string, handler: RouteHandler): void {
  route(spec, withPath(spec.split(" ")[1] ?? "", handler));
}
