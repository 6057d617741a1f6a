import type { Comment, GitHubState, Issue, ReactionContent, Repository } from "../state.js";
import { emit, ensureLabel, ensureUser, newId, now } from "../state.js";
import { SandboxError } from "../errors.js";
import { commentJson, issueJson, labelJson, pullJson } from "../shapes.js";

/** Issues, their labels and state, comments and reactions. */

export const issueEvent = (
  state: GitHubState,
  repo: Repository,
  issue: Issue,
  action: string,
  sender: string,
  extra = {},
) =>
  emit(state, {
    name: issue.pull ? "pull_request" : "issues",
    action,
    repo,
    sender,
    fields: issue.pull
      ? { number: issue.number, pull_request: pullJson(state, repo, issue), ...extra }
      : { issue: issueJson(state, repo, issue), ...extra },
  });

export function createIssue(
  state: GitHubState,
  repo: Repository,
  input: { title: string; body?: string | null; labels?: string[]; user: string },
): Issue {
  ensureUser(state, input.user);
  const t = now(state);
  const issue: Issue = {
    id: newId(state),
    number: repo.nextNumber++,
    title: input.title,
    body: input.body ?? null,
    user: input.user,
    state: "open",
    stateReason: null,
    labels: [],
    createdAt: t,
    updatedAt: t,
    closedAt: null,
    reactions: [],
    subIssues: [],
    parentId: null,
    blockedBy: [],
  };
  repo.issues.set(issue.number, issue);
  for (const name of input.labels ?? []) issue.labels.push(ensureLabel(state, repo, name).name);
  issueEvent(state, repo, issue, "opened", input.user);
  for (const name of issue.labels) {
    const label = repo.labels.get(name.toLowerCase());
    if (label)
      issueEvent(state, repo, issue, "labeled", input.user, { label: labelJson(state, repo, label) });
  }
  return issue;
}

export function addLabels(
  state: GitHubState,
  repo: Repository,
  issue: Issue,
  names: string[],
  sender: string,
): void {
  for (const name of names) {
    const label = ensureLabel(state, repo, name);
    if (issue.labels.some((l) => l.toLowerCase() === label.name.toLowerCase())) continue;
    issue.labels.push(label.name);
    issue.updatedAt = now(state);
    issueEvent(state, repo, issue, "labeled", sender, { label: labelJson(state, repo, label) });
  }
}

export function removeLabel(
  state: GitHubState,
  repo: Repository,
  issue: Issue,
  name: string,
  sender: string,
): void {
  const at = issue.labels.findIndex((l) => l.toLowerCase() === name.toLowerCase());
  if (at < 0) throw new SandboxError(404, "Label does not exist");
  const [removed] = issue.labels.splice(at, 1);
  issue.updatedAt = now(state);
  const label = removed ? repo.labels.get(removed.toLowerCase()) : undefined;
  if (label) issueEvent(state, repo, issue, "unlabeled", sender, { label: labelJson(state, repo, label) });
}

export function setIssueState(
  state: GitHubState,
  repo: Repository,
  issue: Issue,
  next: "open" | "closed",
  sender: string,
  reason?: "completed" | "not_planned" | null,
): void {
  if (issue.state === next) return;
  const t = now(state);
  issue.state = next;
  issue.updatedAt = t;
  issue.closedAt = next === "closed" ? t : null;
  issue.stateReason = next === "closed" ? (reason ?? "completed") : "reopened";
  issueEvent(state, repo, issue, next === "closed" ? "closed" : "reopened", sender);
}

export function editIssue(
  state: GitHubState,
  repo: Repository,
  issue: Issue,
  patch: { title?: string; body?: string | null },
  sender: string,
): void {
  const changes: Record<string, { from: unknown }> = {};
  if (patch.title !== undefined && patch.title !== issue.title) {
    changes["title"] = { from: issue.title };
    issue.title = patch.title;
  }
  if (patch.body !== undefined && patch.body !== issue.body) {
    changes["body"] = { from: issue.body };
    issue.body = patch.body;
  }
  if (Object.keys(changes).length === 0) return;
  issue.updatedAt = now(state);
  issueEvent(state, repo, issue, "edited", sender, { changes });
}

export function addComment(
  state: GitHubState,
  repo: Repository,
  issue: Issue,
  body: string,
  user: string,
  viaApp = false,
): Comment {
  ensureUser(state, user);
  const t = now(state);
  const comment: Comment = {
    id: newId(state),
    issueNumber: issue.number,
    body,
    user,
    viaApp,
    createdAt: t,
    updatedAt: t,
    reactions: [],
  };
  repo.comments.set(comment.id, comment);
  issue.updatedAt = t;
  emit(state, {
    name: "issue_comment",
    action: "created",
    repo,
    sender: user,
    fields: { issue: issueJson(state, repo, issue), comment: commentJson(state, repo, comment) },
  });
  return comment;
}

export function editComment(
  state: GitHubState,
  repo: Repository,
  comment: Comment,
  body: string,
  sender: string,
): void {
  const from = comment.body;
  comment.body = body;
  comment.updatedAt = now(state);
  const issue = repo.issues.get(comment.issueNumber);
  if (issue)
    emit(state, {
      name: "issue_comment",
      action: "edited",
      repo,
      sender,
      fields: {
        issue: issueJson(state, repo, issue),
        comment: commentJson(state, repo, comment),
        changes: { body: { from } },
      },
    });
}

/** Adds a reaction; an existing identical one is returned instead (GitHub answers 200 then, 201 otherwise). */
export function react(
  state: GitHubState,
  target: { reactions: Comment["reactions"] },
  content: ReactionContent,
  user: string,
): { reaction: Comment["reactions"][number]; created: boolean } {
  const existing = target.reactions.find((r) => r.content === content && r.user === user);
  if (existing) return { reaction: existing, created: false };
  const reaction = { id: newId(state), content, user, createdAt: now(state) };
  target.reactions.push(reaction);
  return { reaction, created: true };
}
