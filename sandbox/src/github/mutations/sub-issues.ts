import type { Issue, Repository } from "../state.js";
import { findIssueById } from "../state.js";
import { SandboxError } from "../errors.js";

/** Sub-issues and "blocked by" dependencies between issues. */

/**
 * "You can add up to 100 sub-issues per parent issue and create up to eight levels of nested sub-issues."
 * (GitHub Docs, "Adding sub-issues",
 * https://docs.github.com/issues/tracking-your-work-with-issues/using-issues/adding-sub-issues). Closed sub-issues
 * count too. GitHub's exact wording of the refusal is not documented; the shape is REST's 422 "Validation Failed".
 */
export const SUB_ISSUES_PER_PARENT = 100;
export const SUB_ISSUE_LEVELS = 8;

const subIssueRefused = (message: string): SandboxError =>
  new SandboxError(422, "Validation Failed", [
    { resource: "Issue", field: "sub_issue_id", code: "custom", message },
  ]);

/** Levels below `issue` in its sub-issue tree (0 for an issue without sub-issues). */
function subIssueHeight(repo: Repository, issue: Issue, seen = new Set<number>()): number {
  if (seen.has(issue.id)) return 0;
  seen.add(issue.id);
  let height = 0;
  for (const id of issue.subIssues) {
    const child = findIssueById(repo, id);
    if (child) height = Math.max(height, 1 + subIssueHeight(repo, child, seen));
  }
  return height;
}

/** How many parents `issue` has above it (0 for a top-level issue). */
function subIssueDepth(repo: Repository, issue: Issue): number {
  let depth = 0;
  for (let p = issue.parentId; p !== null && depth <= SUB_ISSUE_LEVELS; depth++)
    p = findIssueById(repo, p)?.parentId ?? null;
  return depth;
}

export function addSubIssue(repo: Repository, parent: Issue, child: Issue, replaceParent = false): void {
  if (parent.id === child.id) throw new SandboxError(422, "An issue cannot be a sub-issue of itself");
  if (!parent.subIssues.includes(child.id) && parent.subIssues.length >= SUB_ISSUES_PER_PARENT)
    throw subIssueRefused(`Parent issue cannot have more than ${SUB_ISSUES_PER_PARENT} sub-issues`);
  if (subIssueDepth(repo, parent) + 1 + subIssueHeight(repo, child) > SUB_ISSUE_LEVELS)
    throw subIssueRefused(`Sub-issues cannot be nested more than ${SUB_ISSUE_LEVELS} levels deep`);
  if (child.parentId !== null && child.parentId !== parent.id) {
    if (!replaceParent)
      throw new SandboxError(422, "Issue may not contain duplicate sub-issues and can only have one parent");
    const old = findIssueById(repo, child.parentId);
    if (old) old.subIssues = old.subIssues.filter((id) => id !== child.id);
  }
  if (parent.subIssues.includes(child.id))
    throw new SandboxError(422, "Issue may not contain duplicate sub-issues");
  parent.subIssues.push(child.id);
  child.parentId = parent.id;
}

export function addBlockedBy(repo: Repository, issue: Issue, blocker: Issue): void {
  if (issue.id === blocker.id) throw new SandboxError(422, "An issue cannot be blocked by itself");
  if (issue.blockedBy.includes(blocker.id))
    throw new SandboxError(422, "Issue is already blocked by this issue");
  // GitHub refuses a relationship that would close a cycle.
  const seen = new Set<number>();
  const stack = [...blocker.blockedBy];
  while (stack.length > 0) {
    const id = stack.pop() as number;
    if (id === issue.id)
      throw new SandboxError(422, "Adding this dependency would create a circular dependency");
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(findIssueById(repo, id)?.blockedBy ?? []));
  }
  issue.blockedBy.push(blocker.id);
}
