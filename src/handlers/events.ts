/**
 * Helpers the handlers share to turn webhook payloads into domain events (src/core/events.ts, re-exported
 * here so handlers and the shell import one module).
 */
import type { Actor, AppIdentity, IssueInfo, RepoRef } from "../core/events.js";

export type * from "../core/events.js";

export const MAX_TEXT_CHARS = 65_536;

export function bound(
  text: string | null | undefined,
  max = MAX_TEXT_CHARS,
): { text: string; truncated: boolean } {
  const t = text ?? "";
  return t.length > max ? { text: t.slice(0, max), truncated: true } : { text: t, truncated: false };
}

interface SenderLike {
  login: string;
  type?: string;
  id?: number;
}

export function toActor(
  user: SenderLike | null | undefined,
  self: AppIdentity = {},
  viaAppId?: number,
): Actor {
  const login = user?.login ?? "ghost";
  const type = user?.type ?? "User";
  const isBot = type === "Bot" || login.endsWith("[bot]");
  const isSelf =
    (self.slug !== undefined && login.toLowerCase() === `${self.slug}[bot]`.toLowerCase()) ||
    (self.id !== undefined && viaAppId === self.id);
  return { login, type, isBot, isSelf };
}

export function toRepo(repository: { name: string; id?: number; owner: { login: string } | null }): RepoRef {
  return { owner: repository.owner?.login ?? "", name: repository.name, id: repository.id };
}

export function installationIdOf(payload: { installation?: { id: number } | null }): number | undefined {
  return payload.installation?.id ?? undefined;
}

interface IssueLike {
  number: number;
  id: number;
  node_id: string;
  title: string;
  body?: string | null;
  pull_request?: unknown;
  labels?: ({ name: string } | string)[] | null;
  user?: { login: string } | null;
  author_association?: string | null;
}

export function toIssue(issue: IssueLike): IssueInfo {
  return {
    number: issue.number,
    id: issue.id,
    nodeId: issue.node_id,
    title: issue.title,
    body: bound(issue.body).text,
    isPullRequest: issue.pull_request !== undefined && issue.pull_request !== null,
    labels: (issue.labels ?? []).map((l) => (typeof l === "string" ? l : l.name)),
    author: issue.user?.login ?? "ghost",
    // GitHub always sends it; a payload without it is treated as an outsider's issue (src/core/outsiders.ts).
    authorAssociation: issue.author_association ?? "NONE",
  };
}
