import { spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import { gunzipSync } from "node:zlib";
import type { Actor, GitHubState, Repository } from "./state.js";
import { botLogin, getRepo, now, roleOf } from "./state.js";
import { recordPush } from "./pushes.js";
import { WORKFLOW_TOKEN_USER } from "./ci.js";

/**
 * Git over HTTPS as GitHub serves it, at the repository's `clone_url` (`<html base>/<owner>/<repo>.git`): the smart
 * HTTP protocol through `git http-backend`, authenticated like GitHub — HTTP Basic with a token as the password
 * ("Authenticating with GitHub Apps … `git clone https://x-access-token:TOKEN@github.com/owner/repo.git`",
 * https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation).
 * Pushing needs a token; what a push changes is announced like GitHub does (pushes.ts), with the token's owner as
 * pusher, so a push made with a workflow's GITHUB_TOKEN can be told from one made by an App (ci.ts).
 */

const ZERO = "0".repeat(40);

export interface RefUpdate {
  before: string;
  after: string;
  ref: string;
}

/** The repository and the rest of the path of a git request, or undefined when `url` is not one. */
export function gitRequestOf(
  state: GitHubState,
  url: string,
): { repo: Repository; path: string; query: string } | undefined {
  const base = new URL(state.htmlBase).pathname.replace(/\/+$/, "");
  const [pathname = "", query = ""] = url.split("?");
  if (!pathname.startsWith(`${base}/`)) return undefined;
  const m = /^\/([\w.-]+)\/([\w.-]+?)\.git(\/.*)$/.exec(pathname.slice(base.length));
  if (!m) return undefined;
  const repo = getRepo(state, m[1]!, m[2]!);
  if (!repo || repo.backend.kind !== "git") return undefined;
  return { repo, path: m[3]!, query };
}

/** The commands at the start of a receive-pack request: pkt-lines `<old> <new> <ref>[\0caps]` up to a flush. */
export function parseReceiveCommands(body: Buffer): RefUpdate[] {
  const out: RefUpdate[] = [];
  let at = 0;
  while (at + 4 <= body.length) {
    const len = parseInt(body.subarray(at, at + 4).toString("ascii"), 16);
    if (!Number.isFinite(len) || len === 0) break;
    const line = body
      .subarray(at + 4, at + len)
      .toString("utf8")
      .split("\0")[0]!
      .trim();
    const [before, after, ref] = line.split(" ");
    if (before && after && ref) out.push({ before, after, ref });
    at += len;
  }
  return out;
}

/** Who a Basic `Authorization` header stands for (the token is the password, or the user name without one). */
function actorOf(state: GitHubState, authorization: string | undefined): Actor | undefined {
  const m = /^basic\s+(.+)$/i.exec(authorization ?? "");
  if (!m) return undefined;
  const [user = "", password = ""] = Buffer.from(m[1]!, "base64").toString("utf8").split(":");
  const known = state.tokens.get(password || user);
  if (!known || (known.expiresAt && known.expiresAt < now(state))) return undefined;
  return known;
}

function loginOf(state: GitHubState, actor: Actor): string | undefined {
  if (actor.kind === "user") return actor.login;
  if (actor.kind === "installation") return botLogin(state);
  return undefined;
}

/** Whether `actor` may write the repository's contents (push, or commit through the API). */
export function canWrite(state: GitHubState, repo: Repository, actor: Actor): boolean {
  if (actor.kind === "installation") {
    const inst = state.installations.get(actor.installationId);
    const name = `${repo.owner}/${repo.name}`.toLowerCase();
    return inst?.repos.some((r) => r.toLowerCase() === name) ?? false;
  }
  if (actor.kind !== "user") return false;
  // A workflow's GITHUB_TOKEN has the permissions its workflow's `permissions` key grants (the agent workflow grants
  // `contents: read`): "If you specify the access for any of these permissions, all of those that are not
  // specified are set to none", and pushing needs `contents: write` ("Controlling permissions for GITHUB_TOKEN",
  // https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/controlling-permissions-for-github_token;
  // "Permissions for the GITHUB_TOKEN": contents read allows cloning, write allows pushing,
  // https://docs.github.com/en/actions/security-for-github-actions/security-guides/automatic-token-authentication#permissions-for-the-github_token).
  // GitHub answers such a push with a 403 "Permission to <repo>.git denied to github-actions[bot]."
  if (actor.login.toLowerCase() === WORKFLOW_TOKEN_USER) return actor.contents !== "read";
  const role = roleOf(state, repo, actor.login);
  return role === "admin" || role === "maintain" || role === "write";
}

// One push at a time per repository, so that each push's ref updates are read back as that push left them.
const pushing = new WeakMap<Repository, Promise<unknown>>();

/** Serves one git smart-HTTP request for `target` (see gitRequestOf). */
export async function serveGit(
  state: GitHubState,
  target: { repo: Repository; path: string; query: string },
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { repo, path, query } = target;
  const write = path.endsWith("/git-receive-pack") || /(?:^|&)service=git-receive-pack(?:&|$)/.test(query);
  const actor = actorOf(state, req.headers.authorization);
  if ((write || repo.private) && !actor) {
    res
      .writeHead(401, { "www-authenticate": 'Basic realm="GitHub"', "content-type": "text/plain" })
      .end("Invalid username or token.\n");
    return;
  }
  const login = actor ? loginOf(state, actor) : undefined;
  if (write && (!actor || !login || !canWrite(state, repo, actor))) {
    res
      .writeHead(403, { "content-type": "text/plain" })
      .end(`Permission to ${repo.owner}/${repo.name}.git denied to ${login ?? "anonymous"}.\n`);
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const dir = (repo.backend as { dir?: string }).dir ?? "";
  const run = async (): Promise<void> => {
    const before = new Map(await repo.backend.branches());
    const out = await httpBackend(dir, req, path, query, body, login);
    // The push is announced before git hears back, so its events are queued when `git push` returns.
    if (write && req.method === "POST" && login) await announce(state, repo, before, body, req, login);
    sendCgi(res, out);
  };
  if (!write) return run();
  const next = (pushing.get(repo) ?? Promise.resolve()).then(run);
  pushing.set(
    repo,
    next.catch(() => undefined),
  );
  await next;
}

/** Records each branch update of a receive-pack request that git applied (a rejected one leaves the ref as it was). */
async function announce(
  state: GitHubState,
  repo: Repository,
  before: Map<string, string>,
  body: Buffer,
  req: IncomingMessage,
  login: string,
): Promise<void> {
  const plain = req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
  const after = await repo.backend.branches();
  for (const u of parseReceiveCommands(plain)) {
    if (!u.ref.startsWith("refs/heads/")) continue;
    const branch = u.ref.slice("refs/heads/".length);
    const current = after.get(branch) ?? ZERO;
    if (current !== u.after || (before.get(branch) ?? ZERO) === current) continue;
    await recordPush(state, repo, { ...u, pusher: login });
  }
}

function httpBackend(
  dir: string,
  req: IncomingMessage,
  path: string,
  query: string,
  body: Buffer,
  login: string | undefined,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {
      PATH: process.env["PATH"] ?? "",
      GIT_PROJECT_ROOT: dir,
      GIT_HTTP_EXPORT_ALL: "1",
      GIT_CONFIG_NOSYSTEM: "1",
      PATH_INFO: path,
      QUERY_STRING: query,
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      CONTENT_LENGTH: String(body.length),
      REMOTE_ADDR: "127.0.0.1",
      // http-backend enables receive-pack only for an authenticated user.
      ...(login ? { REMOTE_USER: login } : {}),
    };
    const encoding = req.headers["content-encoding"];
    if (typeof encoding === "string") env["HTTP_CONTENT_ENCODING"] = encoding;
    const protocol = req.headers["git-protocol"];
    if (typeof protocol === "string") env["GIT_PROTOCOL"] = protocol;
    const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "ignore"] });
    const out: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.on("error", reject);
    child.on("close", () => resolve(Buffer.concat(out)));
    child.stdin.on("error", () => undefined);
    child.stdin.end(body);
  });
}

/** Writes a CGI response (headers, a blank line, the body) as an HTTP response. */
function sendCgi(res: ServerResponse, out: Buffer): void {
  let split = out.indexOf("\r\n\r\n");
  let gap = 4;
  if (split < 0) {
    split = out.indexOf("\n\n");
    gap = 2;
  }
  if (split < 0) {
    res.writeHead(500, { "content-type": "text/plain" }).end("git http-backend failed\n");
    return;
  }
  const headers: Record<string, string> = {};
  let status = 200;
  for (const line of out.subarray(0, split).toString("utf8").split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at < 0) continue;
    const name = line.slice(0, at).trim();
    const value = line.slice(at + 1).trim();
    if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]) || 200;
    else headers[name] = value;
  }
  res.writeHead(status, headers).end(out.subarray(split + gap));
}
