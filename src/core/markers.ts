/**
 * Hidden HTML-comment markers let the App find its own comments, issues and pull requests again after a crash or a
 * redelivery, so it updates them instead of creating duplicates. Pure string functions.
 */

import { shortHash } from "./short-hash.js";

const NAME = /^[a-z][a-z0-9_-]*$/;
const VALUE = /^[A-Za-z0-9_.:#/-]*$/;

/** `<!-- trellis:status -->` or `<!-- trellis:run=run_123 -->`. Names and values are restricted so they parse back. */
export function marker(name: string, value?: string): string {
  if (!NAME.test(name)) throw new Error(`invalid marker name "${name}"`);
  if (value !== undefined && !VALUE.test(value)) throw new Error(`invalid marker value "${value}"`);
  return value === undefined ? `<!-- trellis:${name} -->` : `<!-- trellis:${name}=${value} -->`;
}

/** The value of marker `name` in `text` (empty string for a bare marker), or undefined. */
export function readMarker(text: string | null | undefined, name: string): string | undefined {
  if (!text) return undefined;
  const re = new RegExp(`<!-- trellis:${escape(name)}(?:=([A-Za-z0-9_.:#/-]*))? -->`);
  const m = re.exec(text);
  return m ? (m[1] ?? "") : undefined;
}

export const RUN_MARKER = "run";

// The markers of what the App writes and finds again, in one place.

/** On a run's status comment. */
export const statusMarker = (runId: string): string => marker("status", runId);

/** On a reply the worker posts for an outbox effect (by its key), so a retry finds it instead of posting it again. */
export const replyMarker = (effectKey: string): string => marker("reply", shortHash(effectKey));

/** On a batch's status comment on its tracking issue. */
export const batchStatusMarker = (batchId: string): string => marker("batch-status", batchId);

/** Found on a ticket issue the App created, so a retry after a crash finds it instead of creating another. */
export const ticketMarker = (batchId: string, ticket: string): string =>
  marker("batch-ticket", `${batchId}:${ticket.replace(/[^A-Za-z0-9_.:#/-]/g, "_")}`);

/** On the comment that tells an issue why its board (a user's project) can never work. */
export const boardOwnerMarker = (owner: string): string =>
  marker("board-owner", owner.replace(/[^A-Za-z0-9_.-]/g, "_"));

/** The run id the App put in a pull request body it opened. */
export function runIdFromBody(body: string | null | undefined): string | undefined {
  return readMarker(body, RUN_MARKER) || undefined;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The trailer of the App's commit of an attempt's proposal: a retry of the commit effect finds it on the branch head
 * and does not commit twice.
 */
export const commitTrailer = (attemptId: string): string => `Trellis-Attempt: ${attemptId}`;

/** Whether a commit message carries the trailer of `attemptId` (on a line of its own). */
export const hasCommitTrailer = (message: string, attemptId: string): boolean =>
  message.split("\n").some((line) => line.trim() === commitTrailer(attemptId));
