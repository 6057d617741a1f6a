import type {
  Artifact,
  CheckRun,
  Comment,
  GitHubState,
  Installation,
  Issue,
  Label,
  Reaction,
  Repository,
  User,
  Workflow,
  WorkflowRun,
} from "./state.js";
import { botLogin, ensureUser, fullName } from "./state.js";

/**
 * GitHub's JSON shapes for the sandbox's records: the fields Trellis and its libraries read, with ids, node ids,
 * urls and timestamps like the real API's.
 */

/** Node ids look like GitHub's (`I_kw…`): a type prefix and the encoded REST id, decodable by `parseNodeId`. */
export function nodeId(prefix: string, id: number): string {
  return `${prefix}_${Buffer.from(`sandbox:${id}`).toString("base64url")}`;
}

export function parseNodeId(value: string): { prefix: string; id: number } | undefined {
  const at = value.indexOf("_");
  if (at <= 0) return undefined;
  const decoded = Buffer.from(value.slice(at + 1), "base64url").toString();
  const m = /^sandbox:(\d+)$/.exec(decoded);
  return m?.[1] ? { prefix: value.slice(0, at), id: Number(m[1]) } : undefined;
}

const repoApi = (s: GitHubState, r: Repository): string => `${s.apiBase}/repos/${fullName(r)}`;
const repoHtml = (s: GitHubState, r: Repository): string => `${s.htmlBase}/${fullName(r)}`;

export function userJson(state: GitHubState, login: string): Record<string, unknown> {
  const u: User = ensureUser(state, login);
  const prefix = u.type === "Bot" ? "BOT" : u.type === "Organization" ? "O" : "U";
  return {
    login: u.login,
    id: u.id,
    node_id: nodeId(prefix, u.id),
    avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
    gravatar_id: "",
    url: `${state.apiBase}/users/${encodeURIComponent(u.login)}`,
    html_url: `${state.htmlBase}/${u.type === "Bot" ? `apps/${u.login.replace(/\[bot\]$/, "")}` : u.login}`,
    type: u.type,
    site_admin: false,
  };
}

export function appJson(state: GitHubState): Record<string, unknown> {
  const a = state.app;
  return {
    id: a.id,
    slug: a.slug,
    node_id: nodeId("A", a.id),
    client_id: `Iv1.sandbox${a.id}`,
    owner: userJson(state, a.owner),
    name: a.name,
    description: "Trellis (sandbox)",
    external_url: state.htmlBase,
    html_url: `${state.htmlBase}/apps/${a.slug}`,
    created_at: a.createdAt,
    updated_at: a.createdAt,
    permissions: {
      actions: "write",
      checks: "write",
      contents: "write",
      issues: "write",
      metadata: "read",
      pull_requests: "write",
      organization_projects: "write",
    },
    events: [
      "check_run",
      "installation",
      "issue_comment",
      "issues",
      "projects_v2_item",
      "pull_request",
      "workflow_run",
    ],
    installations_count: state.installations.size,
  };
}

/**
 * GitHub Actions as the App behind its check suites and check runs: GitHub creates them with this App (id 15368,
 * slug `github-actions`), not with the App whose token caused the workflow run.
 */
export const GITHUB_ACTIONS_APP = { id: 15368, slug: "github-actions", name: "GitHub Actions" } as const;

export function githubActionsAppJson(state: GitHubState): Record<string, unknown> {
  const a = GITHUB_ACTIONS_APP;
  ensureUser(state, "github", "Organization");
  return {
    id: a.id,
    slug: a.slug,
    node_id: nodeId("A", a.id),
    client_id: `Iv1.sandbox${a.id}`,
    owner: userJson(state, "github"),
    name: a.name,
    description: "Automate your workflow from idea to production",
    external_url: "https://help.github.com/en/actions",
    html_url: `${state.htmlBase}/apps/${a.slug}`,
    created_at: "2018-07-30T09:30:17Z",
    updated_at: "2024-04-10T20:33:16Z",
    permissions: {
      actions: "write",
      checks: "write",
      contents: "write",
      metadata: "read",
      pull_requests: "write",
    },
    events: ["check_run", "check_suite", "pull_request", "push", "workflow_dispatch"],
  };
}

export function installationJson(state: GitHubState, i: Installation): Record<string, unknown> {
  return {
    id: i.id,
    account: userJson(state, i.account),
    repository_selection: "selected",
    access_tokens_url: `${state.apiBase}/app/installations/${i.id}/access_tokens`,
    repositories_url: `${state.apiBase}/installation/repositories`,
    html_url: `${state.htmlBase}/settings/installations/${i.id}`,
    app_id: state.app.id,
    app_slug: state.app.slug,
    target_id: ensureUser(state, i.account).id,
    target_type: ensureUser(state, i.account).type === "Organization" ? "Organization" : "User",
    permissions: appJson(state)["permissions"],
    events: appJson(state)["events"],
    created_at: i.createdAt,
    updated_at: i.createdAt,
    single_file_name: null,
    suspended_at: null,
    suspended_by: null,
  };
}

export function repoJson(state: GitHubState, r: Repository): Record<string, unknown> {
  const api = repoApi(state, r);
  return {
    id: r.id,
    node_id: nodeId("R", r.id),
    name: r.name,
    full_name: fullName(r),
    private: r.private,
    owner: userJson(state, r.owner),
    html_url: repoHtml(state, r),
    description: null,
    fork: false,
    url: api,
    issues_url: `${api}/issues{/number}`,
    pulls_url: `${api}/pulls{/number}`,
    clone_url: `${repoHtml(state, r)}.git`,
    created_at: r.createdAt,
    updated_at: r.createdAt,
    pushed_at: r.createdAt,
    default_branch: r.defaultBranch,
    visibility: r.private ? "private" : "public",
    archived: false,
    disabled: false,
    has_issues: true,
    has_projects: true,
    open_issues_count: [...r.issues.values()].filter((i) => i.state === "open").length,
    permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
  };
}

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

export function checkRunJson(state: GitHubState, r: Repository, c: CheckRun): Record<string, unknown> {
  return {
    id: c.id,
    node_id: nodeId("CR", c.id),
    head_sha: c.headSha,
    external_id: c.externalId ?? "",
    url: `${repoApi(state, r)}/check-runs/${c.id}`,
    html_url: `${repoHtml(state, r)}/runs/${c.id}`,
    details_url: c.detailsUrl ?? `${repoHtml(state, r)}/runs/${c.id}`,
    status: c.status,
    conclusion: c.conclusion,
    started_at: c.startedAt,
    completed_at: c.completedAt,
    output: {
      title: c.output.title,
      summary: c.output.summary,
      text: c.output.text,
      annotations_count: c.annotations.length,
      annotations_url: `${repoApi(state, r)}/check-runs/${c.id}/annotations`,
    },
    name: c.name,
    check_suite: { id: c.checkSuiteId ?? c.id + 500_000 },
    app: c.appId === state.app.id ? appJson(state) : githubActionsAppJson(state),
    pull_requests: [],
  };
}

export function workflowJson(state: GitHubState, r: Repository, w: Workflow): Record<string, unknown> {
  return {
    id: w.id,
    node_id: nodeId("W", w.id),
    name: w.name,
    path: w.path,
    state: "active",
    created_at: r.createdAt,
    updated_at: r.createdAt,
    url: `${repoApi(state, r)}/actions/workflows/${w.id}`,
    html_url: `${repoHtml(state, r)}/blob/${r.defaultBranch}/${w.path}`,
    badge_url: `${repoHtml(state, r)}/workflows/${encodeURIComponent(w.name)}/badge.svg`,
  };
}

export function workflowRunJson(
  state: GitHubState,
  r: Repository,
  run: WorkflowRun,
): Record<string, unknown> {
  const w = r.workflows.get(run.workflowId);
  const api = `${repoApi(state, r)}/actions/runs/${run.id}`;
  return {
    id: run.id,
    name: w?.name ?? "workflow",
    node_id: nodeId("WFR", run.id),
    head_branch: run.headBranch,
    head_sha: run.headSha,
    path: w?.path ?? "",
    display_title: run.displayTitle,
    run_number: run.runNumber,
    run_attempt: 1,
    event: run.event,
    status: run.status,
    conclusion: run.conclusion,
    workflow_id: run.workflowId,
    check_suite_id: run.checkSuiteId ?? run.id + 700_000,
    url: api,
    html_url: `${repoHtml(state, r)}/actions/runs/${run.id}`,
    pull_requests: [],
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    run_started_at: run.createdAt,
    actor: userJson(state, run.actor),
    triggering_actor: userJson(state, run.actor),
    jobs_url: `${api}/jobs`,
    logs_url: `${api}/logs`,
    artifacts_url: `${api}/artifacts`,
    cancel_url: `${api}/cancel`,
    rerun_url: `${api}/rerun`,
    workflow_url: `${repoApi(state, r)}/actions/workflows/${run.workflowId}`,
    head_commit: { id: run.headSha, tree_id: run.headSha, message: "", timestamp: run.createdAt },
    repository: repoJson(state, r),
    head_repository: repoJson(state, r),
  };
}

export function artifactJson(
  state: GitHubState,
  r: Repository,
  a: Artifact,
  run: WorkflowRun | undefined,
): Record<string, unknown> {
  const url = `${repoApi(state, r)}/actions/artifacts/${a.id}`;
  return {
    id: a.id,
    node_id: nodeId("MDg6QXJ0aWZhY3Q", a.id),
    name: a.name,
    size_in_bytes: a.bytes.byteLength,
    url,
    archive_download_url: `${url}/zip`,
    expired: a.expired,
    created_at: a.createdAt,
    updated_at: a.createdAt,
    expires_at: a.createdAt.replace(/^(\d{4})/, (y) => String(Number(y) + 1)),
    digest: null,
    workflow_run: run
      ? {
          id: run.id,
          repository_id: r.id,
          head_repository_id: r.id,
          head_branch: run.headBranch,
          head_sha: run.headSha,
        }
      : null,
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
    },
    author_association: base["author_association"],
    auto_merge: null,
    draft: p.draft,
    merged: p.merged,
    mergeable: i.state === "open" ? true : null,
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
