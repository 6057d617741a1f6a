import { parse } from "yaml";
import type { CheckRun, GitHubState, Repository, StateEvent, Workflow, WorkflowRun } from "./state.js";
import { emit, fullName, newId, now, onStateEvent } from "./state.js";
import { checkRunJson, GITHUB_ACTIONS_APP, githubActionsAppJson } from "./shapes.js";
import { workflowRunEvent } from "./mutations/workflows.js";

/**
 * GitHub Actions' own trigger: a push or a pull request starts each workflow of the repository whose `on:` names
 * that event, read from the workflow files at the event's commit ("Triggering a workflow" → "About workflow
 * triggers": "GitHub searches the .github/workflows directory … for workflow files that are present in the
 * associated commit SHA", https://docs.github.com/en/actions/how-tos/write-workflows/choose-when-workflows-run/trigger-a-workflow).
 * A run gets a check suite of the GitHub Actions App on its head sha and one check run per job ("Using the REST API
 * to interact with checks": GitHub creates a check suite per app and commit,
 * https://docs.github.com/en/rest/guides/using-the-rest-api-to-interact-with-checks).
 *
 * Except when the event was caused by a workflow's GITHUB_TOKEN: "events triggered by the GITHUB_TOKEN, with the
 * exception of workflow_dispatch and repository_dispatch, will not create a new workflow run" (same page,
 * "Triggering a workflow from a workflow"; and "GITHUB_TOKEN", https://docs.github.com/actions/concepts/security/github_token).
 * A GITHUB_TOKEN acts as `github-actions[bot]`, so that is the sender of such events; a push or pull request made
 * with an App's installation token (or a person's token) does start workflows. `workflow_dispatch` runs are
 * mutations.ts `dispatchWorkflow`, which starts them whoever dispatches.
 */

/** The user a workflow's GITHUB_TOKEN acts as. */
export const WORKFLOW_TOKEN_USER = "github-actions[bot]";

/** The activity types a `pull_request` trigger without `types` runs on (GitHub's documented default). */
const PULL_REQUEST_DEFAULT_TYPES = ["opened", "synchronize", "reopened"];

export interface CiStep {
  name?: string;
  run?: string;
  uses?: string;
}

export interface CiJob {
  key: string;
  name: string;
  steps: CiStep[];
}

export interface WorkflowFile {
  path: string;
  name: string;
  on: Map<string, { types?: string[]; branches?: string[] }>;
  jobs: CiJob[];
}

const asStrings = (v: unknown): string[] | undefined =>
  typeof v === "string"
    ? [v]
    : Array.isArray(v)
      ? v.filter((x): x is string => typeof x === "string")
      : undefined;

/** A workflow file's name, triggers and jobs, or undefined when it is not valid YAML of a workflow. */
export function parseWorkflowFile(path: string, text: string): WorkflowFile | undefined {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== "object") return undefined;
  const d = doc as Record<string, unknown>;
  const on = new Map<string, { types?: string[]; branches?: string[] }>();
  const raw = d["on"] ?? d["true"]; // YAML 1.1 readers turn a bare `on` key into true
  for (const name of asStrings(raw) ?? []) on.set(name, {});
  if (raw && typeof raw === "object" && !Array.isArray(raw))
    for (const [name, spec] of Object.entries(raw as Record<string, unknown>)) {
      const s = (spec ?? {}) as Record<string, unknown>;
      const types = asStrings(s["types"]);
      const branches = asStrings(s["branches"]);
      on.set(name, { ...(types ? { types } : {}), ...(branches ? { branches } : {}) });
    }
  const jobs: CiJob[] = [];
  for (const [key, job] of Object.entries((d["jobs"] ?? {}) as Record<string, unknown>)) {
    const j = (job ?? {}) as Record<string, unknown>;
    const steps = (Array.isArray(j["steps"]) ? j["steps"] : []) as Record<string, unknown>[];
    jobs.push({
      key,
      name: typeof j["name"] === "string" ? j["name"] : key,
      steps: steps.map((s) => ({
        ...(typeof s["name"] === "string" ? { name: s["name"] } : {}),
        ...(typeof s["run"] === "string" ? { run: s["run"] } : {}),
        ...(typeof s["uses"] === "string" ? { uses: s["uses"] } : {}),
      })),
    });
  }
  return { path, name: typeof d["name"] === "string" ? d["name"] : path, on, jobs };
}

/** `*` matches within a path segment, `**` across them (the filter pattern cheat sheet's basics). */
function globMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split("**")
    .map((part) =>
      part
        .split("*")
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^/]*"),
    )
    .join(".*");
  return new RegExp(`^${source}$`).test(value);
}

/** Whether `workflow` runs on `event` (with its activity type) for `branch` (pushed, or the PR's base). */
export function triggers(
  workflow: WorkflowFile,
  event: "push" | "pull_request",
  branch: string,
  action?: string,
): boolean {
  const spec = workflow.on.get(event);
  if (!spec) return false;
  if (event === "pull_request" && !(spec.types ?? PULL_REQUEST_DEFAULT_TYPES).includes(action ?? ""))
    return false;
  return !spec.branches || spec.branches.some((b) => globMatch(b, branch));
}

export interface CiExecution {
  repo: Repository;
  run: WorkflowRun;
  workflow: WorkflowFile;
  job: CiJob;
  checkRun: CheckRun;
}

export interface CiResult {
  conclusion: "success" | "failure" | "timed_out" | "cancelled";
  summary?: string;
}

export interface ActionsOptions {
  /** Runs one job (the sandbox runs its `run:` steps in a fresh checkout); without it runs stay queued. */
  execute?: (execution: CiExecution) => Promise<CiResult>;
}

export interface Actions {
  /** Runs started by pushes and pull requests, in order. */
  runs: WorkflowRun[];
  /** Resolves when every started run has completed (or was left queued for want of an executor). */
  idle(): Promise<void>;
  /** Stops starting runs; queued runs are left as they are. */
  stop(): void;
}

interface Trigger {
  repo: Repository;
  event: "push" | "pull_request";
  action?: string;
  sha: string;
  headBranch: string;
  /** The pushed branch, or the pull request's base (what `branches:` filters). */
  filterBranch: string;
  title: string;
  actor: string;
}

/** The trigger a state event is, or undefined (not a push or pull request, or caused by a GITHUB_TOKEN). */
export function triggerOf(event: StateEvent): Trigger | undefined {
  if (!event.repo || event.sender.toLowerCase() === WORKFLOW_TOKEN_USER) return undefined;
  const f = event.fields;
  if (event.name === "push") {
    const ref = String(f["ref"] ?? "");
    if (f["deleted"] === true || !ref.startsWith("refs/heads/")) return undefined;
    const branch = ref.slice("refs/heads/".length);
    const head = f["head_commit"] as { message?: string } | null;
    return {
      repo: event.repo,
      event: "push",
      sha: String(f["after"]),
      headBranch: branch,
      filterBranch: branch,
      title: (head?.message ?? "").split("\n")[0] ?? "",
      actor: event.sender,
    };
  }
  if (event.name === "pull_request") {
    const pr = f["pull_request"] as
      { title?: string; head?: { ref?: string; sha?: string }; base?: { ref?: string } } | undefined;
    if (!pr?.head?.sha) return undefined;
    return {
      repo: event.repo,
      event: "pull_request",
      ...(event.action ? { action: event.action } : {}),
      sha: pr.head.sha,
      headBranch: pr.head.ref ?? "",
      filterBranch: pr.base?.ref ?? "",
      title: pr.title ?? "",
      actor: event.sender,
    };
  }
  return undefined;
}

/** GitHub Actions for every repository of `state`: starts runs on pushes and pull requests (see above). */
export function startActions(state: GitHubState, options: ActionsOptions = {}): Actions {
  const runs: WorkflowRun[] = [];
  let stopped = false;
  // Runs start in the order their events happened; jobs run one after another (the sandbox has few cores).
  let starting: Promise<unknown> = Promise.resolve();
  let running: Promise<unknown> = Promise.resolve();
  const unsubscribe = onStateEvent(state, (event) => {
    const trigger = triggerOf(event);
    if (!trigger) return;
    // Started after the event's own delivery was queued, so the runs' deliveries follow it.
    starting = starting
      .then(async () => {
        if (stopped) return;
        for (const s of await start(trigger))
          running = running.then(() => (stopped ? undefined : execute(s))).catch(() => undefined);
      })
      .catch(() => undefined);
  });

  async function workflowFiles(repo: Repository, sha: string): Promise<WorkflowFile[]> {
    const dir = await repo.backend.read(sha, ".github/workflows");
    if (dir?.type !== "dir") return [];
    const out: WorkflowFile[] = [];
    for (const entry of dir.entries) {
      if (entry.type !== "file" || !/\.ya?ml$/.test(entry.name)) continue;
      const file = await repo.backend.read(sha, entry.path);
      const parsed =
        file?.type === "file" ? parseWorkflowFile(entry.path, file.content.toString("utf8")) : undefined;
      if (parsed) out.push(parsed);
    }
    return out;
  }

  function workflowOf(repo: Repository, file: WorkflowFile): Workflow {
    for (const w of repo.workflows.values()) if (w.path === file.path) return w;
    const w: Workflow = { id: newId(state), path: file.path, name: file.name };
    repo.workflows.set(w.id, w);
    return w;
  }

  interface Started {
    repo: Repository;
    run: WorkflowRun;
    workflow: WorkflowFile;
    checkRuns: { job: CiJob; checkRun: CheckRun }[];
  }

  async function start(t: Trigger): Promise<Started[]> {
    const started: Started[] = [];
    for (const file of await workflowFiles(t.repo, t.sha)) {
      if (!triggers(file, t.event, t.filterBranch, t.action)) continue;
      const w = workflowOf(t.repo, file);
      const at = now(state);
      const run: WorkflowRun = {
        id: newId(state),
        workflowId: w.id,
        displayTitle: t.title || w.name,
        headBranch: t.headBranch,
        headSha: t.sha,
        event: t.event,
        status: "queued",
        conclusion: null,
        inputs: {},
        actor: t.actor,
        runNumber: [...t.repo.workflowRuns.values()].filter((r) => r.workflowId === w.id).length + 1,
        createdAt: at,
        updatedAt: at,
        artifacts: [],
        checkSuiteId: newId(state),
      };
      t.repo.workflowRuns.set(run.id, run);
      runs.push(run);
      workflowRunEvent(state, t.repo, run, "requested");
      const checkRuns = file.jobs.map((job) => {
        const checkRun: CheckRun = {
          id: newId(state),
          name: job.name,
          headSha: t.sha,
          externalId: null,
          status: "queued",
          conclusion: null,
          detailsUrl: null,
          startedAt: at,
          completedAt: null,
          output: { title: null, summary: null, text: null },
          annotations: [],
          appId: GITHUB_ACTIONS_APP.id,
          checkSuiteId: run.checkSuiteId!,
        };
        checkRun.detailsUrl = `${state.htmlBase}/${fullName(t.repo)}/actions/runs/${run.id}/job/${checkRun.id}`;
        t.repo.checkRuns.set(checkRun.id, checkRun);
        checkRunEvent(t.repo, checkRun, "created", t.actor);
        return { job, checkRun };
      });
      started.push({ repo: t.repo, run, workflow: file, checkRuns });
    }
    return started;
  }

  async function execute(s: Started): Promise<void> {
    const execute = options.execute;
    if (!execute) return;
    const { repo, run } = s;
    run.status = "in_progress";
    run.updatedAt = now(state);
    workflowRunEvent(state, repo, run, "in_progress");
    let failed: CiResult["conclusion"] | undefined;
    for (const { job, checkRun } of s.checkRuns) {
      checkRun.status = "in_progress";
      checkRun.startedAt = now(state);
      const result = await execute({ repo, run, workflow: s.workflow, job, checkRun }).catch(
        (error: unknown): CiResult => ({ conclusion: "failure", summary: String(error) }),
      );
      checkRun.status = "completed";
      checkRun.conclusion = result.conclusion;
      checkRun.completedAt = now(state);
      checkRun.output = { title: null, summary: result.summary ?? null, text: null };
      checkRunEvent(repo, checkRun, "completed", run.actor);
      if (result.conclusion !== "success") failed ??= result.conclusion;
    }
    run.status = "completed";
    run.conclusion = failed ?? "success";
    run.updatedAt = now(state);
    emit(state, {
      name: "check_suite",
      action: "completed",
      repo,
      sender: run.actor,
      fields: { check_suite: checkSuiteJson(repo, run, s.checkRuns.length) },
    });
    workflowRunEvent(state, repo, run, "completed");
  }

  function checkRunEvent(repo: Repository, checkRun: CheckRun, action: string, sender: string): void {
    emit(state, {
      name: "check_run",
      action,
      repo,
      sender,
      fields: { check_run: checkRunJson(state, repo, checkRun) },
    });
  }

  function checkSuiteJson(repo: Repository, run: WorkflowRun, count: number): Record<string, unknown> {
    const api = `${state.apiBase}/repos/${fullName(repo)}`;
    return {
      id: run.checkSuiteId,
      node_id: `CS_${Buffer.from(String(run.checkSuiteId)).toString("base64url")}`,
      head_branch: run.headBranch,
      head_sha: run.headSha,
      status: run.status,
      conclusion: run.conclusion,
      url: `${api}/check-suites/${run.checkSuiteId}`,
      before: null,
      after: run.headSha,
      pull_requests: [],
      app: githubActionsAppJson(state),
      created_at: run.createdAt,
      updated_at: run.updatedAt,
      rerequestable: true,
      runs_rerequestable: true,
      latest_check_runs_count: count,
      check_runs_url: `${api}/check-suites/${run.checkSuiteId}/check-runs`,
      head_commit: {
        id: run.headSha,
        tree_id: run.headSha,
        message: run.displayTitle,
        timestamp: run.createdAt,
        author: { name: run.actor, email: `${run.actor}@users.noreply.github.com` },
        committer: { name: "GitHub", email: "noreply@github.com" },
      },
    };
  }

  return {
    runs,
    idle: async () => {
      for (;;) {
        const [s, r] = [starting, running];
        await Promise.all([s, r]);
        if (s === starting && r === running) return;
      }
    },
    stop: () => {
      stopped = true;
      unsubscribe();
    },
  };
}
