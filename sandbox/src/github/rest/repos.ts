import type { Repository, Role } from "../state.js";
import { fullName, roleOf } from "../state.js";
import { SandboxError } from "../errors.js";
import { createRef, refNodeId } from "../commits.js";
import { fullRepoJson, userJson } from "../shapes.js";
import type { Ctx } from "./routing.js";
import { json, listRoute, page, repoOf, route } from "./routing.js";

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
  return json(200, refJson(ctx, repo, branch, sha));
});

function refJson(ctx: Ctx, repo: Repository, branch: string, sha: string): Record<string, unknown> {
  return {
    ref: `refs/heads/${branch}`,
    node_id: refNodeId(repo, branch),
    url: `${ctx.state.apiBase}/repos/${fullName(repo)}/git/refs/heads/${branch}`,
    object: { sha, type: "commit", url: `${ctx.state.apiBase}/repos/${fullName(repo)}/git/commits/${sha}` },
  };
}

route("POST /repos/{owner}/{repo}/git/refs", async (ctx) => {
  const repo = repoOf(ctx);
  const ref = String(ctx.body["ref"] ?? "");
  const sha = String(ctx.body["sha"] ?? "");
  await createRef(ctx.state, repo, ctx.actor, ctx.login, ref, sha);
  return json(201, refJson(ctx, repo, ref.replace(/^refs\/heads\//, ""), sha));
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
