/**
 * What the imperative shell needs from the outside world, in one place, so the App, the sandbox and
 * the tests wire the same pipeline with different GitHub clients, clocks and databases.
 */
import { randomBytes } from "node:crypto";
import type { AppIdentity, DomainEvent } from "../handlers/events.js";
import type { GitHub } from "../github/client.js";
import type { PermissionChecker } from "../github/permissions.js";
import type { SelfIdentity } from "../github/self.js";
import type { BatchEffect } from "../core/batch/machine.js";
import type { Definitions } from "../core/definitions.js";
import type { Effect } from "../core/model.js";
import type { Db } from "../store/db.js";
import type { AppCaches } from "./caches.js";
import type { Metrics } from "./metrics.js";

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export interface AppDeps {
  db: Db;
  /** An installation-authenticated client (Probot's `app.auth(id)`). */
  github(installationId: number | undefined): Promise<GitHub>;
  self: AppIdentity;
  /** Built-in profiles and templates by path (src/builtins.ts). */
  builtins: ReadonlyMap<string, string>;
  permissions: PermissionChecker;
  now(): number;
  log: Logger;
  metrics: Metrics;
  /** Nudges the effect worker: new rows are waiting. */
  wake(): void;
  /** What this App keeps in memory between events (definitions, boards, known node ids). */
  caches: AppCaches;
}

/** Where an effect acts: the repository, the issue, and the run when there is one. */
export interface Target {
  installationId?: number;
  repo: { owner: string; name: string };
  issue: number;
  runId?: string;
  /** The batch, for the effects of a tracking issue. */
  batchId?: string;
}

/** What a decision is applied for: where, under which definitions, on whose behalf, and the event that asked. */
export interface DecisionScope {
  target: Target;
  defs: Definitions;
  actor: string;
  event?: DomainEvent;
}

/** What an effect executor works with: the App, the installation's client, and where the effect acts. */
export interface EffectContext {
  deps: AppDeps;
  octokit: GitHub;
  target: Target;
  /** Set when an earlier try of this effect may have done its work before it crashed or lost GitHub's answer. */
  retry?: EffectRetry;
}

/** A retried effect: GitHub is asked what its earlier tries did since `since` before anything is done again. */
export interface EffectRetry {
  /** When the effect was stored, less a margin for the clocks of GitHub and the database. */
  since: Date;
}

/** Outbox rows the shell stores: a received event to process, or an effect to carry out. */
export type ShellEffect =
  | Effect
  | { type: "reaction"; key: string; commentId: number; content: "eyes" | "rocket" | "confused" }
  | { type: "tick"; key: string; at: number }
  | Extract<
      BatchEffect,
      {
        type:
          | "batch_issue"
          | "batch_link"
          | "batch_status"
          | "batch_refine"
          | "batch_refine_deadline"
          | "cancel_workflow_run";
      }
    >;

export type OutboxPayload =
  { kind: "event"; event: DomainEvent } | { kind: "effect"; target: Target; effect: ShellEffect };

/** How the App recognises what it wrote itself (GitHub names an App's bot user `<slug>[bot]`). */
export const selfIdentity = (deps: Pick<AppDeps, "self">): SelfIdentity => ({
  ...(deps.self.slug ? { login: `${deps.self.slug}[bot]` } : {}),
  ...(deps.self.id !== undefined ? { appId: deps.self.id } : {}),
});

export const repoName = (repo: { owner: string; name: string }): string => `${repo.owner}/${repo.name}`;

/** Short, sortable-enough, unguessable ids: `run_…`, `att_…`. */
export function newId(prefix: "run" | "att" | "bat"): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(8).toString("hex")}`;
}
