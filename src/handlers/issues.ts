import type { EmitterWebhookEvent } from "@octokit/webhooks";
import type { AppIdentity, DomainEvent } from "./events.js";
import { installationIdOf, toActor, toIssue, toRepo } from "./events.js";

export type IssuesPayload =
  | EmitterWebhookEvent<"issues.labeled">["payload"]
  | EmitterWebhookEvent<"issues.unlabeled">["payload"]
  | EmitterWebhookEvent<"issues.closed">["payload"];

/** issues.labeled / unlabeled → label_added / label_removed; issues.closed → issue_closed; other actions: none. */
export function toDomainEvent(
  payload: IssuesPayload | EmitterWebhookEvent<"issues">["payload"],
  deliveryId: string,
  self: AppIdentity = {},
): DomainEvent | undefined {
  const base = {
    deliveryId,
    installationId: installationIdOf(payload),
    actor: toActor(payload.sender, self),
    repo: toRepo(payload.repository),
  };
  switch (payload.action) {
    case "labeled":
    case "unlabeled":
      if (!payload.label) return undefined;
      return {
        ...base,
        kind: payload.action === "labeled" ? "label_added" : "label_removed",
        issue: toIssue(payload.issue),
        label: payload.label.name,
      };
    case "closed":
      return {
        ...base,
        kind: "issue_closed",
        issue: toIssue(payload.issue),
        ...(payload.issue.state_reason ? { stateReason: payload.issue.state_reason } : {}),
      };
    default:
      return undefined;
  }
}
