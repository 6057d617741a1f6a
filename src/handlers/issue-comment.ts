import type { EmitterWebhookEvent } from "@octokit/webhooks";
import type { AppIdentity, DomainEvent } from "./events.js";
import { bound, installationIdOf, toActor, toIssue, toRepo } from "./events.js";

export type IssueCommentPayload = EmitterWebhookEvent<"issue_comment">["payload"];

/**
 * issue_comment.created (on issues and on pull requests) → comment_created, with the body bounded and the author
 * marked as bot/self so the pipeline never reacts to its own or other bots' comments. Edits and deletions: none.
 */
export function toDomainEvent(
  payload: IssueCommentPayload,
  deliveryId: string,
  self: AppIdentity = {},
): DomainEvent | undefined {
  if (payload.action !== "created") return undefined;
  const { comment } = payload;
  const viaAppId = comment.performed_via_github_app?.id ?? undefined;
  const { text, truncated } = bound(comment.body);
  return {
    kind: "comment_created",
    deliveryId,
    installationId: installationIdOf(payload),
    actor: toActor(payload.sender, self, viaAppId),
    repo: toRepo(payload.repository),
    issue: toIssue(payload.issue),
    comment: {
      id: comment.id,
      body: text,
      truncated,
      authorAssociation: comment.author_association,
      ...(viaAppId !== undefined ? { viaAppId } : {}),
      author: toActor(comment.user, self, viaAppId),
    },
  };
}
