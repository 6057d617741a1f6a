import type { EmitterWebhookEvent } from "@octokit/webhooks";
import { runIdFromBody } from "../core/markers.js";
import type { AppIdentity, DomainEvent } from "./events.js";
import { bound, installationIdOf, toActor, toRepo } from "./events.js";

export type PullRequestPayload = EmitterWebhookEvent<"pull_request">["payload"];

/**
 * pull_request opened / closed (with `merged`) → pull_request, carrying the run id from the App's hidden marker so a
 * PR opened for a run links back, and `fromFork` so nothing is ever dispatched for code from a fork.
 */
export function toDomainEvent(
  payload: PullRequestPayload,
  deliveryId: string,
  self: AppIdentity = {},
): DomainEvent | undefined {
  if (payload.action !== "opened" && payload.action !== "closed") return undefined;
  const pr = payload.pull_request;
  const headRepo = pr.head.repo?.full_name ?? null;
  const runId = runIdFromBody(pr.body);
  return {
    kind: "pull_request",
    action: payload.action,
    deliveryId,
    installationId: installationIdOf(payload),
    actor: toActor(payload.sender, self),
    repo: toRepo(payload.repository),
    pullRequest: {
      number: pr.number,
      id: pr.id,
      nodeId: pr.node_id,
      merged: pr.merged === true,
      headRef: pr.head.ref,
      headSha: pr.head.sha,
      headRepo,
      baseRef: pr.base.ref,
      title: pr.title,
      body: bound(pr.body).text,
      author: toActor(pr.user, self),
      ...(runId ? { runId } : {}),
    },
    fromFork: headRepo === null || headRepo.toLowerCase() !== payload.repository.full_name.toLowerCase(),
  };
}
