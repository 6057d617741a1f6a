import type { EmitterWebhookEvent } from "@octokit/webhooks";
import { attemptIdFromRunName } from "../core/dispatch.js";
import type { AppIdentity, DomainEvent } from "./events.js";
import { installationIdOf, toActor, toRepo } from "./events.js";

export type WorkflowRunPayload = EmitterWebhookEvent<"workflow_run">["payload"];

/**
 * workflow_run requested / in_progress / completed → workflow_run, with the Trellis attempt id read from the run's
 * display title (`run-name`) and `fromFork` set when the run's head repository is not the repository itself.
 */
export function toDomainEvent(
  payload: WorkflowRunPayload,
  deliveryId: string,
  self: AppIdentity = {},
): DomainEvent | undefined {
  const action = payload.action;
  if (action !== "requested" && action !== "in_progress" && action !== "completed") return undefined;
  const run = payload.workflow_run;
  // Older payload schemas lack display_title; the run's name is then the best we have.
  const displayTitle = ("display_title" in run ? run.display_title : undefined) ?? run.name ?? "";
  const attemptId = attemptIdFromRunName(displayTitle);
  const headRepo = run.head_repository?.full_name ?? null;
  return {
    kind: "workflow_run",
    action,
    deliveryId,
    installationId: installationIdOf(payload),
    actor: toActor(payload.sender, self),
    repo: toRepo(payload.repository),
    run: {
      id: run.id,
      runAttempt: run.run_attempt ?? 1,
      name: run.name ?? "",
      displayTitle,
      ...(attemptId ? { attemptId } : {}),
      status: run.status ?? "",
      conclusion: run.conclusion ?? null,
      htmlUrl: run.html_url,
      headSha: run.head_sha,
      headBranch: run.head_branch ?? null,
      ...(run.path ? { path: run.path } : {}),
      event: run.event,
    },
    // A missing head repository (deleted fork) is treated as a fork: when in doubt, do not act.
    fromFork: headRepo === null || headRepo.toLowerCase() !== payload.repository.full_name.toLowerCase(),
  };
}
