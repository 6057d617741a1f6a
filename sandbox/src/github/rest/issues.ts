import type { Issue, Repository } from "../state.js";
import { addLabels, createIssue, editIssue, removeLabel, setIssueState } from "../mutations.js";
import { issueJson, labelJson } from "../shapes.js";
import type { Ctx } from "./routing.js";
import {
  invalid,
  issueOf,
  json,
  listRoute,
  notFound,
  oneOf,
  page,
  repoOf,
  requireWrite,
  route,
  str,
  stringList,
} from "./routing.js";
import { issueBodyTooLong, longerThan, MAX_BODY_CHARS } from "./limits.js";

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
