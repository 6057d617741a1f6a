/**
 * The App's own commits: the branch an agent's work goes to, created from its base when missing, and one commit of a
 * verified proposal (src/core/proposal.ts) with GraphQL `createCommitOnBranch`, which GitHub signs and which runs the
 * repository's CI like any push by the App
 * (https://docs.github.com/en/graphql/reference/mutations#createcommitonbranch).
 */
import type { FileChanges, HeadPath } from "../core/proposal.js";
import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { repoParams, statusOf } from "./client.js";

export interface BranchHead {
  sha: string;
  /** The head commit's full message (where the App's commit marker is found). */
  message: string;
}

/** The branch's head commit, or undefined when the branch does not exist. */
export async function branchHead(
  octokit: GitHub,
  repo: RepoRef,
  branch: string,
): Promise<BranchHead | undefined> {
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/branches/{branch}", {
      ...repoParams(repo),
      branch,
    });
    return { sha: data.commit.sha, message: data.commit.commit.message };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/**
 * What `path` is at commit `sha`: a file with its blob id, absent, or something else (a directory, a symlink, a
 * submodule). The contents API answers a symlink to a file with the target file
 * (https://docs.github.com/en/rest/repos/contents#get-repository-content): an answer for another path is a symlink.
 */
export async function pathAt(octokit: GitHub, repo: RepoRef, sha: string, path: string): Promise<HeadPath> {
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/contents/{path}", {
      ...repoParams(repo),
      path,
      ref: sha,
    });
    if (Array.isArray(data)) return { kind: "other", type: "dir" };
    if (data.path !== path) return { kind: "other", type: "symlink" };
    if (data.type === "file") return { kind: "file", blob: data.sha };
    return { kind: "other", type: data.type };
  } catch (error) {
    if (statusOf(error) === 404) return { kind: "absent" };
    throw error;
  }
}

/**
 * Creates `branch` at `sha`. A branch that already exists (created by an earlier try of the same effect, or by
 * someone else) is left as it is: the commit's `expectedHeadOid` then decides.
 */
export async function createBranch(
  octokit: GitHub,
  repo: RepoRef,
  branch: string,
  sha: string,
): Promise<void> {
  try {
    await octokit.request("POST /repos/{owner}/{repo}/git/refs", {
      ...repoParams(repo),
      ref: `refs/heads/${branch}`,
      sha,
    });
  } catch (error) {
    // "Reference already exists"
    if (statusOf(error) === 422 && /already exists/i.test(error instanceof Error ? error.message : ""))
      return;
    throw error;
  }
}

const CREATE_COMMIT = `mutation TrellisCommit($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid } }
}`;

export type CommitOutcome = { ok: true; oid: string } | { ok: false; stale: true; message: string };

/**
 * One commit on `branch` whose parent must be `expectedHeadOid`. A branch that moved meanwhile is GitHub's STALE_DATA
 * error, returned as `stale` (nothing was written); anything else throws.
 */
export async function commitOnBranch(
  octokit: GitHub,
  repo: RepoRef,
  commit: { branch: string; expectedHeadOid: string; changes: FileChanges; headline: string; body?: string },
): Promise<CommitOutcome> {
  type Data = { createCommitOnBranch: { commit: { oid: string } } | null };
  try {
    const data = await octokit.graphql<Data>(CREATE_COMMIT, {
      input: {
        branch: { repositoryNameWithOwner: `${repo.owner}/${repo.name}`, branchName: commit.branch },
        expectedHeadOid: commit.expectedHeadOid,
        fileChanges: commit.changes,
        message: { headline: commit.headline, ...(commit.body !== undefined ? { body: commit.body } : {}) },
      },
    });
    const oid = data.createCommitOnBranch?.commit.oid;
    if (!oid) throw new Error("createCommitOnBranch answered without a commit");
    return { ok: true, oid };
  } catch (error) {
    const errors = (error as { errors?: { type?: string; message?: string }[] }).errors;
    const stale = Array.isArray(errors) ? errors.find((e) => e.type === "STALE_DATA") : undefined;
    if (stale) return { ok: false, stale: true, message: stale.message ?? "the branch moved" };
    // GitHub answered and refused (FORBIDDEN, NOT_FOUND, UNPROCESSABLE…): permanent, not a network failure to retry.
    if (Array.isArray(errors) && errors.length > 0)
      throw Object.assign(
        new Error(`createCommitOnBranch: ${errors.map((e) => e.type ?? e.message ?? "error").join(", ")}`),
        { status: 422 },
      );
    throw error;
  }
}
