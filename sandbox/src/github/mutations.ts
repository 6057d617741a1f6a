import type {
  Artifact,
  MergeDeliveryOrder,
  CheckRun,
  Comment,
  FieldValue,
  GitHubState,
  Installation,
  Issue,
  Project,
  ProjectField,
  ProjectItem,
  ReactionContent,
  Repository,
  WorkflowRun,
} from "./state.js";
import { emit, ensureLabel, ensureUser, findIssueById, fullName, getRepo, newId, now } from "./state.js";
import {
  checkRunJson,
  commentJson,
  installationJson,
  issueJson,
  labelJson,
  nodeId,
  pullJson,
  userJson,
  workflowRunJson,
} from "./shapes.js";

/**
 * State changes shared by the REST routes, the GraphQL resolvers and the demo's "human" helpers. Each one announces
 * what GitHub would announce with a webhook (see state.ts `emit`).
 */

export class SandboxError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, unknown>[],
  ) {
    super(message);
  }
}

const issueEvent = (
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

export function createCheckRun(
  state: GitHubState,
  repo: Repository,
  input: Omit<CheckRun, "id" | "startedAt" | "completedAt" | "appId"> & {
    startedAt?: string;
    completedAt?: string;
  },
): CheckRun {
  const t = now(state);
  const run: CheckRun = {
    ...input,
    id: newId(state),
    startedAt: input.startedAt ?? t,
    completedAt: input.status === "completed" ? (input.completedAt ?? t) : null,
    appId: state.app.id,
  };
  repo.checkRuns.set(run.id, run);
  emit(state, {
    name: "check_run",
    action: "created",
    repo,
    sender: `${state.app.slug}[bot]`,
    fields: { check_run: checkRunJson(state, repo, run) },
  });
  if (run.status === "completed") checkRunCompleted(state, repo, run);
  return run;
}

export function checkRunCompleted(state: GitHubState, repo: Repository, run: CheckRun): void {
  emit(state, {
    name: "check_run",
    action: "completed",
    repo,
    sender: `${state.app.slug}[bot]`,
    fields: { check_run: checkRunJson(state, repo, run) },
  });
}

/** A human pressing "Re-run" on a check run. */
export function rerequestCheckRun(
  state: GitHubState,
  repo: Repository,
  checkRunId: number,
  sender: string,
): CheckRun {
  const run = repo.checkRuns.get(checkRunId);
  if (!run) throw new SandboxError(404, "Not Found");
  // Only a completed check run can be re-run: GitHub's `check_run.rerequested` payload has status "completed"
  // (x-webhooks check-run-rerequested), and "Rerequest a check run" answers 422 "if the check run is not
  // rerequestable" (https://docs.github.com/rest/checks/runs#rerequest-a-check-run).
  if (run.status !== "completed") throw new SandboxError(422, "This check run is not rerequestable");
  emit(state, {
    name: "check_run",
    action: "rerequested",
    repo,
    sender,
    fields: { check_run: checkRunJson(state, repo, run) },
  });
  return run;
}

/** `${{ inputs.x }}` and `${{ github.event.inputs.x }}` substituted, as GitHub renders `run-name`. */
export function renderRunName(template: string, inputs: Record<string, string>, fallback: string): string {
  const rendered = template.replace(
    /\$\{\{\s*(?:github\.event\.)?inputs\.([A-Za-z0-9_-]+)\s*\}\}/g,
    (_m, key: string) => inputs[key] ?? "",
  );
  return /\$\{\{/.test(rendered) ? fallback : rendered;
}

export function dispatchWorkflow(
  state: GitHubState,
  repo: Repository,
  workflowId: number,
  input: {
    ref: string;
    sha: string;
    inputs: Record<string, string>;
    actor: string;
    concurrency?: WorkflowRun["concurrency"];
  },
): WorkflowRun {
  const workflow = repo.workflows.get(workflowId);
  if (!workflow) throw new SandboxError(404, "Not Found");
  const t = now(state);
  const run: WorkflowRun = {
    id: newId(state),
    workflowId,
    displayTitle: workflow.runName
      ? renderRunName(workflow.runName, input.inputs, workflow.name)
      : workflow.name,
    headBranch: input.ref.replace(/^refs\/heads\//, ""),
    headSha: input.sha,
    event: "workflow_dispatch",
    status: "queued",
    conclusion: null,
    inputs: input.inputs,
    ...(input.concurrency ? { concurrency: input.concurrency } : {}),
    actor: input.actor,
    runNumber: [...repo.workflowRuns.values()].filter((r) => r.workflowId === workflowId).length + 1,
    createdAt: t,
    updatedAt: t,
    artifacts: [],
  };
  const group = input.concurrency ? groupOf(repo, input.concurrency.group) : [];
  const holder = group.find((r) => r.status !== "pending");
  const waiting = group.filter((r) => r.status === "pending");
  // https://docs.github.com/actions/how-tos/write-workflows/choose-when-workflows-run/control-workflow-concurrency :
  // at most one running and one pending run per group; a run queued while another of its group is in progress is
  // pending, and any pending run of the group is cancelled, the new one taking its place. With
  // `cancel-in-progress: true` the running one is cancelled too.
  const cancelRunning = input.concurrency?.cancelInProgress === true;
  if (holder && !cancelRunning) run.status = "pending";
  repo.workflowRuns.set(run.id, run);
  workflowRunEvent(state, repo, run, "requested");
  for (const older of waiting) finishCancelled(state, repo, older);
  if (holder && cancelRunning) finishCancelled(state, repo, holder);
  if (run.status === "queued") queueForRunner(state, repo, run);
  return run;
}

/** The runs of a concurrency group (case insensitive) that have not completed, oldest first. */
function groupOf(repo: Repository, group: string): WorkflowRun[] {
  return [...repo.workflowRuns.values()]
    .filter((r) => r.status !== "completed" && r.concurrency?.group === group.toLowerCase())
    .sort((a, b) => a.id - b.id);
}

function queueForRunner(state: GitHubState, repo: Repository, run: WorkflowRun): void {
  for (const handler of state.dispatchHandlers) handler(run, repo);
}

/** A run left its group: the group's pending run (if any) is queued for a runner. */
function releaseGroup(state: GitHubState, repo: Repository, run: WorkflowRun): void {
  if (!run.concurrency) return;
  const group = groupOf(repo, run.concurrency.group);
  const next = group.find((r) => r.status === "pending");
  if (!next || group.some((r) => r.status !== "pending")) return;
  next.status = "queued";
  next.updatedAt = now(state);
  queueForRunner(state, repo, next);
}

/** Completed with conclusion `cancelled`, without starting, and announced with `workflow_run.completed`. */
function finishCancelled(state: GitHubState, repo: Repository, run: WorkflowRun): void {
  const wasActive = run.status !== "pending";
  run.status = "completed";
  run.conclusion = "cancelled";
  run.updatedAt = now(state);
  workflowRunEvent(state, repo, run, "completed");
  if (wasActive) for (const handler of state.cancelHandlers) handler(run, repo);
  releaseGroup(state, repo, run);
}

/**
 * `POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel` ("Cancel a workflow run",
 * https://docs.github.com/rest/actions/workflow-runs#cancel-a-workflow-run): 202 for a run not yet completed, which
 * ends `cancelled` (its runner is told to stop the job); 409 for a completed one.
 */
export function cancelWorkflowRun(state: GitHubState, repo: Repository, runId: number): WorkflowRun {
  const run = repo.workflowRuns.get(runId);
  if (!run) throw new SandboxError(404, "Not Found");
  if (run.status === "completed")
    throw new SandboxError(409, "Cannot cancel a workflow run that is completed.");
  finishCancelled(state, repo, run);
  return run;
}

function workflowRunEvent(state: GitHubState, repo: Repository, run: WorkflowRun, action: string): void {
  const w = repo.workflows.get(run.workflowId);
  emit(state, {
    name: "workflow_run",
    action,
    repo,
    sender: run.actor,
    fields: {
      workflow_run: workflowRunJson(state, repo, run),
      workflow: w
        ? {
            id: w.id,
            node_id: nodeId("W", w.id),
            name: w.name,
            path: w.path,
            state: "active",
            created_at: repo.createdAt,
            updated_at: repo.createdAt,
            url: `${state.apiBase}/repos/${fullName(repo)}/actions/workflows/${w.id}`,
            html_url: `${state.htmlBase}/${fullName(repo)}/blob/${repo.defaultBranch}/${w.path}`,
            badge_url: `${state.htmlBase}/${fullName(repo)}/workflows/${w.id}/badge.svg`,
          }
        : null,
    },
  });
}

export function startWorkflowRun(state: GitHubState, repo: Repository, runId: number): WorkflowRun {
  const run = repo.workflowRuns.get(runId);
  if (!run) throw new SandboxError(404, "Not Found");
  // A run already started, or cancelled before a runner picked it up, stays as it is.
  if (run.status === "in_progress" || run.status === "completed") return run;
  run.status = "in_progress";
  run.updatedAt = now(state);
  run.startedAt = run.updatedAt;
  workflowRunEvent(state, repo, run, "in_progress");
  return run;
}

export function completeWorkflowRun(
  state: GitHubState,
  repo: Repository,
  runId: number,
  result: {
    conclusion: "success" | "failure" | "cancelled" | "timed_out";
    artifacts?: { name: string; zip: Uint8Array }[];
  },
): WorkflowRun {
  const run = repo.workflowRuns.get(runId);
  if (!run) throw new SandboxError(404, "Not Found");
  // A cancelled run keeps its conclusion: what its job still did after the cancel is not reported.
  if (run.status === "completed") return run;
  if (run.status !== "in_progress") startWorkflowRun(state, repo, runId);
  for (const a of result.artifacts ?? []) {
    const artifact: Artifact = {
      id: newId(state),
      name: a.name,
      bytes: a.zip,
      createdAt: now(state),
      expired: false,
    };
    repo.artifacts.set(artifact.id, artifact);
    run.artifacts.push(artifact.id);
  }
  run.status = "completed";
  run.conclusion = result.conclusion;
  run.updatedAt = now(state);
  workflowRunEvent(state, repo, run, "completed");
  releaseGroup(state, repo, run);
  return run;
}

export function openPullRequest(
  state: GitHubState,
  repo: Repository,
  input: {
    title: string;
    body: string | null;
    head: string;
    headSha: string;
    base: string;
    draft: boolean;
    user: string;
  },
): Issue {
  const t = now(state);
  const pr: Issue = {
    id: newId(state),
    number: repo.nextNumber++,
    title: input.title,
    body: input.body,
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
    pull: {
      head: input.head,
      headSha: input.headSha,
      base: input.base,
      merged: false,
      mergedAt: null,
      mergeCommitSha: null,
      draft: input.draft,
    },
  };
  repo.issues.set(pr.number, pr);
  issueEvent(state, repo, pr, "opened", input.user);
  return pr;
}

/**
 * Closing keywords, as GitHub documents them ("Linking a pull request to an issue",
 * https://docs.github.com/en/issues/tracking-your-work-with-issues/using-issues/linking-a-pull-request-to-an-issue):
 * close, closes, closed, fix, fixes, fixed, resolve, resolves, resolved (case-insensitive), followed by `#N` for an
 * issue of the same repository or `OWNER/REPOSITORY#N` for one of another.
 */
const CLOSING = /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+(?:([\w.-]+)\/([\w.-]+))?#(\d+)\b/gi;

/** The issues a pull request's body says it closes (pull requests and unknown numbers left out). */
export function closingIssues(
  state: GitHubState,
  repo: Repository,
  body: string | null,
): { repo: Repository; issue: Issue }[] {
  const out: { repo: Repository; issue: Issue }[] = [];
  for (const m of (body ?? "").matchAll(CLOSING)) {
    const target = m[1] && m[2] ? getRepo(state, m[1], m[2]) : repo;
    const issue = target?.issues.get(Number(m[3]));
    if (!target || !issue || issue.pull || out.some((o) => o.issue === issue)) continue;
    out.push({ repo: target, issue });
  }
  return out;
}

/**
 * Merges a pull request (its branch into its base) and closes it. Merged into the default branch, it also closes the
 * issues its body names with a closing keyword, with state_reason `completed`; into any other branch the keywords
 * are ignored ("Linking a pull request to an issue", see CLOSING). The deliveries go out in `order` (default: the
 * state's `mergeDeliveryOrder`), both after the whole merge is visible through the API.
 */
export async function mergePullRequest(
  state: GitHubState,
  repo: Repository,
  pr: Issue,
  sender: string,
  message?: string,
  order: MergeDeliveryOrder = state.mergeDeliveryOrder,
): Promise<string> {
  const p = pr.pull;
  if (!p) throw new SandboxError(404, "Not Found");
  if (pr.state !== "open" || p.merged) throw new SandboxError(405, "Pull Request is not mergeable");
  const sha = await repo.backend.merge(
    p.base,
    p.head,
    message ?? `Merge pull request #${pr.number} from ${p.head}`,
  );
  const t = now(state);
  p.merged = true;
  p.mergedAt = t;
  p.mergeCommitSha = sha;
  pr.state = "closed";
  pr.closedAt = t;
  pr.updatedAt = t;
  const closes = p.base === repo.defaultBranch ? closingIssues(state, repo, pr.body) : [];
  const closeIssues = () => {
    for (const c of closes) setIssueState(state, c.repo, c.issue, "closed", sender, "completed");
  };
  if (order === "issues_first") closeIssues();
  issueEvent(state, repo, pr, "closed", sender);
  if (order === "pull_request_first") closeIssues();
  return sha;
}

export function installApp(
  state: GitHubState,
  account: string,
  repos: Repository[],
  sender: string,
): Installation {
  ensureUser(state, account);
  const installation: Installation = {
    id: newId(state),
    account,
    repos: repos.map(fullName),
    createdAt: now(state),
  };
  state.installations.set(installation.id, installation);
  for (const listener of state.listeners)
    listener({
      name: "installation",
      action: "created",
      sender,
      installationId: installation.id,
      fields: {
        installation: installationJson(state, installation),
        repositories: repos.map((r) => ({
          id: r.id,
          node_id: nodeId("R", r.id),
          name: r.name,
          full_name: fullName(r),
          private: r.private,
        })),
      },
    });
  return installation;
}

export function createProject(state: GitHubState, owner: string, title: string): Project {
  ensureUser(state, owner);
  const project: Project = {
    id: newId(state),
    number: state.projects.filter((p) => p.owner.toLowerCase() === owner.toLowerCase()).length + 1,
    owner,
    title,
    closed: false,
    createdAt: now(state),
    fields: [],
    items: [],
  };
  // Every project has these built-in fields.
  project.fields.push({ id: newId(state), name: "Title", dataType: "TITLE", options: [] });
  project.fields.push({
    id: newId(state),
    name: "Status",
    dataType: "SINGLE_SELECT",
    options: ["Todo", "In Progress", "Done"].map((name) => ({
      id: optionId(name),
      name,
      color: "GRAY",
      description: "",
    })),
  });
  state.projects.push(project);
  return project;
}

/**
 * `updateProjectV2Field` with `singleSelectOptions` REPLACES the field's options: GitHub's schema says of
 * UpdateProjectV2FieldInput.singleSelectOptions "If values are present, they will overwrite the existing options
 * for the field", and its ProjectV2SingleSelectFieldOptionInput has no option id, so nothing ties a new option to
 * an old one: every option gets a new id, even one whose name did not change, and every item whose value pointed
 * at a replaced option loses it (https://docs.github.com/en/graphql/reference/input-objects#updateprojectv2fieldinput;
 * seen in practice: modelcontextprotocol/inspector#1823, "orphaned every card's Status"). GitHub documents no
 * webhook for those cleared values, so none is sent.
 */
export function replaceFieldOptions(
  state: GitHubState,
  project: Project,
  field: ProjectField,
  options: readonly { name: string; color: string; description: string }[],
): void {
  field.options = options.map((o) => ({
    id: optionId(`${field.name}/${o.name}/${newId(state)}`),
    name: o.name,
    color: o.color,
    description: o.description,
  }));
  for (const item of project.items) {
    const value = item.values.get(field.id);
    if (
      value &&
      "singleSelectOptionId" in value &&
      !field.options.some((o) => o.id === value.singleSelectOptionId)
    )
      item.values.delete(field.id);
  }
}

/** Single-select option ids are short hex strings in GitHub; here a stable hash of the name. */
export function optionId(name: string): string {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h.toString(16).padStart(8, "0");
}

export function addProjectItem(state: GitHubState, project: Project, contentNodeId: string): ProjectItem {
  const existing = project.items.find((i) => i.contentNodeId === contentNodeId);
  if (existing) return existing;
  const t = now(state);
  const item: ProjectItem = {
    id: newId(state),
    contentNodeId,
    createdAt: t,
    updatedAt: t,
    archived: false,
    values: new Map(),
  };
  project.items.push(item);
  return item;
}

/** Sets (or clears, with `undefined`) a field value and announces `projects_v2_item.edited`. */
export function setItemField(
  state: GitHubState,
  project: Project,
  item: ProjectItem,
  fieldId: number,
  value: FieldValue | undefined,
  sender: string,
): void {
  const field = project.fields.find((f) => f.id === fieldId);
  if (!field) throw new SandboxError(422, "Could not resolve to a ProjectV2Field");
  const from = item.values.get(fieldId);
  if (value === undefined) item.values.delete(fieldId);
  else item.values.set(fieldId, value);
  item.updatedAt = now(state);
  const describe = (v: FieldValue | undefined) => {
    if (!v) return null;
    if ("singleSelectOptionId" in v) {
      const o = field.options.find((x) => x.id === v.singleSelectOptionId);
      return o ? { id: o.id, name: o.name, color: o.color, description: o.description } : null;
    }
    return Object.values(v)[0] ?? null;
  };
  const owner = ensureUser(state, project.owner);
  const installation = [...state.installations.values()].find(
    (i) => i.account.toLowerCase() === project.owner.toLowerCase(),
  );
  const content = contentKind(item.contentNodeId);
  const fields = {
    projects_v2_item: {
      id: item.id,
      node_id: nodeId("PVTI", item.id),
      project_node_id: nodeId("PVT", project.id),
      content_node_id: item.contentNodeId,
      content_type: content,
      creator: repoOwnerJsonLite(state, sender),
      created_at: item.createdAt,
      updated_at: item.updatedAt,
      archived_at: null,
    },
    changes: {
      field_value: {
        field_node_id: nodeId(fieldPrefix(field.dataType), field.id),
        field_type: field.dataType.toLowerCase(),
        field_name: field.name,
        project_number: project.number,
        from: describe(from),
        to: describe(value),
      },
    },
  };
  // GitHub only sends projects_v2_item for organization projects: "activity relating to an item on an
  // organization-level project" (https://docs.github.com/en/webhooks/webhook-events-and-payloads#projects_v2_item).
  if (owner.type !== "Organization") return;
  for (const listener of state.listeners)
    listener({
      name: "projects_v2_item",
      action: "edited",
      sender,
      fields,
      ...(installation ? { installationId: installation.id } : {}),
    });
}

// The item's creator is a full user object in GitHub's payload (webhooks' `user`).
const repoOwnerJsonLite = (state: GitHubState, login: string) => userJson(state, login);

export function fieldPrefix(dataType: string): string {
  return dataType === "SINGLE_SELECT" ? "PVTSSF" : dataType === "ITERATION" ? "PVTIF" : "PVTF";
}

function contentKind(contentNodeId: string): "Issue" | "PullRequest" | "DraftIssue" {
  return contentNodeId.startsWith("PR_")
    ? "PullRequest"
    : contentNodeId.startsWith("I_")
      ? "Issue"
      : "DraftIssue";
}
