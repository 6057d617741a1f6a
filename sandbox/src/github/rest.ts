import type { Actor, Annotation, GitHubState, Issue, ReactionContent, Repository, Role } from "./state.js";
import { botLogin, findIssueById, fullName, getRepo, now, roleOf } from "./state.js";
import {
  addBlockedBy,
  addComment,
  addLabels,
  addSubIssue,
  createCheckRun,
  createIssue,
  checkRunCompleted,
  cancelWorkflowRun,
  dispatchWorkflow,
  editComment,
  editIssue,
  mergePullRequest,
  openPullRequest,
  react,
  removeLabel,
  SandboxError,
  setIssueState,
} from "./mutations.js";
import {
  appJson,
  artifactJson,
  authenticatedAppJson,
  checkRunJson,
  commentJson,
  fullRepoJson,
  installationJson,
  issueJson,
  labelJson,
  pullJson,
  reactionJson,
  repoJson,
  userJson,
  workflowJson,
  workflowRunJson,
} from "./shapes.js";
import { matchOperation, requestProblems } from "./openapi.js";
import { handleGraphQL } from "./graphql.js";
import { workflowConcurrency } from "./concurrency.js";

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

const DOCS = "https://docs.github.com/rest";

interface Ctx {
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
type RouteHandler = (ctx: Ctx) => Result;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): SandboxResponse => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8", ...headers },
  body,
});

export const notFound = (message = "Not Found"): SandboxResponse =>
  json(404, { message, documentation_url: DOCS, status: "404" });

function errorResponse(error: SandboxError): SandboxResponse {
  if (error.status === 404) return notFound(error.message);
  return json(error.status, {
    message: error.message,
    ...(error.errors ? { errors: error.errors } : {}),
    documentation_url: DOCS,
    status: String(error.status),
  });
}

const invalid = (resource: string, field: string, code = "invalid", message?: string): SandboxError =>
  new SandboxError(422, "Validation Failed", [{ resource, field, code, ...(message ? { message } : {}) }]);

/**
 * GitHub's text limits.
 * - An issue's or a comment's body: 65,536 characters. GitHub answers 422 Validation Failed with
 *   `{ resource: "IssueComment", code: "unprocessable", field: "data", message: "Body is too long (maximum is 65536
 *   characters)" }` (as reported from "Create an issue comment" / "Update an issue comment", e.g.
 *   reg-viz/reg-actions#123, vebr/jest-lcov-reporter#14), and for an issue `{ resource: "Issue", field: "body",
 *   code: "custom", message: "body is too long (maximum is 65536 characters)" }` (trstringer/manual-approval#89).
 * - A check run's `output.summary` and `output.text`: "**Maximum length**: 65535 characters"; `output.annotations`:
 *   "a maximum of 50 per API request" (REST docs, "Create a check run" / "Update a check run",
 *   https://docs.github.com/rest/checks/runs). No maximum is documented for `output.title`.
 * GitHub counts characters (code points), not UTF-16 units: an emoji is one.
 */
const MAX_BODY_CHARS = 65_536;
const MAX_CHECK_OUTPUT_CHARS = 65_535;
const MAX_ANNOTATIONS_PER_REQUEST = 50;

/** Whether `text` has more than `max` characters; counts code points only when UTF-16 units say it might. */
const longerThan = (text: string, max: number): boolean => text.length > max && [...text].length > max;

const commentBodyTooLong = (): SandboxError =>
  new SandboxError(422, "Validation Failed", [
    {
      resource: "IssueComment",
      code: "unprocessable",
      field: "data",
      message: `Body is too long (maximum is ${MAX_BODY_CHARS} characters)`,
    },
  ]);
const issueBodyTooLong = (): SandboxError =>
  invalid("Issue", "body", "custom", `body is too long (maximum is ${MAX_BODY_CHARS} characters)`);

// ---------------------------------------------------------------------------------------------------------------
// Routing

const routes: { method: string; pattern: RegExp; keys: string[]; handler: RouteHandler }[] = [];

function route(spec: string, handler: RouteHandler): void {
  const [method, template] = spec.split(" ") as [string, string];
  const keys: string[] = [];
  const source = template.replace(/\{(\w+)\}/g, (_m, key: string) => {
    keys.push(key);
    return key === "path" ? "(.*)" : "([^/]+)";
  });
  routes.push({ method, pattern: new RegExp(`^${source}$`), keys, handler });
}

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
      return json(200, handleGraphQL(state, body, loginOf(state, actor)));
    }
    const blob = /^\/_sandbox\/artifacts\/(\d+)\.zip$/.exec(pathname);
    if (blob && method === "GET") return downloadBlob(state, Number(blob[1]));

    const decoded = pathname.split("/").map(safeDecode).join("/");
    const found = routes
      .filter((r) => r.method === method)
      .map((r) => ({ r, m: r.pattern.exec(decoded) }))
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
    found.r.keys.forEach((k, i) => (params[k] = found.m?.[i + 1] ?? ""));
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

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function repoOf(ctx: Ctx): Repository {
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

function issueOf(ctx: Ctx, repo: Repository, key = "issue_number"): Issue {
  const issue = repo.issues.get(Number(ctx.params[key]));
  if (!issue) throw new SandboxError(404, "Not Found");
  return issue;
}

function pullOf(ctx: Ctx, repo: Repository): Issue {
  const pr = repo.issues.get(Number(ctx.params["pull_number"]));
  if (!pr?.pull) throw new SandboxError(404, "Not Found");
  return pr;
}

function str(ctx: Ctx, key: string, resource: string, required = false): string | undefined {
  const v = ctx.body[key];
  if (v === undefined || v === null) {
    if (required) throw invalid(resource, key, "missing_field");
    return undefined;
  }
  if (typeof v !== "string") throw invalid(resource, key, "invalid", `${key} must be a string`);
  return v;
}

function int(ctx: Ctx, key: string, resource: string): number {
  const v = ctx.body[key];
  if (typeof v !== "number" || !Number.isInteger(v))
    throw invalid(resource, key, "invalid", `${key} must be an integer`);
  return v;
}

function oneOf<T extends string>(
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

function stringList(ctx: Ctx, key: string, resource: string): string[] | undefined {
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

const requireWrite = (ctx: Ctx): void => {
  if (ctx.actor.kind === "anonymous") throw new SandboxError(401, "Requires authentication");
};

/** `per_page`/`page` pagination with GitHub's Link header. */
function page(
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
function listRoute(spec: string, handler: RouteHandler): void {
  route(spec, withPath(spec.split(" ")[1] ?? "", handler));
}

// ---------------------------------------------------------------------------------------------------------------
// The App and installations

route("GET /app", (ctx) => json(200, authenticatedAppJson(ctx.state)));

listRoute("GET /app/installations", (ctx) =>
  page(
    ctx,
    [...ctx.state.installations.values()].map((i) => installationJson(ctx.state, i)),
  ),
);

route("GET /app/installations/{installation_id}", (ctx) => {
  const i = ctx.state.installations.get(Number(ctx.params["installation_id"]));
  return i ? json(200, installationJson(ctx.state, i)) : notFound();
});

route("POST /app/installations/{installation_id}/access_tokens", (ctx) => {
  const i = ctx.state.installations.get(Number(ctx.params["installation_id"]));
  if (!i) return notFound();
  const token = `ghs_sandbox${ctx.state.nextId++}x${i.id}`;
  const expiresAt = new Date(ctx.state.clock().getTime() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  ctx.state.tokens.set(token, { kind: "installation", installationId: i.id, expiresAt });
  const repos = i.repos.flatMap((n) => {
    const [o = "", r = ""] = n.split("/");
    const repo = getRepo(ctx.state, o, r);
    return repo ? [repoJson(ctx.state, repo)] : [];
  });
  return json(201, {
    token,
    expires_at: expiresAt,
    permissions: appJson(ctx.state)["permissions"],
    repository_selection: "selected",
    repositories: repos,
  });
});

route("GET /repos/{owner}/{repo}/installation", (ctx) => {
  const repo = getRepo(ctx.state, ctx.params["owner"] ?? "", ctx.params["repo"] ?? "");
  const name = repo ? fullName(repo).toLowerCase() : "";
  const i = [...ctx.state.installations.values()].find((x) => x.repos.some((r) => r.toLowerCase() === name));
  return i ? json(200, installationJson(ctx.state, i)) : notFound();
});

// ---------------------------------------------------------------------------------------------------------------
// Repositories, branches, contents, collaborators

route("GET /repos/{owner}/{repo}", (ctx) => json(200, fullRepoJson(ctx.state, repoOf(ctx))));

route("GET /repos/{owner}/{repo}/branches/{branch}", async (ctx) => {
  const repo = repoOf(ctx);
  const branch = ctx.params["branch"] ?? "";
  const sha = (await repo.backend.branches()).get(branch);
  if (!sha) throw new SandboxError(404, "Branch not found");
  return json(200, {
    name: branch,
    commit: await commitJson(ctx, repo, sha),
    _links: {
      self: `${ctx.state.apiBase}/repos/${fullName(repo)}/branches/${branch}`,
      html: `${ctx.state.htmlBase}/${fullName(repo)}/tree/${branch}`,
    },
    protected: false,
    // An unprotected branch (GitHub's `branch-with-protection` always carries both).
    protection: { enabled: false },
    protection_url: `${ctx.state.apiBase}/repos/${fullName(repo)}/branches/${branch}/protection`,
  });
});

listRoute("GET /repos/{owner}/{repo}/branches", async (ctx) => {
  const repo = repoOf(ctx);
  const all = [...(await repo.backend.branches())].sort(([a], [b]) => a.localeCompare(b));
  return page(
    ctx,
    all.map(([name, sha]) => ({
      name,
      commit: { sha, url: `${ctx.state.apiBase}/repos/${fullName(repo)}/commits/${sha}` },
      protected: false,
    })),
  );
});

route("GET /repos/{owner}/{repo}/commits/{ref}", async (ctx) => {
  const repo = repoOf(ctx);
  const sha = await repo.backend.resolve(ctx.params["ref"] ?? "");
  if (!sha) throw new SandboxError(422, `No commit found for SHA: ${ctx.params["ref"]}`);
  return json(200, await commitJson(ctx, repo, sha));
});

route("GET /repos/{owner}/{repo}/git/ref/{ref}", async (ctx) => {
  const repo = repoOf(ctx);
  const ref = ctx.params["ref"] ?? "";
  const branch = ref.replace(/^heads\//, "");
  const sha = ref.startsWith("heads/") ? (await repo.backend.branches()).get(branch) : undefined;
  if (!sha) throw new SandboxError(404, "Not Found");
  return json(200, {
    ref: `refs/${ref}`,
    node_id: `REF_${Buffer.from(ref).toString("base64url")}`,
    url: `${ctx.state.apiBase}/repos/${fullName(repo)}/git/refs/${ref}`,
    object: { sha, type: "commit", url: `${ctx.state.apiBase}/repos/${fullName(repo)}/git/commits/${sha}` },
  });
});

async function commitJson(ctx: Ctx, repo: Repository, sha: string): Promise<Record<string, unknown>> {
  const c = await repo.backend.commit(sha);
  if (!c) throw new SandboxError(404, "Not Found");
  const api = `${ctx.state.apiBase}/repos/${fullName(repo)}`;
  return {
    sha,
    node_id: `C_${Buffer.from(sha).toString("base64url").slice(0, 20)}`,
    commit: {
      author: { ...c.author, date: c.date },
      committer: { ...c.author, date: c.date },
      message: c.message,
      tree: { sha, url: `${api}/git/trees/${sha}` },
      url: `${api}/git/commits/${sha}`,
      comment_count: 0,
    },
    url: `${api}/commits/${sha}`,
    html_url: `${ctx.state.htmlBase}/${fullName(repo)}/commit/${sha}`,
    comments_url: `${api}/commits/${sha}/comments`,
    parents: c.parents.map((p) => ({ sha: p, url: `${api}/commits/${p}` })),
    author: null,
    committer: null,
  };
}

route("GET /repos/{owner}/{repo}/contents/{path}", async (ctx) => {
  const repo = repoOf(ctx);
  const ref = ctx.query.get("ref") ?? repo.defaultBranch;
  const sha = await repo.backend.resolve(ref);
  if (!sha) throw new SandboxError(404, `No commit found for the ref ${ref}`);
  const path = (ctx.params["path"] ?? "").replace(/\/+$/, "");
  const item = await repo.backend.read(sha, path);
  if (!item) throw new SandboxError(404, "Not Found");
  const api = `${ctx.state.apiBase}/repos/${fullName(repo)}`;
  const entry = (p: string, type: "file" | "dir", blob: string, size: number) => ({
    name: p.split("/").pop() ?? p,
    path: p,
    sha: blob,
    size,
    url: `${api}/contents/${p}?ref=${encodeURIComponent(ref)}`,
    html_url: `${ctx.state.htmlBase}/${fullName(repo)}/${type === "dir" ? "tree" : "blob"}/${ref}/${p}`,
    git_url: `${api}/git/${type === "dir" ? "trees" : "blobs"}/${blob}`,
    download_url: type === "file" ? `${ctx.state.htmlBase}/${fullName(repo)}/raw/${ref}/${p}` : null,
    type,
    _links: {
      self: `${api}/contents/${p}?ref=${encodeURIComponent(ref)}`,
      git: `${api}/git/${type === "dir" ? "trees" : "blobs"}/${blob}`,
      html: `${ctx.state.htmlBase}/${fullName(repo)}/${type === "dir" ? "tree" : "blob"}/${ref}/${p}`,
    },
  });
  if (item.type === "dir")
    return json(
      200,
      item.entries
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((e) => entry(e.path, e.type, e.sha, e.size)),
    );
  return json(200, {
    ...entry(item.path, "file", item.sha, item.content.byteLength),
    content: item.content.toString("base64").replace(/(.{60})/g, "$1\n"),
    encoding: "base64",
  });
});

route("GET /repos/{owner}/{repo}/collaborators/{username}/permission", (ctx) => {
  const repo = repoOf(ctx);
  const username = ctx.params["username"] ?? "";
  if (!ctx.state.users.has(username.toLowerCase())) throw new SandboxError(404, "Not Found");
  const role = roleOf(ctx.state, repo, username);
  if (role === "none") throw new SandboxError(404, `${username} is not a user`); // GitHub: 404 for non-collaborators of private repos
  const permission: Record<Role, string> = {
    admin: "admin",
    maintain: "write",
    write: "write",
    triage: "read",
    read: "read",
  };
  return json(200, {
    permission: permission[role],
    role_name: role,
    user: {
      ...userJson(ctx.state, username),
      role_name: role,
      permissions: { admin: role === "admin", push: permission[role] !== "read", pull: true },
    },
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Labels

listRoute("GET /repos/{owner}/{repo}/labels", (ctx) => {
  const repo = repoOf(ctx);
  return page(
    ctx,
    [...repo.labels.values()].map((l) => labelJson(ctx.state, repo, l)),
  );
});

route("GET /repos/{owner}/{repo}/labels/{name}", (ctx) => {
  const repo = repoOf(ctx);
  const l = repo.labels.get((ctx.params["name"] ?? "").toLowerCase());
  return l ? json(200, labelJson(ctx.state, repo, l)) : notFound();
});

route("POST /repos/{owner}/{repo}/labels", (ctx) => {
  const repo = repoOf(ctx);
  const name = str(ctx, "name", "Label", true) ?? "";
  if (repo.labels.has(name.toLowerCase())) throw invalid("Label", "name", "already_exists");
  const color = str(ctx, "color", "Label") ?? "ededed";
  if (!/^[0-9a-fA-F]{6}$/.test(color)) throw invalid("Label", "color");
  const label = {
    id: ctx.state.nextId++,
    name,
    color,
    description: str(ctx, "description", "Label") ?? null,
  };
  repo.labels.set(name.toLowerCase(), label);
  return json(201, labelJson(ctx.state, repo, label));
});

// ---------------------------------------------------------------------------------------------------------------
// Issues

listRoute("GET /repos/{owner}/{repo}/issues", (ctx) => {
  const repo = repoOf(ctx);
  const state = ctx.query.get("state") ?? "open";
  const labels = (ctx.query.get("labels") ?? "")
    .split(",")
    .filter(Boolean)
    .map((l) => l.toLowerCase());
  const sort = ctx.query.get("sort") ?? "created";
  const asc = ctx.query.get("direction") === "asc";
  const key = (i: Issue) => (sort === "updated" ? i.updatedAt : i.createdAt);
  const list = [...repo.issues.values()]
    .filter((i) => state === "all" || i.state === state)
    .filter((i) => labels.every((l) => i.labels.some((x) => x.toLowerCase() === l)))
    .sort((a, b) => (key(a) === key(b) ? a.number - b.number : key(a) < key(b) ? -1 : 1) * (asc ? 1 : -1));
  return page(
    ctx,
    list.map((i) => issueJson(ctx.state, repo, i)),
  );
});

route("POST /repos/{owner}/{repo}/issues", (ctx) => {
  requireWrite(ctx);
  const repo = repoOf(ctx);
  const title = ctx.body["title"];
  if (title === undefined || title === null || String(title).trim() === "")
    throw invalid("Issue", "title", "missing_field");
  if (String(title).length > 256)
    throw invalid("Issue", "title", "custom", "title is too long (maximum is 256 characters)");
  const body = str(ctx, "body", "Issue");
  if (body && longerThan(body, MAX_BODY_CHARS)) throw issueBodyTooLong();
  const issue = createIssue(ctx.state, repo, {
    title: String(title),
    body: body ?? null,
    labels: stringList(ctx, "labels", "Issue") ?? [],
    user: ctx.login,
  });
  return json(201, issueJson(ctx.state, repo, issue));
});

route("GET /repos/{owner}/{repo}/issues/{issue_number}", (ctx) => {
  const repo = repoOf(ctx);
  return json(200, issueJson(ctx.state, repo, issueOf(ctx, repo)));
});

route("PATCH /repos/{owner}/{repo}/issues/{issue_number}", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  const title = str(ctx, "title", "Issue");
  const body = "body" in ctx.body ? (str(ctx, "body", "Issue") ?? null) : undefined;
  if (body && longerThan(body, MAX_BODY_CHARS)) throw issueBodyTooLong();
  editIssue(
    ctx.state,
    repo,
    issue,
    { ...(title !== undefined ? { title } : {}), ...(body !== undefined ? { body } : {}) },
    ctx.login,
  );
  const labels = stringList(ctx, "labels", "Issue");
  if (labels) setLabels(ctx, repo, issue, labels);
  const next = oneOf(ctx, "state", "Issue", ["open", "closed"] as const);
  const reason = oneOf(ctx, "state_reason", "Issue", ["completed", "not_planned", "reopened"] as const);
  if (next) setIssueState(ctx.state, repo, issue, next, ctx.login, reason === "reopened" ? null : reason);
  return json(200, issueJson(ctx.state, repo, issue));
});

function setLabels(ctx: Ctx, repo: Repository, issue: Issue, names: string[]): void {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  for (const l of [...issue.labels])
    if (!wanted.has(l.toLowerCase())) removeLabel(ctx.state, repo, issue, l, ctx.login);
  addLabels(ctx.state, repo, issue, names, ctx.login);
}

listRoute("GET /repos/{owner}/{repo}/issues/{issue_number}/labels", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  return page(
    ctx,
    issue.labels.flatMap((n) => {
      const l = repo.labels.get(n.toLowerCase());
      return l ? [labelJson(ctx.state, repo, l)] : [];
    }),
  );
});

const issueLabelsJson = (ctx: Ctx, repo: Repository, issue: Issue) =>
  issue.labels.flatMap((n) => {
    const l = repo.labels.get(n.toLowerCase());
    return l ? [labelJson(ctx.state, repo, l)] : [];
  });

route("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  const labels = stringList(ctx, "labels", "Label");
  if (!labels || labels.length === 0) throw invalid("Label", "labels", "missing_field");
  addLabels(ctx.state, repo, issue, labels, ctx.login);
  return json(200, issueLabelsJson(ctx, repo, issue));
});

route("PUT /repos/{owner}/{repo}/issues/{issue_number}/labels", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  setLabels(ctx, repo, issue, stringList(ctx, "labels", "Label") ?? []);
  return json(200, issueLabelsJson(ctx, repo, issue));
});

route("DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  removeLabel(ctx.state, repo, issue, ctx.params["name"] ?? "", ctx.login);
  return json(200, issueLabelsJson(ctx, repo, issue));
});

// Comments

listRoute("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  const since = ctx.query.get("since");
  const list = [...repo.comments.values()]
    .filter((c) => c.issueNumber === issue.number && (!since || c.updatedAt >= since))
    .sort((a, b) => a.id - b.id);
  return page(
    ctx,
    list.map((c) => commentJson(ctx.state, repo, c)),
  );
});

route("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  const body = str(ctx, "body", "IssueComment", true) ?? "";
  if (longerThan(body, MAX_BODY_CHARS)) throw commentBodyTooLong();
  const comment = addComment(ctx.state, repo, issue, body, ctx.login, ctx.actor.kind === "installation");
  return json(201, commentJson(ctx.state, repo, comment));
});

function commentOf(ctx: Ctx, repo: Repository) {
  const c = repo.comments.get(Number(ctx.params["comment_id"]));
  if (!c) throw new SandboxError(404, "Not Found");
  return c;
}

route("GET /repos/{owner}/{repo}/issues/comments/{comment_id}", (ctx) => {
  const repo = repoOf(ctx);
  return json(200, commentJson(ctx.state, repo, commentOf(ctx, repo)));
});

route("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", (ctx) => {
  const repo = repoOf(ctx);
  const c = commentOf(ctx, repo);
  const body = str(ctx, "body", "IssueComment", true) ?? "";
  if (longerThan(body, MAX_BODY_CHARS)) throw commentBodyTooLong();
  if (body !== c.body) editComment(ctx.state, repo, c, body, ctx.login);
  return json(200, commentJson(ctx.state, repo, c));
});

route("DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}", (ctx) => {
  const repo = repoOf(ctx);
  repo.comments.delete(commentOf(ctx, repo).id);
  return { status: 204, headers: {}, body: undefined };
});

// Reactions

const REACTIONS = ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"] as const;

function reactionRoutes(
  template: string,
  target: (ctx: Ctx, repo: Repository) => { reactions: Issue["reactions"] },
): void {
  listRoute(`GET ${template}`, (ctx) => {
    const repo = repoOf(ctx);
    const content = ctx.query.get("content");
    const list = target(ctx, repo).reactions.filter((r) => !content || r.content === content);
    return page(
      ctx,
      list.map((r) => reactionJson(ctx.state, r)),
    );
  });
  route(`POST ${template}`, (ctx) => {
    const repo = repoOf(ctx);
    const content = oneOf(ctx, "content", "Reaction", REACTIONS) as ReactionContent | undefined;
    if (!content) throw invalid("Reaction", "content", "missing_field");
    const { reaction, created } = react(ctx.state, target(ctx, repo), content, ctx.login);
    return json(created ? 201 : 200, reactionJson(ctx.state, reaction));
  });
}
reactionRoutes("/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", (ctx, repo) =>
  commentOf(ctx, repo),
);
reactionRoutes("/repos/{owner}/{repo}/issues/{issue_number}/reactions", (ctx, repo) => issueOf(ctx, repo));

// Sub-issues: the body takes the child's REST id (not its number), like GitHub.

listRoute("GET /repos/{owner}/{repo}/issues/{issue_number}/sub_issues", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  return page(
    ctx,
    issue.subIssues.flatMap((id) => {
      const child = findIssueById(repo, id);
      return child ? [issueJson(ctx.state, repo, child)] : [];
    }),
  );
});

route("POST /repos/{owner}/{repo}/issues/{issue_number}/sub_issues", (ctx) => {
  const repo = repoOf(ctx);
  const parent = issueOf(ctx, repo);
  const childId = int(ctx, "sub_issue_id", "SubIssue");
  const child = findIssueById(repo, childId);
  if (!child || child.pull)
    throw invalid("SubIssue", "sub_issue_id", "invalid", "The provided sub-issue does not exist");
  addSubIssue(repo, parent, child, ctx.body["replace_parent"] === true);
  return json(201, issueJson(ctx.state, repo, parent));
});

route("DELETE /repos/{owner}/{repo}/issues/{issue_number}/sub_issue", (ctx) => {
  const repo = repoOf(ctx);
  const parent = issueOf(ctx, repo);
  const childId = int(ctx, "sub_issue_id", "SubIssue");
  const child = findIssueById(repo, childId);
  if (!child || !parent.subIssues.includes(childId)) throw new SandboxError(404, "Not Found");
  parent.subIssues = parent.subIssues.filter((id) => id !== childId);
  child.parentId = null;
  return json(200, issueJson(ctx.state, repo, parent));
});

route("GET /repos/{owner}/{repo}/issues/{issue_number}/parent", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  const parent = issue.parentId !== null ? findIssueById(repo, issue.parentId) : undefined;
  return parent ? json(200, issueJson(ctx.state, repo, parent)) : notFound();
});

// Dependencies ("blocked by"), also by REST id.

listRoute("GET /repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  return page(
    ctx,
    issue.blockedBy.flatMap((id) => {
      const b = findIssueById(repo, id);
      return b ? [issueJson(ctx.state, repo, b)] : [];
    }),
  );
});

listRoute("GET /repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocking", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  return page(
    ctx,
    [...repo.issues.values()]
      .filter((i) => i.blockedBy.includes(issue.id))
      .map((i) => issueJson(ctx.state, repo, i)),
  );
});

route("POST /repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  const blocker = findIssueById(repo, int(ctx, "issue_id", "IssueDependency"));
  if (!blocker) throw invalid("IssueDependency", "issue_id", "invalid", "The blocking issue does not exist");
  addBlockedBy(repo, issue, blocker);
  return json(201, issueJson(ctx.state, repo, blocker));
});

route("DELETE /repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by/{issue_id}", (ctx) => {
  const repo = repoOf(ctx);
  const issue = issueOf(ctx, repo);
  const id = Number(ctx.params["issue_id"]);
  if (!issue.blockedBy.includes(id)) throw new SandboxError(404, "Not Found");
  issue.blockedBy = issue.blockedBy.filter((x) => x !== id);
  const blocker = findIssueById(repo, id);
  return json(200, blocker ? issueJson(ctx.state, repo, blocker) : {});
});

// ---------------------------------------------------------------------------------------------------------------
// Check runs

const CHECK_STATUS = ["queued", "in_progress", "completed", "waiting", "requested", "pending"] as const;
const CONCLUSIONS = [
  "action_required",
  "cancelled",
  "failure",
  "neutral",
  "success",
  "skipped",
  "stale",
  "timed_out",
] as const;

function checkOutput(ctx: Ctx) {
  const o = ctx.body["output"];
  if (o === undefined) return undefined;
  if (typeof o !== "object" || o === null) throw invalid("CheckRun", "output");
  const out = o as Record<string, unknown>;
  if (typeof out["title"] !== "string" || typeof out["summary"] !== "string")
    throw invalid("CheckRun", "output", "missing_field", "output requires title and summary");
  if (longerThan(out["summary"], MAX_CHECK_OUTPUT_CHARS))
    throw invalid(
      "CheckRun",
      "output.summary",
      "custom",
      `summary is too long (maximum is ${MAX_CHECK_OUTPUT_CHARS} characters)`,
    );
  if (typeof out["text"] === "string" && longerThan(out["text"], MAX_CHECK_OUTPUT_CHARS))
    throw invalid(
      "CheckRun",
      "output.text",
      "custom",
      `text is too long (maximum is ${MAX_CHECK_OUTPUT_CHARS} characters)`,
    );
  const annotations = (out["annotations"] ?? []) as Record<string, unknown>[];
  if (!Array.isArray(annotations)) throw invalid("CheckRun", "output.annotations");
  if (annotations.length > MAX_ANNOTATIONS_PER_REQUEST)
    throw invalid(
      "CheckRun",
      "output.annotations",
      "custom",
      `Only ${MAX_ANNOTATIONS_PER_REQUEST} annotations are allowed per request`,
    );
  for (const a of annotations)
    if (
      typeof a["path"] !== "string" ||
      typeof a["start_line"] !== "number" ||
      typeof a["end_line"] !== "number" ||
      !["notice", "warning", "failure"].includes(String(a["annotation_level"])) ||
      typeof a["message"] !== "string"
    )
      throw invalid(
        "CheckRun",
        "output.annotations",
        "invalid",
        "annotations need path, start_line, end_line, annotation_level and message",
      );
  return {
    title: out["title"],
    summary: out["summary"],
    text: typeof out["text"] === "string" ? out["text"] : null,
    annotations: annotations as unknown as Annotation[],
  };
}

route("POST /repos/{owner}/{repo}/check-runs", async (ctx) => {
  const repo = repoOf(ctx);
  if (ctx.actor.kind !== "installation")
    throw new SandboxError(403, "You must authenticate via a GitHub App.");
  const name = str(ctx, "name", "CheckRun", true) ?? "";
  const headSha = str(ctx, "head_sha", "CheckRun", true) ?? "";
  const sha = await repo.backend.resolve(headSha);
  if (!sha || sha !== headSha)
    throw invalid("CheckRun", "head_sha", "invalid", "No commit found for SHA: " + headSha);
  const conclusion = oneOf(ctx, "conclusion", "CheckRun", CONCLUSIONS) ?? null;
  const status = conclusion ? "completed" : (oneOf(ctx, "status", "CheckRun", CHECK_STATUS) ?? "queued");
  if (status === "completed" && !conclusion) throw invalid("CheckRun", "conclusion", "missing_field");
  const output = checkOutput(ctx);
  const run = createCheckRun(ctx.state, repo, {
    name,
    headSha,
    externalId: str(ctx, "external_id", "CheckRun") ?? null,
    status,
    conclusion,
    detailsUrl: str(ctx, "details_url", "CheckRun") ?? null,
    output: { title: output?.title ?? null, summary: output?.summary ?? null, text: output?.text ?? null },
    annotations: output?.annotations ?? [],
    ...(str(ctx, "started_at", "CheckRun") ? { startedAt: str(ctx, "started_at", "CheckRun") } : {}),
  });
  return json(201, checkRunJson(ctx.state, repo, run));
});

function checkRunOf(ctx: Ctx, repo: Repository) {
  const run = repo.checkRuns.get(Number(ctx.params["check_run_id"]));
  if (!run) throw new SandboxError(404, "Not Found");
  return run;
}

route("GET /repos/{owner}/{repo}/check-runs/{check_run_id}", (ctx) => {
  const repo = repoOf(ctx);
  return json(200, checkRunJson(ctx.state, repo, checkRunOf(ctx, repo)));
});

route("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", (ctx) => {
  const repo = repoOf(ctx);
  if (ctx.actor.kind !== "installation")
    throw new SandboxError(403, "You must authenticate via a GitHub App.");
  const run = checkRunOf(ctx, repo);
  const wasCompleted = run.status === "completed";
  const name = str(ctx, "name", "CheckRun");
  if (name) run.name = name;
  const details = str(ctx, "details_url", "CheckRun");
  if (details) run.detailsUrl = details;
  const externalId = str(ctx, "external_id", "CheckRun");
  if (externalId !== undefined) run.externalId = externalId;
  const conclusion = oneOf(ctx, "conclusion", "CheckRun", CONCLUSIONS);
  const status = conclusion ? "completed" : oneOf(ctx, "status", "CheckRun", CHECK_STATUS);
  if (status === "completed" && !conclusion && !run.conclusion)
    throw invalid("CheckRun", "conclusion", "missing_field");
  if (status) run.status = status;
  if (conclusion) run.conclusion = conclusion;
  if (run.status === "completed" && !run.completedAt) run.completedAt = now(ctx.state);
  const output = checkOutput(ctx);
  if (output) {
    run.output = { title: output.title, summary: output.summary, text: output.text ?? run.output.text };
    run.annotations.push(...output.annotations); // GitHub appends annotations on update
  }
  if (!wasCompleted && run.status === "completed") checkRunCompleted(ctx.state, repo, run);
  return json(200, checkRunJson(ctx.state, repo, run));
});

listRoute("GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", (ctx) => {
  const repo = repoOf(ctx);
  const run = checkRunOf(ctx, repo);
  return page(
    ctx,
    run.annotations.map((a) => ({
      path: a.path,
      start_line: a.start_line,
      end_line: a.end_line,
      start_column: a.start_column ?? null,
      end_column: a.end_column ?? null,
      annotation_level: a.annotation_level,
      title: a.title ?? null,
      message: a.message,
      raw_details: a.raw_details ?? null,
      blob_href: `${ctx.state.htmlBase}/${fullName(repo)}/blob/${run.headSha}/${a.path}`,
    })),
  );
});

listRoute("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", async (ctx) => {
  const repo = repoOf(ctx);
  const sha = await repo.backend.resolve(ctx.params["ref"] ?? "");
  if (!sha) throw new SandboxError(422, `No commit found for SHA: ${ctx.params["ref"]}`);
  const name = ctx.query.get("check_name");
  const status = ctx.query.get("status");
  const all = [...repo.checkRuns.values()]
    .filter((r) => r.headSha === sha && (!name || r.name === name) && (!status || r.status === status))
    .sort((a, b) => b.id - a.id);
  // filter=latest (the default) keeps the newest run of each name.
  const runs =
    ctx.query.get("filter") === "all"
      ? all
      : all.filter((r, i) => all.findIndex((x) => x.name === r.name) === i);
  return page(
    ctx,
    runs.map((r) => checkRunJson(ctx.state, repo, r)),
    (slice) => ({ total_count: runs.length, check_runs: slice }),
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Actions: workflows, dispatch, runs, artifacts

function workflowOf(repo: Repository, id: string) {
  for (const w of repo.workflows.values())
    if (String(w.id) === id || w.path === id || w.path.endsWith(`/${id}`)) return w;
  throw new SandboxError(404, "Not Found");
}

listRoute("GET /repos/{owner}/{repo}/actions/workflows", (ctx) => {
  const repo = repoOf(ctx);
  const list = [...repo.workflows.values()].map((w) => workflowJson(ctx.state, repo, w));
  return page(ctx, list, (slice) => ({ total_count: list.length, workflows: slice }));
});

route("GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}", (ctx) => {
  const repo = repoOf(ctx);
  return json(200, workflowJson(ctx.state, repo, workflowOf(repo, ctx.params["workflow_id"] ?? "")));
});

route("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", async (ctx) => {
  const repo = repoOf(ctx);
  const workflow = workflowOf(repo, ctx.params["workflow_id"] ?? "");
  const ref = str(ctx, "ref", "Workflow", true) ?? "";
  const sha = await repo.backend.resolve(ref);
  if (!sha) throw new SandboxError(422, `No ref found for: ${ref}`);
  const inputs = ctx.body["inputs"] ?? {};
  if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs))
    throw invalid("Workflow", "inputs");
  const entries = Object.entries(inputs as Record<string, unknown>);
  if (entries.length > 25)
    throw new SandboxError(422, "you may only define up to 25 `inputs` for a `workflow_dispatch` event");
  const values: Record<string, string> = {};
  for (const [k, v] of entries) values[k] = typeof v === "string" ? v : JSON.stringify(v);
  if (JSON.stringify(values).length > 65_535) throw new SandboxError(422, "inputs are too large");
  // The run uses the workflow file as it is at the dispatched ref, its `concurrency` key included.
  const file = await repo.backend.read(sha, workflow.path);
  const concurrency =
    file?.type === "file"
      ? workflowConcurrency(file.content.toString("utf8"), {
          inputs: values,
          github: {
            workflow: workflow.name,
            ref: ref.startsWith("refs/") ? ref : `refs/heads/${ref}`,
            ref_name: ref.replace(/^refs\/(heads|tags)\//, ""),
            repository: fullName(repo),
            repository_owner: repo.owner,
            event_name: "workflow_dispatch",
            actor: ctx.login,
            sha,
            event: { inputs: values },
          },
        })
      : undefined;
  const run = dispatchWorkflow(ctx.state, repo, workflow.id, {
    ref,
    sha,
    inputs: values,
    actor: ctx.login,
    ...(concurrency ? { concurrency } : {}),
  });
  if (ctx.body["return_run_details"] === true)
    return json(200, {
      workflow_run_id: run.id,
      run_url: `${ctx.state.apiBase}/repos/${fullName(repo)}/actions/runs/${run.id}`,
      html_url: `${ctx.state.htmlBase}/${fullName(repo)}/actions/runs/${run.id}`,
    });
  return { status: 204, headers: {}, body: undefined };
});

listRoute("GET /repos/{owner}/{repo}/actions/runs", (ctx) => {
  const repo = repoOf(ctx);
  const status = ctx.query.get("status");
  const list = [...repo.workflowRuns.values()]
    .filter((r) => !status || r.status === status || r.conclusion === status)
    .sort((a, b) => b.id - a.id)
    .map((r) => workflowRunJson(ctx.state, repo, r));
  return page(ctx, list, (slice) => ({ total_count: list.length, workflow_runs: slice }));
});

route("GET /repos/{owner}/{repo}/actions/runs/{run_id}", (ctx) => {
  const repo = repoOf(ctx);
  const run = repo.workflowRuns.get(Number(ctx.params["run_id"]));
  return run ? json(200, workflowRunJson(ctx.state, repo, run)) : notFound();
});

route("POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel", (ctx) => {
  const repo = repoOf(ctx);
  cancelWorkflowRun(ctx.state, repo, Number(ctx.params["run_id"]));
  return json(202, {});
});

listRoute("GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts", (ctx) => {
  const repo = repoOf(ctx);
  const run = repo.workflowRuns.get(Number(ctx.params["run_id"]));
  if (!run) throw new SandboxError(404, "Not Found");
  const name = ctx.query.get("name");
  const list = run.artifacts.flatMap((id) => {
    const a = repo.artifacts.get(id);
    return a && (!name || a.name === name) ? [artifactJson(ctx.state, repo, a, run)] : [];
  });
  return page(ctx, list, (slice) => ({ total_count: list.length, artifacts: slice }));
});

route("GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}", (ctx) => {
  const repo = repoOf(ctx);
  const a = repo.artifacts.get(Number(ctx.params["artifact_id"]));
  if (!a) throw new SandboxError(404, "Not Found");
  const run = [...repo.workflowRuns.values()].find((r) => r.artifacts.includes(a.id));
  return json(200, artifactJson(ctx.state, repo, a, run));
});

// GitHub answers a download with a redirect to short-lived blob storage.
route("GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}", (ctx) => {
  const repo = repoOf(ctx);
  if (ctx.params["archive_format"] !== "zip") throw new SandboxError(404, "Not Found");
  const a = repo.artifacts.get(Number(ctx.params["artifact_id"]));
  if (!a) throw new SandboxError(404, "Not Found");
  if (a.expired) throw new SandboxError(410, "Artifact has expired");
  const root = ctx.base.replace(/\/api\/v3$/, "");
  return { status: 302, headers: { location: `${root}/_sandbox/artifacts/${a.id}.zip` }, body: undefined };
});

function downloadBlob(state: GitHubState, id: number): SandboxResponse {
  for (const repo of state.repos.values()) {
    const a = repo.artifacts.get(id);
    if (a) return { status: 200, headers: { "content-type": "application/zip" }, body: a.bytes };
  }
  return { status: 404, headers: { "content-type": "text/plain" }, body: "BlobNotFound" };
}

// ---------------------------------------------------------------------------------------------------------------
// Pull requests

listRoute("GET /repos/{owner}/{repo}/pulls", (ctx) => {
  const repo = repoOf(ctx);
  const state = ctx.query.get("state") ?? "open";
  const head = ctx.query.get("head");
  const base = ctx.query.get("base");
  const list = [...repo.issues.values()]
    .filter((i) => i.pull && (state === "all" || i.state === state))
    .filter(
      (i) =>
        !head ||
        `${repo.owner}:${i.pull?.head}`.toLowerCase() === head.toLowerCase() ||
        (!head.includes(":") && i.pull?.head === head),
    )
    .filter((i) => !base || i.pull?.base === base)
    .sort((a, b) => b.number - a.number);
  return page(
    ctx,
    list.map((i) => pullJson(ctx.state, repo, i)),
  );
});

route("POST /repos/{owner}/{repo}/pulls", async (ctx) => {
  const repo = repoOf(ctx);
  const head = (str(ctx, "head", "PullRequest", true) ?? "").replace(/^[^:]+:/, "");
  const base = str(ctx, "base", "PullRequest", true) ?? "";
  const title = str(ctx, "title", "PullRequest");
  if (!title) throw invalid("PullRequest", "title", "missing_field");
  const branches = await repo.backend.branches();
  const headSha = branches.get(head);
  if (!headSha) throw invalid("PullRequest", "head", "invalid");
  if (!branches.has(base)) throw invalid("PullRequest", "base", "invalid");
  if (headSha === branches.get(base))
    throw new SandboxError(422, "Validation Failed", [
      { resource: "PullRequest", code: "custom", message: `No commits between ${base} and ${head}` },
    ]);
  for (const i of repo.issues.values())
    if (i.pull && i.state === "open" && i.pull.head === head && i.pull.base === base)
      throw new SandboxError(422, "Validation Failed", [
        {
          resource: "PullRequest",
          code: "custom",
          message: `A pull request already exists for ${repo.owner}:${head}.`,
        },
      ]);
  const pr = openPullRequest(ctx.state, repo, {
    title,
    body: str(ctx, "body", "PullRequest") ?? null,
    head,
    headSha,
    base,
    draft: ctx.body["draft"] === true,
    user: ctx.login,
  });
  return json(201, pullJson(ctx.state, repo, pr));
});

route("GET /repos/{owner}/{repo}/pulls/{pull_number}", async (ctx) => {
  const repo = repoOf(ctx);
  const pr = pullOf(ctx, repo);
  await refreshHead(repo, pr);
  return json(200, pullJson(ctx.state, repo, pr));
});

async function refreshHead(repo: Repository, pr: Issue): Promise<void> {
  if (!pr.pull || pr.state !== "open") return;
  const sha = (await repo.backend.branches()).get(pr.pull.head);
  if (sha) pr.pull.headSha = sha;
}

route("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", (ctx) => {
  const repo = repoOf(ctx);
  const pr = pullOf(ctx, repo);
  const title = str(ctx, "title", "PullRequest");
  const body = "body" in ctx.body ? (str(ctx, "body", "PullRequest") ?? null) : undefined;
  editIssue(
    ctx.state,
    repo,
    pr,
    { ...(title !== undefined ? { title } : {}), ...(body !== undefined ? { body } : {}) },
    ctx.login,
  );
  const next = oneOf(ctx, "state", "PullRequest", ["open", "closed"] as const);
  if (next) setIssueState(ctx.state, repo, pr, next, ctx.login);
  return json(200, pullJson(ctx.state, repo, pr));
});

route("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", async (ctx) => {
  const repo = repoOf(ctx);
  const pr = pullOf(ctx, repo);
  await refreshHead(repo, pr);
  const expected = str(ctx, "sha", "PullRequest");
  if (expected && expected !== pr.pull?.headSha)
    throw new SandboxError(409, "Head branch was modified. Review and try the merge again.");
  const sha = await mergePullRequest(ctx.state, repo, pr, ctx.login, str(ctx, "commit_title", "PullRequest"));
  return json(200, { sha, merged: true, message: "Pull Request successfully merged" });
});

route("GET /repos/{owner}/{repo}/pulls/{pull_number}/merge", (ctx) => {
  const repo = repoOf(ctx);
  const pr = pullOf(ctx, repo);
  return pr.pull?.merged ? { status: 204, headers: {}, body: undefined } : notFound();
});

// Users

route("GET /users/{username}", (ctx) => {
  const u = ctx.state.users.get((ctx.params["username"] ?? "").toLowerCase());
  return u ? json(200, userJson(ctx.state, u.login)) : notFound();
});
