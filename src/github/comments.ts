import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { boundBody, idOf, repoParams, statusOf } from "./client.js";
import { writtenBySelf, type SelfIdentity } from "./self.js";

export type { SelfIdentity };

export type UpsertOutcome = { id: number; action: "created" | "updated" | "unchanged" };

/**
 * What this process last wrote per marked comment, per Octokit (one per installation, so ids never leak between
 * installations or stand-ins): the comment's id and body. Steady-state updates then cost one PATCH and no listing;
 * a body equal to the last one written costs nothing. The marker search stays the fallback (after a restart, or
 * when the remembered comment is gone).
 */
const remembered = new WeakMap<object, Map<string, { id: number; body: string }>>();

function memoOf(octokit: GitHub): Map<string, { id: number; body: string }> {
  let memo = remembered.get(octokit);
  if (!memo) remembered.set(octokit, (memo = new Map()));
  return memo;
}

/**
 * The one comment carrying `marker` on an issue, edited in place: found again by the hidden marker among the App's
 * own comments (a human quoting the marker cannot hijack it), updated when it differs, created when absent.
 */
export async function upsertMarkedComment(
  octokit: GitHub,
  repo: RepoRef,
  issue: number,
  marker: string,
  body: string,
  self: SelfIdentity = {},
): Promise<UpsertOutcome> {
  const full = withMarker(body, marker);
  const memo = memoOf(octokit);
  const key = `${repo.owner}/${repo.name}#${issue}\n${marker}`.toLowerCase();
  const known = memo.get(key);
  if (known) {
    if (known.body === full) return { id: known.id, action: "unchanged" };
    try {
      await octokit.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
        ...repoParams(repo),
        comment_id: known.id,
        body: full,
      });
      memo.set(key, { id: known.id, body: full });
      return { id: known.id, action: "updated" };
    } catch (error) {
      // Deleted meanwhile: forget it and look again by marker (which recreates it if need be).
      memo.delete(key);
      if (statusOf(error) !== 404) throw error;
    }
  }
  const outcome = await findAndUpsert(octokit, repo, issue, marker, full, self);
  memo.set(key, { id: outcome.id, body: full });
  return outcome;
}

async function findAndUpsert(
  octokit: GitHub,
  repo: RepoRef,
  issue: number,
  marker: string,
  full: string,
  self: SelfIdentity,
): Promise<UpsertOutcome> {
  const comments = await octokit.paginate("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
    ...repoParams(repo),
    issue_number: issue,
    per_page: 100,
  });
  // Comments come oldest first; the newest of ours wins should a crash ever have left two.
  const existing = comments.filter((c) => c.body?.includes(marker) && writtenBySelf(c, self)).at(-1);
  if (existing) {
    if (existing.body === full) return { id: existing.id, action: "unchanged" };
    await octokit.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
      ...repoParams(repo),
      comment_id: existing.id,
      body: full,
    });
    return { id: existing.id, action: "updated" };
  }
  const { data } = await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
    ...repoParams(repo),
    issue_number: issue,
    body: full,
  });
  return { id: idOf(data.id), action: "created" };
}

export function withMarker(body: string, marker: string): string {
  return `${boundBody(body, 65_536 - marker.length - 2)}\n\n${marker}`;
}

/**
 * A plain reply on an issue or PR (errors, /help, refusals, questions for a human), carrying `marker` (hidden) when
 * given. `retrySince` says an earlier try may have posted it before its answer was lost: the App's comments since
 * then are searched for the marker first, so a retried reply is posted once.
 */
export async function reply(
  octokit: GitHub,
  repo: RepoRef,
  issue: number,
  body: string,
  options: { marker?: string; retrySince?: Date; self?: SelfIdentity } = {},
): Promise<{ id: number }> {
  const { marker } = options;
  if (marker && options.retrySince) {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      ...repoParams(repo),
      issue_number: issue,
      since: options.retrySince.toISOString(),
      per_page: 100,
    });
    const posted = data.find((c) => c.body?.includes(marker) && writtenBySelf(c, options.self ?? {}));
    if (posted) return { id: idOf(posted.id) };
  }
  const { data } = await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
    ...repoParams(repo),
    issue_number: issue,
    body: marker ? withMarker(body, marker) : boundBody(body),
  });
  return { id: idOf(data.id) };
}

export type Reaction = "+1" | "-1" | "laugh" | "confused" | "heart" | "hooray" | "rocket" | "eyes";

/** React to an issue comment; GitHub answers 200 for a reaction that already exists, so this is idempotent. */
export async function addReaction(
  octokit: GitHub,
  repo: RepoRef,
  commentId: number,
  content: Reaction,
): Promise<void> {
  await octokit.request("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", {
    ...repoParams(repo),
    comment_id: commentId,
    content,
  });
}
