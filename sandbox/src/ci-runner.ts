/**
 * The sandbox's runner for the repository's own CI (github/ci.ts starts the runs): a job runs for real, cheaply —
 * a fresh checkout of the run's head sha, then each `run:` step in `sh -e` with a runner's environment and a time
 * limit. `uses:` steps need nothing here: the checkout is actions/checkout, and the runner already has Node.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import type { CiExecution, CiResult, Repository } from "./github/index.js";
import { fullName } from "./github/index.js";

export interface CiRunnerOptions {
  /** The bare repository on disk behind a sandbox repository. */
  repoDir(repo: Repository): string;
  /** Where checkouts and job logs go (`<dir>/ci/<run>-<job>.log`). */
  dir: string;
  /** A job's wall-clock limit (default 120 s); a job over it ends `timed_out`. */
  timeoutMs?: number;
}

export function ciRunner(options: CiRunnerOptions): (execution: CiExecution) => Promise<CiResult> {
  return async ({ repo, run, job }) => {
    const logs = join(options.dir, "ci");
    await mkdir(logs, { recursive: true });
    const temp = await mkdtemp(join(options.dir, `ci-${run.id}-`));
    const work = join(temp, "work");
    const lines: string[] = [];
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    try {
      await execa("git", ["clone", "--quiet", "--shared", "--no-checkout", options.repoDir(repo), work]);
      await execa("git", ["checkout", "--quiet", "--detach", run.headSha], { cwd: work });
      await mkdir(join(temp, "home"), { recursive: true });
      const env: Record<string, string> = {
        PATH: process.env["PATH"] ?? "",
        LANG: process.env["LANG"] ?? "C.UTF-8",
        HOME: join(temp, "home"),
        TMPDIR: temp,
        CI: "true",
        GITHUB_ACTIONS: "true",
        GITHUB_EVENT_NAME: run.event,
        GITHUB_REPOSITORY: fullName(repo),
        GITHUB_RUN_ID: String(run.id),
        GITHUB_SHA: run.headSha,
        GITHUB_REF: `refs/heads/${run.headBranch}`,
        GITHUB_WORKSPACE: work,
        RUNNER_TEMP: temp,
      };
      for (const step of job.steps) {
        const label = step.name ?? step.run ?? step.uses ?? "step";
        if (!step.run) {
          lines.push(`== ${label}: nothing to do in the sandbox`);
          continue;
        }
        lines.push(`== ${label}`);
        // Its own process group, so that a timeout ends the whole step (npm and the tests it started), not just sh.
        const child = execa("sh", ["-e", "-c", step.run], {
          cwd: work,
          env,
          extendEnv: false,
          reject: false,
          all: true,
          detached: true,
        });
        let timedOut = false;
        const timer = setTimeout(
          () => {
            timedOut = true;
            try {
              if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
            } catch {
              // already gone
            }
          },
          Math.max(1, deadline - Date.now()),
        );
        const proc = await child.finally(() => clearTimeout(timer));
        lines.push(proc.all ?? "");
        if (timedOut) return { conclusion: "timed_out", summary: `\`${label}\` timed out` };
        if (proc.exitCode !== 0)
          return { conclusion: "failure", summary: `\`${label}\` failed with exit code ${proc.exitCode}` };
      }
      return { conclusion: "success", summary: `${job.steps.length} steps passed` };
    } catch (error) {
      lines.push(`runner error: ${String(error)}`);
      return { conclusion: "failure", summary: "The job could not start" };
    } finally {
      await writeFile(join(logs, `${run.id}-${job.key}.log`), lines.join("\n")).catch(() => undefined);
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    }
  };
}
