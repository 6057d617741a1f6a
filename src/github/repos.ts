import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { repoParams } from "./client.js";

const TTL_MS = 10 * 60_000;
const cache = new Map<string, { at: number; branch: Promise<string> }>();

/**
 * The repository's default branch: agents are dispatched on it (never on a fork's code) and their
 * pull requests target it. It rarely changes, so one lookup serves many effects.
 */
export function defaultBranch(octokit: GitHub, repo: RepoRef, now: () => number = Date.now): Promise<string> {
  const key = `${repo.owner}/${repo.name}`.toLowerCase();
  const hit = cache.get(key);
  if (hit && now() - hit.at < TTL_MS) return hit.branch;
  const branch = octokit
    .request("GET /repos/{owner}/{repo}", repoParams(repo))
    .then((r) => r.data.default_branch);
  cache.set(key, { at: now(), branch });
  branch.catch(() => cache.delete(key));
  return branch;
}

/** The commit a branch points at now. */
export async function branchSha(octokit: GitHub, repo: RepoRef, branch: string): Promise<string> {
  const { data } = await octokit.request("GET /repos/{owner}/{repo}/branches/{branch}", {
    ...repoParams(repo),
    branch,
  });
  return data.commit.sha;
}

/** The commit the repository's default branch points at now (the branch's name is cached, its sha is not). */
export async function defaultBranchSha(octokit: GitHub, repo: RepoRef): Promise<string> {
  return branchSha(octokit, repo, await defaultBranch(octokit, repo));
}
