import type { Issue, Repository } from "../state.js";
import { SandboxError } from "../errors.js";
import { editIssue, mergePullRequest, openPullRequest, setIssueState } from "../mutations.js";
import { pullJson } from "../shapes.js";
import { invalid, json, listRoute, notFound, oneOf, page, pullOf, repoOf, route, str } from "./routing.js";

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
