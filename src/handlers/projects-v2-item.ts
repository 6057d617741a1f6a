import type { EmitterWebhookEvent } from "@octokit/webhooks";
import type { AppIdentity, DomainEvent, FieldChange } from "./events.js";
import { installationIdOf, toActor } from "./events.js";

export type ProjectsV2ItemPayload = EmitterWebhookEvent<"projects_v2_item">["payload"];

/** projects_v2_item.edited (a card moved or a field changed on the board) → projects_v2_item_edited. */
export function toDomainEvent(
  payload: ProjectsV2ItemPayload,
  deliveryId: string,
  self: AppIdentity = {},
): DomainEvent | undefined {
  if (payload.action !== "edited") return undefined;
  const item = payload.projects_v2_item;
  return {
    kind: "projects_v2_item_edited",
    deliveryId,
    installationId: installationIdOf(payload),
    actor: toActor(payload.sender, self),
    ...(payload.organization ? { organization: payload.organization.login } : {}),
    item: {
      nodeId: item.node_id ?? "",
      projectNodeId: item.project_node_id ?? "",
      contentNodeId: item.content_node_id ?? null,
      contentType: item.content_type,
    },
    changes: fieldChanges(payload.changes),
  };
}

function fieldChanges(changes: unknown): FieldChange[] {
  if (typeof changes !== "object" || changes === null) return [];
  const fv = (changes as { field_value?: Record<string, unknown> }).field_value;
  if (!fv || typeof fv.field_node_id !== "string") return [];
  return [
    {
      fieldNodeId: fv.field_node_id,
      fieldType: typeof fv.field_type === "string" ? fv.field_type : "",
      ...("from" in fv ? { from: fv.from } : {}),
      ...("to" in fv ? { to: fv.to } : {}),
    },
  ];
}
