import type { CheckRun, GitHubState, Repository } from "../state.js";
import { emit, newId, now } from "../state.js";
import { SandboxError } from "../errors.js";
import { checkRunJson } from "../shapes.js";

/** Check runs: created, completed and re-requested. */

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
