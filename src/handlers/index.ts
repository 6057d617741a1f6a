import type { EmitterWebhookEvent } from "@octokit/webhooks";
import * as checkRun from "./check-run.js";
import type { AppIdentity, DomainEvent } from "./events.js";
import * as installation from "./installation.js";
import * as issueComment from "./issue-comment.js";
import * as issues from "./issues.js";
import * as projectsV2Item from "./projects-v2-item.js";
import * as pullRequest from "./pull-request.js";
import * as workflowRun from "./workflow-run.js";

export type * from "./events.js";

/** The webhook events Trellis subscribes to (and the Probot `app.on` names to register). */
export const HANDLED_EVENTS = [
  "issues.labeled",
  "issues.unlabeled",
  "issues.closed",
  "issue_comment.created",
  "check_run.rerequested",
  "workflow_run",
  "pull_request.opened",
  "pull_request.closed",
  "projects_v2_item.edited",
  "installation.created",
  "installation.deleted",
] as const;

type Delivery = Pick<EmitterWebhookEvent, "id" | "name" | "payload">;

/** One entry point for the pipeline: any delivery → its domain event, or undefined when Trellis ignores it. */
export function toDomainEvent(delivery: Delivery, self: AppIdentity = {}): DomainEvent | undefined {
  const { id } = delivery;
  switch (delivery.name) {
    case "issues":
      return issues.toDomainEvent(delivery.payload as issues.IssuesPayload, id, self);
    case "issue_comment":
      return issueComment.toDomainEvent(delivery.payload as issueComment.IssueCommentPayload, id, self);
    case "check_run":
      return checkRun.toDomainEvent(delivery.payload as checkRun.CheckRunPayload, id, self);
    case "workflow_run":
      return workflowRun.toDomainEvent(delivery.payload as workflowRun.WorkflowRunPayload, id, self);
    case "pull_request":
      return pullRequest.toDomainEvent(delivery.payload as pullRequest.PullRequestPayload, id, self);
    case "projects_v2_item":
      return projectsV2Item.toDomainEvent(delivery.payload as projectsV2Item.ProjectsV2ItemPayload, id, self);
    case "installation":
      return installation.toDomainEvent(delivery.payload as installation.InstallationPayload, id, self);
    default:
      return undefined;
  }
}
