import type { Octokit } from "@octokit/core";
import type { PaginateInterface } from "@octokit/plugin-paginate-rest";
import type { Api } from "@octokit/plugin-rest-endpoint-methods";
import type { RepoRef } from "../core/repo.js";
import { scrubSecrets } from "../core/secrets.js";

/**
 * The Octokit the executors need: core `request`, the REST endpoint methods and `paginate`. Probot's ProbotOctokit
 * (with retry and throttling), @octokit/rest's Octokit and @actions/github's client all fit.
 */
export type GitHub = Octokit & Api & { paginate: PaginateInterface };

export const repoParams = (repo: RepoRef): { owner: string; repo: string } => ({
  owner: repo.owner,
  repo: repo.name,
});

/** The HTTP status of an Octokit RequestError (or anything shaped like one). */
export function statusOf(error: unknown): number | undefined {
  if (typeof error === "object" && error !== null && "status" in error) {
    const status = (error as { status: unknown }).status;
    return typeof status === "number" ? status : undefined;
  }
  return undefined;
}

/**
 * Whether retrying later may succeed: network errors, 5xx, 429, and 403s that are rate limits. The outbox worker
 * retries these with backoff; everything else is a permanent failure reported to the user.
 */
export function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  if (status === undefined) return true; // no response at all: network, DNS, timeouts
  if (status >= 500 || status === 429 || status === 408) return true;
  if (status === 403) {
    const headers = (error as { response?: { headers?: Record<string, string | undefined> } }).response
      ?.headers;
    const message = error instanceof Error ? error.message : "";
    return (
      headers?.["x-ratelimit-remaining"] === "0" ||
      headers?.["retry-after"] !== undefined ||
      /rate limit/i.test(message)
    );
  }
  return false;
}

/**
 * Text on its way to GitHub (bodies, titles, check-run output): whatever looks like a credential is masked, whoever
 * wrote it. Agent-written text was scrubbed when the result was read; this is the second net, at the door.
 */
export const outgoingText = (text: string): string => scrubSecrets(text);

/** GitHub caps comment, issue and PR bodies at 65,536 characters; longer bodies are cut with a note. */
export const MAX_BODY_CHARS = 65_536;

export function boundBody(text: string, max = MAX_BODY_CHARS): string {
  const body = outgoingText(text);
  if (body.length <= max) return body;
  const note = "\n\n… (truncated)";
  return cutText(body, max - note.length) + note;
}

/**
 * The first `max` UTF-16 units of `text`, one fewer when the cut would split a surrogate pair (half an emoji is
 * not Unicode text). GitHub counts code points, never more than UTF-16 units, so the result fits its limits.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** GitHub's OpenAPI types some ids as int64 (`number | bigint`); JSON only ever gives numbers that fit. */
export const idOf = (id: number | bigint): number => Number(id);
