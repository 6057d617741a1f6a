import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { GitHubState, Repository } from "./state.js";
import { emit, ensureUser, fullName } from "./state.js";
import { pullJson } from "./shapes.js";

/**
 * What GitHub announces when a branch moves by a push: the `push` event (ref, before, after, the pushed commits with
 * the paths each added, modified or removed, the pusher; "Webhook events and payloads" → push,
 * https://docs.github.com/en/webhooks/webhook-events-and-payloads#push) and, for each open pull request whose head
 * is that branch, `pull_request.synchronize` ("a pull request's head branch was updated", same page → pull_request).
 * The sender of both is whoever pushed; ci.ts decides from it whether workflows run.
 */

const ZERO = "0".repeat(40);
const run = promisify(execFile);

/** GitHub lists at most this many commits in a push payload (the payload's `commits` array). */
const MAX_COMMITS = 20;

interface PushedCommit {
  id: string;
  tree_id: string;
  distinct: boolean;
  message: string;
  timestamp: string;
  url: string;
  author: { name: string; email: string };
  committer: { name: string; email: string };
  added: string[];
  removed: string[];
  modified: string[];
}

async function git(dir: string, args: string[]): Promise<string> {
  const { stdout } = await run("git", args, {
    cwd: dir,
    env: { PATH: process.env["PATH"] ?? "", GIT_CONFIG_NOSYSTEM: "1" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** The commits a push brought, oldest first (those not reachable from `before`, or from other branches if new). */
async function pushedCommits(
  state: GitHubState,
  repo: Repository,
  dir: string,
  update: { before: string; after: string; ref: string },
): Promise<PushedCommit[]> {
  if (update.after === ZERO) return [];
  const branch = update.ref.replace(/^refs\/heads\//, "");
  const exclude =
    update.before !== ZERO
      ? [`^${update.before}`]
      : [...(await repo.backend.branches())].filter(([b]) => b !== branch).map(([, sha]) => `^${sha}`);
  const list = await git(dir, [
    "rev-list",
    "--reverse",
    `--max-count=${MAX_COMMITS}`,
    update.after,
    ...exclude,
  ]);
  const commits: PushedCommit[] = [];
  for (const sha of list.split("\n").filter(Boolean)) {
    const meta = await git(dir, ["show", "-s", "--format=%T%x00%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%B", sha]);
    const [tree = "", an = "", ae = "", cn = "", ce = "", date = "", ...message] = meta.split("\0");
    // First-parent changes, as GitHub lists a merge commit's paths.
    const status = await git(dir, [
      "diff-tree",
      "--no-commit-id",
      "--name-status",
      "-r",
      "--root",
      "-m",
      "--first-parent",
      sha,
    ]);
    const added: string[] = [];
    const removed: string[] = [];
    const modified: string[] = [];
    for (const line of status.split("\n").filter(Boolean)) {
      const [kind = "", path = ""] = line.split("\t");
      if (kind.startsWith("A")) added.push(path);
      else if (kind.startsWith("D")) removed.push(path);
      else modified.push(path);
    }
    commits.push({
      id: sha,
      tree_id: tree,
      distinct: true,
      message: message.join("\0").trim(),
      timestamp: date,
      url: `${state.htmlBase}/${fullName(repo)}/commit/${sha}`,
      author: { name: an, email: ae },
      committer: { name: cn, email: ce },
      added,
      removed,
      modified,
    });
  }
  return commits;
}

/** Announces a push to `ref` (already applied to the repository) made by `pusher`. */
export async function recordPush(
  state: GitHubState,
  repo: Repository,
  update: { before: string; after: string; ref: string; pusher: string },
): Promise<void> {
  const dir = (repo.backend as { dir?: string }).dir;
  const commits = dir ? await pushedCommits(state, repo, dir, update) : [];
  const pusher = ensureUser(state, update.pusher);
  const created = update.before === ZERO;
  const deleted = update.after === ZERO;
  const forced =
    !created && !deleted && dir !== undefined
      ? await git(dir, ["merge-base", "--is-ancestor", update.before, update.after]).then(
          () => false,
          () => true,
        )
      : false;
  emit(state, {
    name: "push",
    repo,
    sender: pusher.login,
    fields: {
      ref: update.ref,
      before: update.before,
      after: update.after,
      created,
      deleted,
      forced,
      base_ref: null,
      compare: `${state.htmlBase}/${fullName(repo)}/${created ? "commit" : "compare"}/${created ? update.after : `${update.before.slice(0, 12)}...${update.after.slice(0, 12)}`}`,
      commits,
      head_commit: commits.at(-1) ?? null,
      pusher: { name: pusher.login, email: `${pusher.id}+${pusher.login}@users.noreply.github.com` },
    },
  });
  if (deleted || !update.ref.startsWith("refs/heads/")) return;
  const branch = update.ref.slice("refs/heads/".length);
  for (const pr of repo.issues.values()) {
    const p = pr.pull;
    if (!p || pr.state !== "open" || p.head !== branch || p.headSha === update.after) continue;
    const before = p.headSha;
    p.headSha = update.after;
    emit(state, {
      name: "pull_request",
      action: "synchronize",
      repo,
      sender: pusher.login,
      fields: { number: pr.number, pull_request: pullJson(state, repo, pr), before, after: update.after },
    });
  }
}
