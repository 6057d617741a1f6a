/**
 * Commits and branches made through the API rather than a `git push`: GraphQL `createCommitOnBranch` and REST
 * `POST /repos/{owner}/{repo}/git/refs`. Both write the stand-in's real git repository and are announced like any
 * push (pushes.ts), with the caller as pusher: made with an App's installation token, they start the repository's
 * workflows (ci.ts), which a workflow's GITHUB_TOKEN would not.
 *
 * createCommitOnBranch, as GitHub documents it ("createCommitOnBranch": "Appends a commit to the given branch as the
 * authenticated user. This mutation creates a commit whose parent is the HEAD of the provided branch and also updates
 * that branch to point to the new commit. It can be thought of as similar to `git commit`.",
 * https://docs.github.com/en/graphql/reference/mutations#createcommitonbranch; input objects CommittableBranch,
 * FileChanges, FileAddition, FileDeletion, CommitMessage, https://docs.github.com/en/graphql/reference/input-objects):
 *   - `branch` by `repositoryNameWithOwner` + `branchName` (or a Ref `id`); the branch must exist;
 *   - `expectedHeadOid` must be the branch's head, or the answer is a STALE_DATA error, "Expected branch to point to
 *     "<oid>" but it did not.  Pull and try again." (HTTP 200, `createCommitOnBranch: null`);
 *   - `fileChanges.additions[{path, contents}]` (contents base64) and `deletions[{path}]`; an addition keeps the mode
 *     of a file it replaces and creates new files as 100644 (the mutation cannot set modes); deleting a path that does
 *     not exist is an error;
 *   - `message.headline` (+ optional `body`) becomes the commit message, the authenticated user its author and
 *     committer (an App's commits are signed by GitHub: the stand-in does not sign).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Actor, GitHubState, Repository } from "./state.js";
import { botLogin, ensureUser, fullName, getRepo } from "./state.js";
import { SandboxError } from "./errors.js";
import { canWrite } from "./git-http.js";
import { recordPush } from "./pushes.js";

const ZERO = "0".repeat(40);

/** A GraphQL error GitHub reports with its own `type` (e.g. STALE_DATA). */
export class TypedGraphQLError extends SandboxError {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(422, message);
  }
}

function gitIn(dir: string, args: string[], options: { input?: Buffer; env?: Record<string, string> } = {}) {
  return new Promise<string>((resolve, reject) => {
    const child = execFile(
      "git",
      args,
      {
        cwd: dir,
        env: { PATH: process.env["PATH"] ?? "", GIT_CONFIG_NOSYSTEM: "1", HOME: tmpdir(), ...options.env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        error ? reject(new Error(`git ${args[0]}: ${String(stderr).trim()}`)) : resolve(String(stdout)),
    );
    child.stdin?.on("error", () => undefined); // git may exit without reading its input
    child.stdin?.end(options.input ?? "");
  });
}

function repoDir(repo: Repository): string {
  const dir = (repo.backend as { dir?: string }).dir;
  if (repo.backend.kind !== "git" || !dir)
    throw new SandboxError(422, `${fullName(repo)} has no git repository in the sandbox`);
  return dir;
}

function requireContentsWrite(state: GitHubState, repo: Repository, actor: Actor): void {
  if (!canWrite(state, repo, actor)) throw new SandboxError(403, "Resource not accessible by integration");
}

export interface FileChangesInput {
  additions?: { path: string; contents: string }[];
  deletions?: { path: string }[];
}

export interface CreateCommitInput {
  branch: { repositoryNameWithOwner?: string; branchName?: string; id?: string };
  expectedHeadOid: string;
  fileChanges?: FileChangesInput;
  message: { headline: string; body?: string };
}

/** The repository and branch a CommittableBranch names. */
function committableBranch(state: GitHubState, branch: CreateCommitInput["branch"]): [Repository, string] {
  let nameWithOwner = branch.repositoryNameWithOwner;
  let name = branch.branchName;
  if (branch.id) {
    // The stand-in's Ref node ids are `REF_<base64url of "<owner>/<repo>:heads/<branch>">`.
    const decoded = /^REF_(.+)$/.exec(branch.id)?.[1];
    const text = decoded ? Buffer.from(decoded, "base64url").toString("utf8") : "";
    const m = /^([^:]+):heads\/(.+)$/.exec(text);
    if (!m) throw new SandboxError(404, `Could not resolve to a node with the global id of '${branch.id}'.`);
    [nameWithOwner, name] = [m[1], m[2]];
  }
  const [owner = "", repoName = ""] = (nameWithOwner ?? "").split("/");
  const repo = getRepo(state, owner, repoName);
  if (!repo)
    throw new SandboxError(404, `Could not resolve to a Repository with the name '${nameWithOwner ?? ""}'.`);
  if (!name) throw new SandboxError(422, "A branch name is required");
  return [repo, name.replace(/^refs\/heads\//, "")];
}

/** The stand-in's Ref node id for a branch (see committableBranch). */
export function refNodeId(repo: Repository, branch: string): string {
  return `REF_${Buffer.from(`${fullName(repo)}:heads/${branch}`).toString("base64url")}`;
}

export async function createCommitOnBranch(
  state: GitHubState,
  actor: Actor,
  login: string,
  input: CreateCommitInput,
): Promise<{ repo: Repository; branch: string; oid: string }> {
  const [repo, branch] = committableBranch(state, input.branch);
  requireContentsWrite(state, repo, actor);
  const dir = repoDir(repo);
  const head = (await repo.backend.branches()).get(branch);
  if (!head) throw new SandboxError(404, `Could not resolve to a Ref with the name 'refs/heads/${branch}'.`);
  if (head !== input.expectedHeadOid.toLowerCase())
    throw new TypedGraphQLError(
      "STALE_DATA",
      `Expected branch to point to "${input.expectedHeadOid}" but it did not.  Pull and try again.`,
    );
  const additions = input.fileChanges?.additions ?? [];
  const deletions = input.fileChanges?.deletions ?? [];
  const scratch = await mkdtemp(join(tmpdir(), "sandbox-commit-"));
  // A scratch index (and an empty work tree, which update-index wants even for index-only changes) over the bare repo.
  const env = { GIT_INDEX_FILE: join(scratch, "index"), GIT_WORK_TREE: scratch };
  try {
    await gitIn(dir, ["read-tree", head], { env });
    for (const { path } of deletions) {
      const present = (await gitIn(dir, ["ls-files", "--cached", "--", path], { env })).trim();
      if (!present)
        throw new SandboxError(
          422,
          `A path was requested for deletion which does not exist as of commit oid \`${head}\``,
        );
      await gitIn(dir, ["update-index", "--force-remove", "--", path], { env });
    }
    for (const { path, contents } of additions) {
      if (!path || path.startsWith("/") || path.split("/").some((p) => p === "" || p === "." || p === ".."))
        throw new SandboxError(422, `Invalid path: ${path}`);
      const blob = (
        await gitIn(dir, ["hash-object", "-w", "--stdin"], { input: Buffer.from(contents, "base64") })
      ).trim();
      // An existing file keeps its mode (an executable stays executable); a new one is a plain file.
      const stage = (await gitIn(dir, ["ls-files", "--stage", "--", path], { env })).trim();
      const mode = /^(100755|100644) /.exec(stage)?.[1] ?? "100644";
      await gitIn(dir, ["update-index", "--add", "--cacheinfo", `${mode},${blob},${path}`], { env });
    }
    const tree = (await gitIn(dir, ["write-tree"], { env })).trim();
    const user = ensureUser(state, login);
    const who = {
      GIT_AUTHOR_NAME: login,
      GIT_AUTHOR_EMAIL: `${user.id}+${login}@users.noreply.github.com`,
      GIT_COMMITTER_NAME: login === botLogin(state) ? "GitHub" : login,
      GIT_COMMITTER_EMAIL:
        login === botLogin(state) ? "noreply@github.com" : `${user.id}+${login}@users.noreply.github.com`,
    };
    const message = input.message.body
      ? `${input.message.headline}\n\n${input.message.body}`
      : input.message.headline;
    const oid = (
      await gitIn(dir, ["commit-tree", tree, "-p", head], { input: Buffer.from(message), env: who })
    ).trim();
    // Compare-and-swap: a push that landed meanwhile makes this fail rather than be overwritten.
    await gitIn(dir, ["update-ref", `refs/heads/${branch}`, oid, head]).catch(() => {
      throw new TypedGraphQLError(
        "STALE_DATA",
        `Expected branch to point to "${input.expectedHeadOid}" but it did not.  Pull and try again.`,
      );
    });
    await recordPush(state, repo, { before: head, after: oid, ref: `refs/heads/${branch}`, pusher: login });
    return { repo, branch, oid };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * `POST /repos/{owner}/{repo}/git/refs` ("Create a reference", https://docs.github.com/en/rest/git/refs#create-a-reference):
 * 201 with the new ref; 422 "Reference already exists" or "Object does not exist". A new branch is announced as a
 * push that created it.
 */
export async function createRef(
  state: GitHubState,
  repo: Repository,
  actor: Actor,
  login: string,
  ref: string,
  sha: string,
): Promise<void> {
  requireContentsWrite(state, repo, actor);
  const m = /^refs\/heads\/(.+)$/.exec(ref);
  if (!m || /(^|\/)\.|\.\.|[\s~^:?*[\\]|\.lock$|\/$/.test(m[1]!))
    throw new SandboxError(422, `${ref} is not a valid ref name.`);
  if ((await repo.backend.branches()).has(m[1]!)) throw new SandboxError(422, "Reference already exists");
  const commit = /^[0-9a-f]{40}$/.test(sha) ? await repo.backend.commit(sha) : undefined;
  if (!commit) throw new SandboxError(422, "Object does not exist");
  await gitIn(repoDir(repo), ["update-ref", ref, commit.sha, ZERO]).catch(() => {
    throw new SandboxError(422, "Reference already exists");
  });
  await recordPush(state, repo, { before: ZERO, after: commit.sha, ref, pusher: login });
}
