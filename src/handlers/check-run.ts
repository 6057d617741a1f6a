import type { EmitterWebhookEvent } from "@octokit/webhooks";
import type { AppIdentity, DomainEvent } from "./events.js";
import { installationIdOf, toActor, toRepo } from "./events.js";

export type CheckRunPayload = EmitterWebhookEvent<"check_run">["payload"];

/** check_run.rerequested (GitHub's "Re-run" button) → check_run_rerequested; other actions: none. */
export function toDomainEvent(
  payload: CheckRunPayload,
  deliveryId: string,
  self: AppIdentity = {},
): DomainEvent | undefined {
  if (payload.action !== "rerequested") return undefined;
  const run = payload.check_run;
  const appId = run.app?.id ?? undefined;
  return {
    kind: "check_run_rerequested",
    deliveryId,
    installationId: installationIdOf(payload),
    actor: toActor(payload.sender, self),
    repo: toRepo(payload.repository),
    checkRun: {
      id: run.id,
      externalId: run.external_id ?? "",
      name: run.name,
      headSha: run.head_sha,
      ...(appId !== undefined ? { appId } : {}),
      ownedBySelf: self.id !== undefined && appId === self.id,
    },
  };
}
