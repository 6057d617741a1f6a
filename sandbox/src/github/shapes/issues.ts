import type { Comment, GitHubState, Issue, Label, Reaction, Repository } from "../state.js";
import { botLogin } from "../state.js";
import { nodeId } from "./node-ids.js";
import { appJson, userJson } from "./accounts.js";
import { repoApi, repoHtml, repoJson } from "./repos.js";

/** Labels, reactions, issues, comments and pull requests as GitHub shows them. */

export function labelJson(state: GitHubState, r: Repository, l: Label): Record<string, unknown> {
  return {
    id: l.id,
    node_id: nodeId("LA", l.id),
    url: `${repoApi(state, r)}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    color: l.color,
    default: false,
    description: l.description,
  };
}

function reactionSummary(url: string, reactions: Reaction[]): Record<string, unknown> {
  const count = (c: string) => reactions.filter((r) => r.content === c).length;
  return {
    url: `${url}/reactions`,
    total_count: reactions.length,
    "+1": count("+1"),
    "-1": count("-1"),
    laugh: count("laugh"),
    hooray: count("hooray"),
    confused: count("confused"),
    heart: count("heart"),
    rocket: count("rocket"),
    eyes: count("eyes"),
  };
}

export function reactionJson(state: GitHubState, reaction: Reaction): Record<string, unknown> {
  return {
    id: reaction.id,
    node_id: nodeId("REA", reaction.id),
    user: userJson(state, reaction.user),
    content: reaction.content,
    created_at: reaction.createdAt,
  };
}

export function issueJson(state: GitHubState, r: Repository, i: Issue): Record<string, unknown> {
  const url = `${repoApi(state, r)}/issues/${i.number}`;
  const comments = [...r.comments.values()].filter((c) => c.issueNumber === i.number).length;
  const subs = i.subIssues.length;
  const closedSubs = i.subIssues.filter((id) => {
    for (const x of r.issues.values()) if (x.id === id) return x.state === "closed";
    return false;
  }).length;
  return {
    id: i.id,
    node_id: nodeId(i.pull ? "PR" : "I", i.id),
    url,
    repository_url: repoApi(state, r),
    labels_url: `${url}/labels{/name}`,
    comments_url: `${url}/comments`,
    events_url: `${url}/events`,
    html_url: `${repoHtml(state, r)}/${i.pull ? "pull" : "issues"}/${i.number}`,
    number: i.number,
    state: i.state,
    state_reason: i.stateReason,
    title: i.title,
    body: i.body,
    user: userJson(state, i.user),
    labels: i.labels.flatMap((name) => {
      const l = r.labels.get(name.toLowerCase());
      return l ? [labelJson(state, r, l)] : [];
    }),
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    author_association: authorAssociation(r, i.user),
    reactions: reactionSummary(url, i.reactions),
    sub_issues_summary: {
      total: subs,
      completed: closedSubs,
      percent_completed: subs ? Math.round((closedSubs / subs) * 100) : 0,
    },
    ...(i.pull
      ? {
          pull_request: {
            url: `${repoApi(state, r)}/pulls/${i.number}`,
            html_url: `${repoHtml(state, r)}/pull/${i.number}`,
            diff_url: `${repoHtml(state, r)}/pull/${i.number}.diff`,
            patch_url: `${repoHtml(state, r)}/pull/${i.number}.patch`,
            merged_at: i.pull.mergedAt,
          },
          draft: i.pull.draft,
        }
      : {}),
    performed_via_github_app: i.user === botLogin(state) ? appJson(state) : null,
  };
}

function authorAssociation(r: Repository, login: string): string {
  if (login.toLowerCase() === r.owner.toLowerCase()) return "OWNER";
  return r.collaborators.has(login.toLowerCase()) ? "COLLABORATOR" : "NONE";
}

export function commentJson(state: GitHubState, r: Repository, c: Comment): Record<string, unknown> {
  const url = `${repoApi(state, r)}/issues/comments/${c.id}`;
  const issue = r.issues.get(c.issueNumber);
  return {
    id: c.id,
    node_id: nodeId("IC", c.id),
    url,
    html_url: `${repoHtml(state, r)}/${issue?.pull ? "pull" : "issues"}/${c.issueNumber}#issuecomment-${c.id}`,
    issue_url: `${repoApi(state, r)}/issues/${c.issueNumber}`,
    body: c.body,
    user: userJson(state, c.user),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    author_association: authorAssociation(r, c.user),
    reactions: reactionSummary(url, c.reactions),
    performed_via_github_app: c.viaApp ? appJson(state) : null,
  };
}

export function pullJson(state: GitHubState, r: Repository, i: Issue): Record<string, unknown> {
  const p = i.pull;
  if (!p) throw new Error(`#${i.number} is not a pull request`);
  const api = `${repoApi(state, r)}/pulls/${i.number}`;
  const base = issueJson(state, r, i);
  const ref = (branch: string, sha: string) => ({
    label: `${r.owner}:${branch}`,
    ref: branch,
    sha,
    user: userJson(state, r.owner),
    repo: repoJson(state, r),
  });
  return {
    url: api,
    id: i.id,
    node_id: base["node_id"],
    html_url: `${repoHtml(state, r)}/pull/${i.number}`,
    diff_url: `${repoHtml(state, r)}/pull/${i.number}.diff`,
    patch_url: `${repoHtml(state, r)}/pull/${i.number}.patch`,
    issue_url: `${repoApi(state, r)}/issues/${i.number}`,
    commits_url: `${api}/commits`,
    review_comments_url: `${api}/comments`,
    review_comment_url: `${repoApi(state, r)}/pulls/comments{/number}`,
    comments_url: `${repoApi(state, r)}/issues/${i.number}/comments`,
    statuses_url: `${repoApi(state, r)}/statuses/${p.headSha}`,
    number: i.number,
    state: i.state,
    locked: false,
    title: i.title,
    user: base["user"],
    body: i.body,
    labels: base["labels"],
    milestone: null,
    active_lock_reason: null,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    merged_at: p.mergedAt,
    merge_commit_sha: p.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: ref(p.head, p.headSha),
    base: ref(p.base, p.mergeCommitSha ?? p.headSha),
    _links: {
      self: { href: api },
      html: { href: `${repoHtml(state, r)}/pull/${i.number}` },
      issue: { href: `${repoApi(state, r)}/issues/${i.number}` },
      comments: { href: `${repoApi(state, r)}/issues/${i.number}/comments` },
      review_comments: { href: `${api}/comments` },
      review_comment: { href: `${repoApi(state, r)}/pulls/comments{/number}` },
      commits: { href: `${api}/commits` },
      statuses: { href: `${repoApi(state, r)}/statuses/${p.headSha}` },
    },
    author_association: base["author_association"],
    auto_merge: null,
    draft: p.draft,
    merged: p.merged,
    mergeable: i.state === "open" ? true : null,
    rebaseable: i.state === "open" ? true : null,
    mergeable_state: i.state === "open" ? "clean" : "unknown",
    merged_by: p.merged ? userJson(state, i.user) : null,
    comments: base["comments"],
    review_comments: 0,
    maintainer_can_modify: false,
    commits: 1,
    additions: 0,
    deletions: 0,
    changed_files: 0,
  };
}
