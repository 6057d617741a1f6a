/**
 * The sandbox's Actions runner: a `workflow_dispatch` on the stand-in is run like GitHub runs the agent workflow —
 * a fresh clone of the repository (over the stand-in's git HTTP with the job's token, which is then removed from
 * the clone's configuration as actions/checkout does with `persist-credentials: false`), the committed Action bundle
 * executed as a child process with the runner's environment (INPUT_*, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
 * GITHUB_EVENT_PATH…), Claude Code pointed at the scripted Messages API, then the result folder (result.json and the
 * proposal's patch) uploaded as the run's artifact, as actions/upload-artifact zips a folder, and the run completed
 * (which sends `workflow_run.completed` to the App). The job's token is read-only: it cannot push (git-http.ts). A run cancelled meanwhile (the cancel API, or its
 * concurrency group) has its job's process tree stopped, as GitHub's runner does, and reports nothing more.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { strToU8, zipSync } from "fflate";
import {
  PROPOSAL_BLOBS_FILE,
  PROPOSAL_FILE,
  RESULT_FILE,
  resultArtifactName,
} from "../../src/core/result.js";
import { cliEnv } from "./fake-anthropic.js";
import type { GitHubServer, Repository, WorkflowRun } from "./github/index.js";
import { examplePayload, fullName } from "./github/index.js";
import { REPO_ROOT } from "./scenario.js";

export const ACTION_ENTRY = join(REPO_ROOT, "action", "dist", "index.js");
export const CLAUDE_BIN = join(REPO_ROOT, "node_modules", ".bin", "claude");

export interface RunnerOptions {
  github: GitHubServer;
  /** The bare repository on disk behind a sandbox repository. */
  repoDir(repo: Repository): string;
  anthropicUrl: string;
  /** The token the workflow's GITHUB_TOKEN stands for (a user token of github-actions[bot] in the stand-in). */
  token: string;
  /** Where work trees and job logs go. */
  dir: string;
  /** The agent's wall-clock limit per run. */
  agentTimeoutMs?: number;
  onJob?: (job: Job) => void;
}

export interface Job {
  runId: number;
  repo: string;
  issue: number;
  stage: string;
  attemptId: string;
  status: "running" | "completed";
  conclusion?: "success" | "failure" | "cancelled";
  /** The result's status as the Action wrote it. */
  resultStatus?: string;
  costUsd?: number;
  log: string;
  startedAt: number;
  finishedAt?: number;
}

export interface Runner {
  jobs: Job[];
  /** Jobs not yet completed. */
  active(): number;
  /** Resolves when no job is running. */
  idle(): Promise<void>;
  stop(): void;
}

/** The GITHUB_OUTPUT file format: `name<<DELIMITER\nvalue\nDELIMITER`. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) out[m[1]!] = m[3]!;
  return out;
}

/** A clone URL without the user and password in it. */
function withoutToken(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  u.username = "";
  u.password = "";
  return u.toString();
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export function createRunner(options: RunnerOptions): Runner {
  const jobs: Job[] = [];
  const running = new Set<Promise<void>>();
  const cancels = new Map<number, AbortController>();
  const unsubscribe = options.github.onWorkflowDispatch((run, repo) => {
    // Called inside the dispatch request: the job starts after GitHub has answered it.
    const cancel = new AbortController();
    cancels.set(run.id, cancel);
    const p = new Promise<void>((r) => setImmediate(r)).then(() => execute(run, repo, cancel.signal));
    running.add(p);
    void p.finally(() => {
      running.delete(p);
      cancels.delete(run.id);
    });
  });
  const unsubscribeCancel = options.github.onWorkflowRunCancelled((run) => cancels.get(run.id)?.abort());
  // Jobs run in process groups of their own, which execa's `cleanup` does not kill when this process exits.
  const groups = new Set<number>();
  const killAll = (): void => {
    for (const pid of groups) killGroup(pid, "SIGKILL");
  };
  process.on("exit", killAll);

  async function execute(run: WorkflowRun, repo: Repository, cancelled: AbortSignal): Promise<void> {
    // Cancelled before a runner picked it up: no job at all.
    if (cancelled.aborted || run.status === "completed") return;
    const job: Job = {
      runId: run.id,
      repo: fullName(repo),
      issue: Number(run.inputs["issue"] ?? 0),
      stage: run.inputs["stage"] ?? "?",
      attemptId: run.inputs["attempt_id"] ?? "",
      status: "running",
      log: join(options.dir, "jobs", `${run.id}.log`),
      startedAt: Date.now(),
    };
    jobs.push(job);
    options.onJob?.(job);
    let conclusion: "success" | "failure" = "failure";
    const artifacts: { name: string; zip: Uint8Array }[] = [];
    const temp = await mkdtemp(join(options.dir, `run-${run.id}-`));
    try {
      options.github.startWorkflowRun(run.id);
      const work = join(temp, "work");
      await mkdir(join(options.dir, "jobs"), { recursive: true });
      // actions/checkout: the dispatch ref, with history (fetch-depth: 0).
      await execa("git", ["clone", "--quiet", "--branch", run.headBranch, options.repoDir(repo), work]);
      // persist-credentials: false — no token left in .git/config for the agent to find.
      await execa("git", ["remote", "set-url", "origin", withoutToken(options.repoDir(repo))], { cwd: work });
      // The project's dependencies (the step definitions import @cucumber/cucumber), as `npm ci` would install.
      await symlink(join(REPO_ROOT, "node_modules"), join(work, "node_modules"), "dir");
      const home = join(temp, "home");
      await mkdir(home, { recursive: true });
      const outputFile = join(temp, "output");
      const summaryFile = join(temp, "summary.md");
      const eventFile = join(temp, "event.json");
      await Promise.all([writeFile(outputFile, ""), writeFile(summaryFile, "")]);
      const inputs: Record<string, string> = {
        ...run.inputs,
        github_token: options.token,
        anthropic_api_key: "sandbox-key",
        claude_args: "",
      };
      await writeFile(
        eventFile,
        JSON.stringify({
          ...examplePayload("workflow_dispatch"),
          inputs: run.inputs,
          ref: `refs/heads/${run.headBranch}`,
          workflow: ".github/workflows/trellis-agent.yml",
        }),
      );
      const env: Record<string, string> = {
        PATH: process.env["PATH"] ?? "",
        LANG: process.env["LANG"] ?? "C.UTF-8",
        ...cliEnv(options.anthropicUrl, home),
        TMPDIR: temp,
        CI: "true",
        CLAUDE_PATH: CLAUDE_BIN,
        GITHUB_ACTIONS: "true",
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: summaryFile,
        GITHUB_EVENT_PATH: eventFile,
        GITHUB_EVENT_NAME: "workflow_dispatch",
        GITHUB_REPOSITORY: fullName(repo),
        GITHUB_WORKSPACE: work,
        GITHUB_RUN_ID: String(run.id),
        GITHUB_REF: `refs/heads/${run.headBranch}`,
        GITHUB_SHA: run.headSha,
        GITHUB_API_URL: options.github.apiUrl,
        GITHUB_SERVER_URL: options.github.url,
        RUNNER_TEMP: temp,
        TRELLIS_AGENT_TIMEOUT_MS: String(options.agentTimeoutMs ?? 90_000),
        ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
      };
      if (cancelled.aborted) throw new Error("the run was cancelled before its job started");
      const subprocess = execa(process.execPath, [ACTION_ENTRY], {
        cwd: work,
        env,
        extendEnv: false,
        reject: false,
        all: true,
        timeout: (options.agentTimeoutMs ?? 90_000) + 60_000,
        // Its own process group, so that a cancel stops the whole job (the Action and Claude Code under it).
        detached: true,
      });
      const stopJob = (): void => {
        killGroup(subprocess.pid, "SIGTERM");
        setTimeout(() => killGroup(subprocess.pid, "SIGKILL"), 5_000).unref();
      };
      cancelled.addEventListener("abort", stopJob, { once: true });
      if (subprocess.pid !== undefined) groups.add(subprocess.pid);
      const proc = await subprocess;
      cancelled.removeEventListener("abort", stopJob);
      if (subprocess.pid !== undefined) groups.delete(subprocess.pid);
      await writeFile(job.log, proc.all ?? "");
      conclusion = proc.exitCode === 0 ? "success" : "failure";
      const outputs = parseOutputFile(await readFile(outputFile, "utf8"));
      const resultDir = outputs["result_dir"] ?? join(temp, "trellis");
      // A cancelled run uploads nothing the App could read.
      const resultText = cancelled.aborted
        ? undefined
        : await readFile(join(resultDir, RESULT_FILE), "utf8").catch(() => undefined);
      if (resultText !== undefined) {
        // actions/upload-artifact of the result folder: one zip holding result.json and, for a change, the patch
        // and the blobs.
        const patch = await readFile(join(resultDir, PROPOSAL_FILE)).catch(() => undefined);
        const blobs = await readFile(join(resultDir, PROPOSAL_BLOBS_FILE)).catch(() => undefined);
        artifacts.push({
          name: resultArtifactName(job.attemptId),
          zip: zipSync({
            [RESULT_FILE]: strToU8(resultText),
            ...(patch ? { [PROPOSAL_FILE]: new Uint8Array(patch) } : {}),
            ...(blobs ? { [PROPOSAL_BLOBS_FILE]: new Uint8Array(blobs) } : {}),
          }),
        });
        const result = JSON.parse(resultText) as { status?: string; costUsd?: number };
        job.resultStatus = result.status;
        job.costUsd = result.costUsd;
      }
    } catch (error) {
      await writeFile(job.log, `runner error: ${String(error)}\n`).catch(() => undefined);
    } finally {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
      job.status = "completed";
      job.conclusion = cancelled.aborted ? "cancelled" : conclusion;
      job.finishedAt = Date.now();
      try {
        options.github.completeWorkflowRun(run.id, { conclusion, artifacts });
      } catch {
        // The stand-in is shutting down.
      }
      options.onJob?.(job);
    }
  }

  return {
    jobs,
    active: () => running.size,
    idle: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    stop: () => {
      unsubscribe();
      unsubscribeCancel();
      process.off("exit", killAll);
    },
  };
}
