import type { Issue, ReactionContent, Repository } from "../state.js";
import { SandboxError } from "../errors.js";
import { addComment, editComment, react } from "../mutations.js";
import { commentJson, reactionJson } from "../shapes.js";
import type { Ctx } from "./routing.js";
import { invalid, issueOf, json, listRoute, oneOf, page, repoOf, route, str } from "./routing.js";
import { commentBodyTooLong, longerThan, MAX_BODY_CHARS } from "./limits.js";

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
