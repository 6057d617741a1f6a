import type { GitHubState, Repository } from "../state.js";
import { fullName } from "../state.js";
import { nodeId } from "./node-ids.js";
import { userJson } from "./accounts.js";

/** Repositories as GitHub shows them, and the API and web addresses the other shapes build on. */

export const repoApi = (s: GitHubState, r: Repository): string => `${s.apiBase}/repos/${fullName(r)}`;
export const repoHtml = (s: GitHubState, r: Repository): string => `${s.htmlBase}/${fullName(r)}`;

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
