import type { GitHubState, Installation, User } from "../state.js";
import { ensureUser } from "../state.js";
import { nodeId } from "./node-ids.js";

/** Users, the App and its installations as GitHub shows them. */

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
