import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { boundBody, outgoingText, repoParams, statusOf } from "./client.js";
import { marker, RUN_MARKER } from "../core/markers.js";

export interface PullRequestSpec {
  /** The branch the agent pushed (in this repository). */
  head: string;
  base: string;
  title: string;
  body: string;
  /** The issue the PR closes. */
  issue: number;
  runId: string;
}

export interface PullRequestRef {
  number: number;
  url: string;
  nodeId: string;
  created: boolean;
}

/** `Closes #N` links the PR to its issue; the hidden run marker links it back to the run. */
export function pullRequestBody(spec: Pick<PullRequestSpec, "body" | "issue" | "runId">): string {
  const trailer = `\n\nCloses #${spec.issue}\n\n${marker(RUN_MARKER, spec.runId)}`;
  return boundBody(spec.body, 65_536 - trailer.length) + trailer;
}

/**
 * Opens the run's pull request with the App's identity (so the repository's CI runs on it), idempotently: an open
 * PR from the same head is reused, and losing a race to a concurrent open (422) finds the winner.
 */
export async function openPullRequest(
  octokit: GitHub,
  repo: RepoRef,
  spec: PullRequestSpec,
): Promise<PullRequestRef> {
  const existing = await findOpenPullRequest(octokit, repo, spec.head);
  if (existing) return existing;
  try {
    const { data } = await octokit.request("POST /repos/{owner}/{repo}/pulls", {
      ...repoParams(repo),
      head: spec.head,
      base: spec.base,
      title: outgoingText(spec.title).slice(0, 256),
      body: pullRequestBody(spec),
    });
    return { number: data.number, url: data.html_url, nodeId: data.node_id, created: true };
  } catch (error) {
    if (statusOf(error) === 422) {
      const winner = await findOpenPullRequest(octokit, repo, spec.head);
      if (winner) return winner;
    }
    throw error;
  }
}

async function findOpenPullRequest(
  octokit: GitHub,
  repo: RepoRef,
  head: string,
): Promise<PullRequestRef | undefined> {
  const { data } = await octokit.request("GET /repos/{owner}/{repo}/pulls", {
    ...repoParams(repo),
    head: `${repo.owner}:${head}`,
    state: "open",
    per_page: 10,
  });
  const pr = data[0];
  return pr ? { number: pr.number, url: pr.html_url, nodeId: pr.node_id, created: false } : undefined;
}

/** A pull request's state as GitHub reports it now, or undefined when it does not exist (any more). */
export async function pullRequestState(
  octokit: GitHub,
  repo: RepoRef,
  number: number,
): Promise<{ number: number; nodeId: string; state: "open" | "closed"; merged: boolean } | undefined> {
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
      ...repoParams(repo),
      pull_number: number,
    });
    return {
      number: data.number,
      nodeId: data.node_id,
      state: data.state as "open" | "closed",
      merged: data.merged,
    };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}
