import { findIssueById } from "../state.js";
import { SandboxError } from "../errors.js";
import { addBlockedBy, addSubIssue } from "../mutations.js";
import { issueJson } from "../shapes.js";
import { int, invalid, issueOf, json, listRoute, notFound, page, repoOf, route } from "./routing.js";

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
