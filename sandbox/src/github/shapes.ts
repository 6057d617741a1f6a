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

/** A simple user (REST `simple-user`, the webhooks' `user`): every field GitHub marks required. */
export function userJson(state: GitHubState, login: string): Record<string, unknown> {
  const u: User = ensureUser(state, login);
  const prefix = u.type === "Bot" ? "BOT" : u.type === "Organization" ? "O" : "U";
  const url = `${state.apiBase}/users/${encodeURIComponent(u.login)}`;
  return {
    login: u.login,
    id: u.id,
    node_id: nodeId(prefix, u.id),
    avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
    gravatar_id: "",
    url,
    html_url: `${state.htmlBase}/${u.type === "Bot" ? `apps/${u.login.replace(/\[bot\]$/, "")}` : u.login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: u.type,
    site_admin: false,
  };
}

/** The App as other objects embed it (`integration`: `performed_via_github_app`, a check run's `app`). */
export function appJson(state: GitHubState): Record<string, unknown> {
  const a = state.app;
  return {
    id: a.id,
    slug: a.slug,
    node_id: nodeId("A", a.id),
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
    // The events the App subscribes to. `installation` is not one: GitHub sends it to every App unasked
    // (https://docs.github.com/en/webhooks/webhook-events-and-payloads#installation).
    events: ["check_run", "issue_comment", "issues", "projects_v2_item", "pull_request", "workflow_run"],
  };
}

/** `GET /app`: the authenticated App, with its client id and installation count. */
export function authenticatedAppJson(state: GitHubState): Record<string, unknown> {
  return {
    ...appJson(state),
    client_id: `Iv1.sandbox${state.app.id}`,
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

/**
 * A repository as REST (`repository`) and webhook payloads (`repository`) show it: every field either marks
 * required, and none the webhooks' schema refuses.
 */
export function repoJson(state: GitHubState, r: Repository): Record<string, unknown> {
  const api = repoApi(state, r);
  const html = repoHtml(state, r);
  const host = new URL(state.htmlBase).host;
  const openIssues = [...r.issues.values()].filter((i) => i.state === "open").length;
  return {
    id: r.id,
    node_id: nodeId("R", r.id),
    name: r.name,
    full_name: fullName(r),
    private: r.private,
    owner: userJson(state, r.owner),
    html_url: html,
    description: null,
    fork: false,
    url: api,
    forks_url: `${api}/forks`,
    keys_url: `${api}/keys{/key_id}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    teams_url: `${api}/teams`,
    hooks_url: `${api}/hooks`,
    issue_events_url: `${api}/issues/events{/number}`,
    events_url: `${api}/events`,
    assignees_url: `${api}/assignees{/user}`,
    branches_url: `${api}/branches{/branch}`,
    tags_url: `${api}/tags`,
    blobs_url: `${api}/git/blobs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    trees_url: `${api}/git/trees{/sha}`,
    statuses_url: `${api}/statuses/{sha}`,
    languages_url: `${api}/languages`,
    stargazers_url: `${api}/stargazers`,
    contributors_url: `${api}/contributors`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    commits_url: `${api}/commits{/sha}`,
    git_commits_url: `${api}/git/commits{/sha}`,
    comments_url: `${api}/comments{/number}`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    contents_url: `${api}/contents/{+path}`,
    compare_url: `${api}/compare/{base}...{head}`,
    merges_url: `${api}/merges`,
    archive_url: `${api}/{archive_format}{/ref}`,
    downloads_url: `${api}/downloads`,
    issues_url: `${api}/issues{/number}`,
    pulls_url: `${api}/pulls{/number}`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    labels_url: `${api}/labels{/name}`,
    releases_url: `${api}/releases{/id}`,
    deployments_url: `${api}/deployments`,
    created_at: r.createdAt,
    updated_at: r.createdAt,
    pushed_at: r.createdAt,
    git_url: `git://${host}/${fullName(r)}.git`,
    ssh_url: `git@${host}:${fullName(r)}.git`,
    clone_url: `${html}.git`,
    svn_url: html,
    homepage: null,
    size: 0,
    stargazers_count: 0,
    watchers_count: 0,
    language: null,
    has_issues: true,
    has_projects: true,
    has_downloads: true,
    has_wiki: false,
    has_pages: false,
    has_discussions: false,
    forks_count: 0,
    mirror_url: null,
    archived: false,
    disabled: false,
    open_issues_count: openIssues,
    license: null,
    allow_forking: true,
    is_template: false,
    web_commit_signoff_required: false,
    topics: [],
    visibility: r.private ? "private" : "public",
    forks: 0,
    open_issues: openIssues,
    watchers: 0,
    default_branch: r.defaultBranch,
    custom_properties: {},
    permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
  };
}

/** A `minimal-repository` (a workflow run's `repository`): the identity and URL fields only. */
export function minimalRepoJson(state: GitHubState, r: Repository): Record<string, unknown> {
  const full = repoJson(state, r);
  return Object.fromEntries(Object.entries(full).filter(([key]) => MINIMAL_REPO_FIELDS.has(key)));
}

const MINIMAL_REPO_FIELDS = new Set(
  (
    "id node_id name full_name private owner html_url description fork url forks_url keys_url collaborators_url " +
    "teams_url hooks_url issue_events_url events_url assignees_url branches_url tags_url blobs_url git_tags_url " +
    "git_refs_url trees_url statuses_url languages_url stargazers_url contributors_url subscribers_url " +
    "subscription_url commits_url git_commits_url comments_url issue_comment_url contents_url compare_url " +
    "merges_url archive_url downloads_url issues_url pulls_url milestones_url notifications_url labels_url " +
    "releases_url deployments_url"
  ).split(" "),
);

/** `GET /repos/{owner}/{repo}` answers a `full-repository`: the repository and its network's counts. */
export function fullRepoJson(state: GitHubState, r: Repository): Record<string, unknown> {
  return { ...repoJson(state, r), network_count: 0, subscribers_count: 0 };
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
    check_suite: {
      id: c.checkSuiteId ?? c.id + 500_000,
      node_id: nodeId("CS", c.checkSuiteId ?? c.id + 500_000),
      head_branch: null,
      head_sha: c.headSha,
      status: c.status,
      conclusion: c.conclusion,
      url: `${repoApi(state, r)}/check-suites/${c.checkSuiteId ?? c.id + 500_000}`,
      before: null,
      after: null,
      pull_requests: [],
      app: c.appId === state.app.id ? appJson(state) : githubActionsAppJson(state),
      created_at: c.startedAt ?? r.createdAt,
      updated_at: c.completedAt ?? c.startedAt ?? r.createdAt,
    },
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
    check_suite_node_id: nodeId("CS", run.checkSuiteId ?? run.id + 700_000),
    check_suite_url: `${repoApi(state, r)}/check-suites/${run.checkSuiteId ?? run.id + 700_000}`,
    previous_attempt_url: null,
    url: api,
    html_url: `${repoHtml(state, r)}/actions/runs/${run.id}`,
    pull_requests: [],
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    run_started_at: run.startedAt ?? run.createdAt,
    actor: userJson(state, run.actor),
    triggering_actor: userJson(state, run.actor),
    jobs_url: `${api}/jobs`,
    logs_url: `${api}/logs`,
    artifacts_url: `${api}/artifacts`,
    cancel_url: `${api}/cancel`,
    rerun_url: `${api}/rerun`,
    workflow_url: `${repoApi(state, r)}/actions/workflows/${run.workflowId}`,
    head_commit: {
      id: run.headSha,
      tree_id: run.headSha,
      message: "",
      timestamp: run.createdAt,
      author: { name: r.owner, email: `${r.owner}@users.noreply.github.com` },
      committer: { name: "GitHub", email: "noreply@github.com" },
    },
    repository: minimalRepoJson(state, r),
    head_repository: minimalRepoJson(state, r),
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
