import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { boundBody, idOf, outgoingText, repoParams } from "./client.js";
import { writtenBySelf, type SelfIdentity } from "./self.js";

export interface IssueRef {
  number: number;
  /** The REST id, which sub-issues and dependencies take. */
  id: number;
  nodeId: string;
  url: string;
  created: boolean;
}

export interface NewIssue {
  title: string;
  body: string;
  labels?: string[];
  /**
   * A hidden marker (see markers.ts) that makes creation idempotent: an issue the App wrote that already carries
   * it is returned instead of creating a second one. Searched among the most recently created issues.
   */
  marker?: string;
}

/** An existing issue as the batch needs it: its number, REST id, node id, title, label names and author. */
export interface IssueSummary {
  number: number;
  id: number;
  nodeId: string;
  title: string;
  labels: string[];
  /** Who opened it, and how they relate to the repository (`author_association`: OWNER, COLLABORATOR, NONE, …). */
  author: { login: string; association: string };
}

export async function getIssue(octokit: GitHub, repo: RepoRef, number: number): Promise<IssueSummary> {
  const { data } = await octokit.request("GET /repos/{owner}/{repo}/issues/{issue_number}", {
    ...repoParams(repo),
    issue_number: number,
  });
  return {
    number: data.number,
    id: idOf(data.id),
    nodeId: data.node_id,
    title: data.title,
    labels: data.labels.map((l) => (typeof l === "string" ? l : (l.name ?? ""))),
    author: { login: data.user?.login ?? "ghost", association: data.author_association ?? "NONE" },
  };
}

/** How many recent issues are scanned for an idempotency marker (newest first). */
export const MARKER_SCAN_LIMIT = 300;

export async function createIssue(
  octokit: GitHub,
  repo: RepoRef,
  issue: NewIssue,
  self: SelfIdentity = {},
): Promise<IssueRef> {
  if (issue.marker) {
    const existing = await findIssueByMarker(octokit, repo, issue.marker, self);
    if (existing) return existing;
  }
  const body = issue.marker
    ? `${boundBody(issue.body, 65_536 - issue.marker.length - 2)}\n\n${issue.marker}`
    : boundBody(issue.body);
  const { data } = await octokit.request("POST /repos/{owner}/{repo}/issues", {
    ...repoParams(repo),
    title: outgoingText(issue.title).slice(0, 256),
    body,
    ...(issue.labels && issue.labels.length > 0 ? { labels: issue.labels } : {}),
  });
  return { number: data.number, id: idOf(data.id), nodeId: data.node_id, url: data.html_url, created: true };
}

/** The App's own issue carrying `marker`: one anybody else wrote is ignored (an outsider can plant any marker). */
async function findIssueByMarker(
  octokit: GitHub,
  repo: RepoRef,
  marker: string,
  self: SelfIdentity,
): Promise<IssueRef | undefined> {
  let scanned = 0;
  for await (const { data } of octokit.paginate.iterator("GET /repos/{owner}/{repo}/issues", {
    ...repoParams(repo),
    state: "all",
    sort: "created",
    direction: "desc",
    per_page: 100,
  })) {
    const hit = data.find((i) => !i.pull_request && i.body?.includes(marker) && writtenBySelf(i, self));
    if (hit)
      return { number: hit.number, id: hit.id, nodeId: hit.node_id, url: hit.html_url, created: false };
    scanned += data.length;
    if (scanned >= MARKER_SCAN_LIMIT) break;
  }
  return undefined;
}

/**
 * Makes `childIssueId` (a REST issue id, not a number) a sub-issue of issue `parent`; already there → nothing.
 * REST: POST /repos/{owner}/{repo}/issues/{issue_number}/sub_issues { sub_issue_id }.
 */
export async function addSubIssue(
  octokit: GitHub,
  repo: RepoRef,
  parent: number,
  childIssueId: number,
): Promise<{ added: boolean }> {
  const current = await octokit.paginate("GET /repos/{owner}/{repo}/issues/{issue_number}/sub_issues", {
    ...repoParams(repo),
    issue_number: parent,
    per_page: 100,
  });
  if (current.some((i) => i.id === childIssueId)) return { added: false };
  await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/sub_issues", {
    ...repoParams(repo),
    issue_number: parent,
    sub_issue_id: childIssueId,
  });
  return { added: true };
}

/**
 * Records GitHub's native "blocked by" relationship: issue `issue` is blocked by the issue whose REST id is
 * `blockingIssueId`; already recorded → nothing.
 * REST: POST /repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by { issue_id }.
 */
export async function addBlockedBy(
  octokit: GitHub,
  repo: RepoRef,
  issue: number,
  blockingIssueId: number,
): Promise<{ added: boolean }> {
  const current = await octokit.paginate(
    "GET /repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by",
    {
      ...repoParams(repo),
      issue_number: issue,
      per_page: 100,
    },
  );
  if (current.some((i) => i.id === blockingIssueId)) return { added: false };
  await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by", {
    ...repoParams(repo),
    issue_number: issue,
    issue_id: blockingIssueId,
  });
  return { added: true };
}
