import type { RepoBackend } from "./backend.js";
import { createMemoryBackend } from "./backend.js";

/**
 * The sandbox's GitHub: plain data plus mutation functions. Time comes from `clock` and ids from counters, so a
 * seeded state behaves the same in every run. Mutations that GitHub would announce with a webhook call `emit`;
 * the server turns those into signed deliveries.
 */

export type Role = "admin" | "maintain" | "write" | "triage" | "read";

export interface User {
  id: number;
  login: string;
  type: "User" | "Bot" | "Organization";
}

export interface Label {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export type ReactionContent = "+1" | "-1" | "laugh" | "confused" | "heart" | "hooray" | "rocket" | "eyes";

export interface Reaction {
  id: number;
  content: ReactionContent;
  user: string;
  createdAt: string;
}

export interface Comment {
  id: number;
  issueNumber: number;
  body: string;
  user: string;
  viaApp: boolean;
  createdAt: string;
  updatedAt: string;
  reactions: Reaction[];
}

export interface PullInfo {
  head: string;
  headSha: string;
  base: string;
  merged: boolean;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  draft: boolean;
}

export interface Issue {
  id: number;
  number: number;
  title: string;
  body: string | null;
  user: string;
  state: "open" | "closed";
  stateReason: "completed" | "not_planned" | "reopened" | null;
  labels: string[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  reactions: Reaction[];
  /** REST ids of sub-issues, in order. */
  subIssues: number[];
  /** REST id of the parent issue. */
  parentId: number | null;
  /** REST ids of the issues blocking this one. */
  blockedBy: number[];
  pull?: PullInfo;
}

export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: string;
  message: string;
  title?: string;
  start_column?: number;
  end_column?: number;
  raw_details?: string;
}

export interface CheckRun {
  id: number;
  name: string;
  headSha: string;
  externalId: string | null;
  status: string;
  conclusion: string | null;
  detailsUrl: string | null;
  startedAt: string;
  completedAt: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  annotations: Annotation[];
  appId: number;
  /** The check suite it belongs to (GitHub Actions' runs share their workflow run's suite). */
  checkSuiteId?: number;
}

export interface Workflow {
  id: number;
  name: string;
  path: string;
  /** The `run-name` template (`${{ inputs.x }}` expressions are substituted). */
  runName?: string;
}

export interface Artifact {
  id: number;
  name: string;
  bytes: Uint8Array;
  createdAt: string;
  expired: boolean;
}

export interface WorkflowRun {
  id: number;
  workflowId: number;
  displayTitle: string;
  headBranch: string;
  headSha: string;
  event: string;
  /** `pending`: waiting in its concurrency group for the group's running run to finish. */
  status: "requested" | "queued" | "pending" | "in_progress" | "completed";
  conclusion: string | null;
  /** The workflow's `concurrency` key, evaluated at dispatch (see concurrency.ts). */
  concurrency?: { group: string; cancelInProgress: boolean };
  startedAt?: string;
  inputs: Record<string, string>;
  actor: string;
  runNumber: number;
  createdAt: string;
  updatedAt: string;
  artifacts: number[];
  /** The check suite GitHub Actions created for the run (push and pull_request runs, see ci.ts). */
  checkSuiteId?: number;
}

export interface Repository {
  id: number;
  owner: string;
  name: string;
  private: boolean;
  defaultBranch: string;
  createdAt: string;
  backend: RepoBackend;
  collaborators: Map<string, Role>;
  labels: Map<string, Label>;
  issues: Map<number, Issue>;
  nextNumber: number;
  comments: Map<number, Comment>;
  checkRuns: Map<number, CheckRun>;
  workflows: Map<number, Workflow>;
  workflowRuns: Map<number, WorkflowRun>;
  artifacts: Map<number, Artifact>;
}

export interface Installation {
  id: number;
  account: string;
  repos: string[];
  createdAt: string;
}

export type Actor =
  | { kind: "app" }
  | { kind: "installation"; installationId: number }
  /** `contents`: a workflow GITHUB_TOKEN's `contents` permission, as its workflow's `permissions` set it. */
  | { kind: "user"; login: string; contents?: "read" | "write" }
  | { kind: "anonymous" };

export interface Project {
  id: number;
  number: number;
  owner: string;
  title: string;
  closed: boolean;
  createdAt: string;
  fields: ProjectField[];
  items: ProjectItem[];
}

export interface ProjectField {
  id: number;
  name: string;
  dataType: "TEXT" | "NUMBER" | "DATE" | "SINGLE_SELECT" | "ITERATION" | "TITLE" | "ASSIGNEES" | "LABELS";
  options: { id: string; name: string; color: string; description: string }[];
}

export type FieldValue =
  | { text: string }
  | { number: number }
  | { date: string }
  | { singleSelectOptionId: string }
  | { iterationId: string };

export interface ProjectItem {
  id: number;
  /** The content's node id (an issue or pull request), or undefined for a draft. */
  contentNodeId: string;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  values: Map<number, FieldValue>;
}

/**
 * The order in which a merge's deliveries leave: GitHub sends `pull_request.closed` and the linked issues'
 * `issues.closed` in no fixed order ("Best practices for using webhooks",
 * https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks, and "Handling webhook
 * deliveries": deliveries may arrive out of order), so a receiver must accept either.
 */
export type MergeDeliveryOrder = "pull_request_first" | "issues_first";

/**
 * One delivery of the App's webhook as GitHub records it (the `hook-delivery-item` of "List deliveries for an app
 * webhook", https://docs.github.com/rest/apps/webhooks), with what was sent, so that it can be redelivered.
 */
export interface HookDelivery {
  id: number;
  /** The event's `X-GitHub-Delivery`, shared by its redeliveries. */
  guid: string;
  deliveredAt: string;
  redelivery: boolean;
  /** Seconds spent delivering. */
  duration: number;
  status: string;
  statusCode: number;
  event: string;
  action: string | null;
  installationId: number | null;
  repositoryId: number | null;
  payload: Record<string, unknown>;
}

/** What a mutation announces; the server turns it into a webhook delivery. */
export interface StateEvent {
  name: string;
  action?: string;
  repo?: Repository;
  sender: string;
  installationId?: number;
  /** Event-specific top-level payload fields, already in GitHub's JSON shape. */
  fields: Record<string, unknown>;
}

export interface GitHubState {
  clock: () => Date;
  /** Base URL of the REST API as clients see it (urls in bodies); the server sets it. */
  apiBase: string;
  htmlBase: string;
  nextId: number;
  users: Map<string, User>;
  app: { id: number; slug: string; name: string; owner: string; createdAt: string };
  installations: Map<number, Installation>;
  tokens: Map<string, Actor & { expiresAt?: string }>;
  repos: Map<string, Repository>;
  projects: Project[];
  listeners: Set<(event: StateEvent) => void>;
  /** Which of a merge's deliveries leaves first (`pull_request.closed` or the linked `issues.closed`). */
  mergeDeliveryOrder: MergeDeliveryOrder;
  /** Called when a run is queued for a runner (at dispatch, or when its concurrency group frees up). */
  dispatchHandlers: Set<(run: WorkflowRun, repo: Repository) => void>;
  /** Called when a queued or running run is cancelled: its runner must stop the job. */
  cancelHandlers: Set<(run: WorkflowRun, repo: Repository) => void>;
  /** The App webhook's deliveries, oldest first (hook-deliveries.ts records them and forgets expired ones). */
  hookDeliveries: HookDelivery[];
  /** Delivery ids count on their own, so webhooks sent in the background never shift the other ids. */
  nextHookDeliveryId: number;
  /** Called when the App asks for a redelivery: the server sends the delivery again. */
  redeliveryHandlers: Set<(delivery: HookDelivery) => void>;
}

export interface RepoSeed {
  owner: string;
  name: string;
  defaultBranch?: string;
  private?: boolean;
  files?: Record<string, string>;
  backend?: RepoBackend;
  collaborators?: Record<string, Role>;
  labels?: (string | { name: string; color?: string; description?: string })[];
  workflows?: { path: string; name?: string; runName?: string }[];
}

export interface GitHubSeed {
  clock?: () => Date;
  app?: { id?: number; slug?: string; name?: string; owner?: string };
  users?: (string | { login: string; type?: User["type"] })[];
  repos?: RepoSeed[];
  /** One installation of the App on each owner that has repos, unless given. */
  installations?: { id?: number; account: string; repos?: string[] }[];
  /**
   * Tokens accepted as a user (e.g. the Action's GITHUB_TOKEN → "github-actions[bot]"); a workflow token may say
   * what its workflow grants for `contents` (write when unsaid).
   */
  userTokens?: Record<string, string | { login: string; contents: "read" | "write" }>;
  /** Which of a merge's deliveries leaves first (default `pull_request_first`); GitHub fixes no order. */
  mergeDeliveryOrder?: MergeDeliveryOrder;
}

export const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");

export function now(state: GitHubState): string {
  return iso(state.clock());
}

export function newId(state: GitHubState): number {
  return state.nextId++;
}

export function botLogin(state: GitHubState): string {
  return `${state.app.slug}[bot]`;
}

export function createGitHubState(seed: GitHubSeed = {}): GitHubState {
  const clock = seed.clock ?? (() => new Date());
  const state: GitHubState = {
    clock,
    apiBase: "https://api.github.com",
    htmlBase: "https://github.com",
    nextId: 1000,
    users: new Map(),
    app: {
      id: seed.app?.id ?? 4242,
      slug: seed.app?.slug ?? "trellis",
      name: seed.app?.name ?? "Trellis",
      owner: seed.app?.owner ?? "trellis-dev",
      createdAt: iso(clock()),
    },
    installations: new Map(),
    tokens: new Map(),
    repos: new Map(),
    projects: [],
    listeners: new Set(),
    mergeDeliveryOrder: seed.mergeDeliveryOrder ?? "pull_request_first",
    dispatchHandlers: new Set(),
    cancelHandlers: new Set(),
    hookDeliveries: [],
    nextHookDeliveryId: 1,
    redeliveryHandlers: new Set(),
  };
  ensureUser(state, state.app.owner, "Organization");
  ensureUser(state, botLogin(state), "Bot");
  ensureUser(state, "github-actions[bot]", "Bot");
  for (const u of seed.users ?? []) {
    if (typeof u === "string") ensureUser(state, u);
    else ensureUser(state, u.login, u.type);
  }
  for (const r of seed.repos ?? []) addRepo(state, r);
  const installs: NonNullable<GitHubSeed["installations"]> =
    seed.installations ??
    [...new Set([...state.repos.values()].map((r) => r.owner))].map((account) => ({ account }));
  for (const i of installs) {
    const id = i.id ?? newId(state);
    const repos = i.repos ?? [...state.repos.values()].filter((r) => r.owner === i.account).map(fullName);
    state.installations.set(id, { id, account: i.account, repos, createdAt: now(state) });
  }
  for (const [token, who] of Object.entries(seed.userTokens ?? {})) {
    const login = typeof who === "string" ? who : who.login;
    ensureUser(state, login, login.endsWith("[bot]") ? "Bot" : "User");
    state.tokens.set(
      token,
      typeof who === "string" ? { kind: "user", login } : { kind: "user", login, contents: who.contents },
    );
  }
  return state;
}

export function ensureUser(state: GitHubState, login: string, type?: User["type"]): User {
  const key = login.toLowerCase();
  const existing = state.users.get(key);
  if (existing) return existing;
  const user: User = { id: newId(state), login, type: type ?? (login.endsWith("[bot]") ? "Bot" : "User") };
  state.users.set(key, user);
  return user;
}

export const fullName = (r: Repository): string => `${r.owner}/${r.name}`;

export function addRepo(state: GitHubState, seed: RepoSeed): Repository {
  const owner = ensureUser(state, seed.owner);
  const defaultBranch = seed.defaultBranch ?? "main";
  const repo: Repository = {
    id: newId(state),
    owner: owner.login,
    name: seed.name,
    private: seed.private ?? false,
    defaultBranch,
    createdAt: now(state),
    backend: seed.backend ?? createMemoryBackend({ defaultBranch, files: seed.files, date: now(state) }),
    collaborators: new Map(),
    labels: new Map(),
    issues: new Map(),
    nextNumber: 1,
    comments: new Map(),
    checkRuns: new Map(),
    workflows: new Map(),
    workflowRuns: new Map(),
    artifacts: new Map(),
  };
  if (owner.type !== "Organization") repo.collaborators.set(owner.login.toLowerCase(), "admin");
  for (const [login, role] of Object.entries(seed.collaborators ?? {})) {
    ensureUser(state, login);
    repo.collaborators.set(login.toLowerCase(), role);
  }
  for (const l of seed.labels ?? []) {
    const spec = typeof l === "string" ? { name: l } : l;
    repo.labels.set(spec.name.toLowerCase(), {
      id: newId(state),
      name: spec.name,
      color: spec.color ?? "ededed",
      description: spec.description ?? null,
    });
  }
  for (const w of seed.workflows ?? []) {
    const id = newId(state);
    repo.workflows.set(id, {
      id,
      path: w.path,
      name: w.name ?? w.path.split("/").pop() ?? w.path,
      ...(w.runName ? { runName: w.runName } : {}),
    });
  }
  state.repos.set(fullName(repo).toLowerCase(), repo);
  return repo;
}

export function getRepo(state: GitHubState, owner: string, name: string): Repository | undefined {
  return state.repos.get(`${owner}/${name}`.toLowerCase());
}

export function installationFor(state: GitHubState, repo: Repository): Installation | undefined {
  const name = fullName(repo).toLowerCase();
  return [...state.installations.values()].find((i) => i.repos.some((r) => r.toLowerCase() === name));
}

export function emit(state: GitHubState, event: Omit<StateEvent, "installationId">): void {
  const installationId = event.repo ? installationFor(state, event.repo)?.id : undefined;
  for (const listener of state.listeners)
    listener({ ...event, ...(installationId !== undefined ? { installationId } : {}) });
}

/** Registers a listener for the events mutations announce; returns the unsubscribe function. */
export function onStateEvent(state: GitHubState, listener: (event: StateEvent) => void): () => void {
  state.listeners.add(listener);
  return () => state.listeners.delete(listener);
}

export function findIssueById(repo: Repository, id: number): Issue | undefined {
  for (const issue of repo.issues.values()) if (issue.id === id) return issue;
  return undefined;
}

export function findIssueAnywhere(
  state: GitHubState,
  id: number,
): { repo: Repository; issue: Issue } | undefined {
  for (const repo of state.repos.values()) {
    const issue = findIssueById(repo, id);
    if (issue) return { repo, issue };
  }
  return undefined;
}

export function ensureLabel(state: GitHubState, repo: Repository, name: string): Label {
  const existing = repo.labels.get(name.toLowerCase());
  if (existing) return existing;
  const label: Label = { id: newId(state), name, color: "ededed", description: null };
  repo.labels.set(name.toLowerCase(), label);
  return label;
}

export function roleOf(_state: GitHubState, repo: Repository, login: string): Role | "none" {
  const explicit = repo.collaborators.get(login.toLowerCase());
  if (explicit) return explicit;
  return login.toLowerCase() === repo.owner.toLowerCase() ? "admin" : "none";
}
