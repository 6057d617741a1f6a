/**
 * Domain events: what a webhook delivery means to Trellis, stripped of GitHub's payload shape. The handlers
 * (src/handlers/) only translate payloads into these; deciding what to do belongs to the core and the pipeline.
 */

import type { RepoRef } from "./repo.js";

export type { RepoRef };

export interface Actor {
  login: string;
  /** GitHub's account type: "User", "Bot", "Organization", … */
  type: string;
  /** A bot account (sender.type "Bot", or a `[bot]` login). */
  isBot: boolean;
  /** This App itself (by app id or bot login), whose own events must never trigger anything. */
  isSelf: boolean;
}

/** Who "this App" is, so its own events can be recognised. Both optional: unknown means "not us". */
export interface AppIdentity {
  id?: number;
  /** The App's slug; its bot account is `<slug>[bot]`. */
  slug?: string;
}

interface Base {
  deliveryId: string;
  installationId?: number;
  actor: Actor;
}

interface RepoEvent extends Base {
  repo: RepoRef;
}

export interface IssueInfo {
  number: number;
  /** GraphQL node id and REST id (sub-issues and dependencies take the REST id). */
  id: number;
  nodeId: string;
  title: string;
  /** Bounded to MAX_TEXT_CHARS. */
  body: string;
  isPullRequest: boolean;
  labels: string[];
  /** Who opened it (`user.login`), and how they relate to the repository (`author_association`: OWNER, NONE, …). */
  author: string;
  authorAssociation: string;
}

export type LabelEvent = RepoEvent & {
  kind: "label_added" | "label_removed";
  issue: IssueInfo;
  label: string;
};

export type IssueClosedEvent = RepoEvent & {
  kind: "issue_closed";
  issue: IssueInfo;
  /** "completed", "not_planned", … */
  stateReason?: string;
};

export type CommentCreatedEvent = RepoEvent & {
  kind: "comment_created";
  issue: IssueInfo;
  comment: {
    id: number;
    /** Bounded to MAX_TEXT_CHARS; `truncated` says it was cut. */
    body: string;
    truncated: boolean;
    authorAssociation: string;
    /** Set when the comment was posted through a GitHub App (its id). */
    viaAppId?: number;
    /** The comment author (usually the sender). */
    author: Actor;
  };
};

export type CheckRunRerequestedEvent = RepoEvent & {
  kind: "check_run_rerequested";
  checkRun: {
    id: number;
    externalId: string;
    name: string;
    headSha: string;
    /** The App that owns the check run; only our own are ours to retry. */
    appId?: number;
    ownedBySelf: boolean;
  };
};

export type WorkflowRunEvent = RepoEvent & {
  kind: "workflow_run";
  action: "requested" | "in_progress" | "completed";
  run: {
    id: number;
    runAttempt: number;
    name: string;
    displayTitle: string;
    /** The Trellis attempt id carried in `run-name`, when this is one of ours. */
    attemptId?: string;
    status: string;
    conclusion: string | null;
    htmlUrl: string;
    headSha: string;
    headBranch: string | null;
    /** The workflow file, e.g. `.github/workflows/trellis-agent.yml`. */
    path?: string;
    event: string;
  };
  /** The run's code comes from another repository (a fork): never act on it. */
  fromFork: boolean;
};

export type PullRequestEvent = RepoEvent & {
  kind: "pull_request";
  action: "opened" | "closed";
  pullRequest: {
    number: number;
    id: number;
    /** The GraphQL node id: with the number, what names the very pull request the App opened. */
    nodeId: string;
    merged: boolean;
    headRef: string;
    headSha: string;
    /** `owner/name` of the head repository; null when the fork was deleted. */
    headRepo: string | null;
    baseRef: string;
    title: string;
    /** Bounded to MAX_TEXT_CHARS. */
    body: string;
    author: Actor;
    /** The Trellis run id from the hidden marker in the body, when the App opened it. */
    runId?: string;
  };
  fromFork: boolean;
};

export interface FieldChange {
  fieldNodeId: string;
  fieldType: string;
  from?: unknown;
  to?: unknown;
}

export type ProjectsV2ItemEditedEvent = Base & {
  kind: "projects_v2_item_edited";
  /** The organization (Projects v2 items are org-level events). */
  organization?: string;
  item: {
    nodeId: string;
    projectNodeId: string;
    contentNodeId: string | null;
    contentType: string;
  };
  changes: FieldChange[];
};

export type InstallationEvent = Base & {
  kind: "installation";
  action: "created" | "deleted";
  account: { login: string; id: number; type: string };
  repos: RepoRef[];
};

export type DomainEvent =
  | LabelEvent
  | IssueClosedEvent
  | CommentCreatedEvent
  | CheckRunRerequestedEvent
  | WorkflowRunEvent
  | PullRequestEvent
  | ProjectsV2ItemEditedEvent
  | InstallationEvent;

export type DomainEventKind = DomainEvent["kind"];

// ---------------------------------------------------------------------------------------------
// Helpers shared by the handlers

/** Comments and bodies are bounded (GitHub's own cap is 65,536); hostile input never grows past this. */
