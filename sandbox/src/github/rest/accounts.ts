import { fullName, getRepo } from "../state.js";
import { appJson, authenticatedAppJson, installationJson, repoJson, userJson } from "../shapes.js";
import { json, listRoute, notFound, page, route } from "./routing.js";

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

// Users

route("GET /users/{username}", (ctx) => {
  const u = ctx.state.users.get((ctx.params["username"] ?? "").toLowerCase());
  return u ? json(200, userJson(ctx.state, u.login)) : notFound();
});
