/**
 * The git side of an attempt: check out the attempt's branch, keep the agent's set-up files as the
 * base branch has them, and materialise sub-agents. Nothing here pushes: what the agent changed leaves
 * the job as a proposal (proposal.ts) that the App commits. Every git command runs through the clean
 * helper (git.ts).
 */
import { mkdir, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import picomatch from "picomatch";
import { git } from "./git.js";
import type { CleanGit } from "./git.js";

/** Files that program the agent: a PR must not be able to change them for the run. */
export const STEERING_PATHS = [".claude", "CLAUDE.md", ".mcp.json"] as const;
export const TRELLIS_DIR = ".trellis";
export const BOT_NAME = "trellis[bot]";
export const BOT_EMAIL = "trellis[bot]@users.noreply.github.com";

export { git };

async function refExists(g: CleanGit, ref: string): Promise<boolean> {
  // Judge by the printed sha (a missing ref is a quiet non-zero exit).
  const out = await g.raw(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).catch(() => "");
  return /^[0-9a-f]{40}/.test(out.trim());
}

async function pathInRef(g: CleanGit, ref: string, path: string): Promise<boolean> {
  const out = await g.raw(["ls-tree", "--name-only", ref, "--", path]);
  return out.trim().length > 0;
}

export interface PrepareResult {
  /** Whether the branch already existed on origin (a PR branch or a retry). */
  existingBranch: boolean;
  baseSha: string;
  /** Steering paths that were put back to the base branch's version. */
  restored: string[];
  /** HEAD right after the checkout: what this attempt's changes are measured against. */
  startSha: string;
}

/**
 * Check out `branch`: from origin when it exists there (continuing a PR or a retry), otherwise new
 * from `baseRef`. On an existing branch, the steering files are reset to the base ref's.
 */
export async function prepareWorkspace(dir: string, branch: string, baseRef: string): Promise<PrepareResult> {
  await fetchOrigin(dir);
  return checkoutBranch(dir, branch, baseRef);
}

/**
 * Update origin's refs (no working-tree change, so it can run alongside reading the checkout). Without a
 * credential: the workflow checks out with `fetch-depth: 0` and `persist-credentials: false`, so every branch is
 * already there, and this only matters for a public repository whose branch moved since.
 */
export async function fetchOrigin(dir: string): Promise<void> {
  await git(dir)
    .raw(["fetch", "--prune", "--quiet", "origin"])
    .catch(() => undefined);
}

/** The second half of prepareWorkspace, after `fetchOrigin`. */
export async function checkoutBranch(dir: string, branch: string, baseRef: string): Promise<PrepareResult> {
  const g = git(dir);
  // One `show-ref` instead of a rev-parse per candidate ref: each git spawn costs.
  const refs = new Map(
    (await g.raw(["show-ref"]).catch(() => ""))
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [sha = "", ref = ""] = line.split(" ");
        return [ref, sha] as const;
      }),
  );
  const remoteBase = `refs/remotes/origin/${baseRef}`;
  const base = refs.has(remoteBase)
    ? remoteBase
    : refs.has(`refs/heads/${baseRef}`) || (await refExists(g, baseRef))
      ? baseRef
      : undefined;
  if (!base) throw new Error(`base ref "${baseRef}" not found (fetched origin, looked for ${remoteBase})`);
  const remoteBranch = `refs/remotes/origin/${branch}`;
  const existingBranch = refs.has(remoteBranch);
  await g.raw(["checkout", "--quiet", "-B", branch, existingBranch ? remoteBranch : base]);
  const restored: string[] = [];
  if (existingBranch) {
    for (const path of STEERING_PATHS) {
      const inBase = await pathInRef(g, base, path);
      const inHead = await pathInRef(g, "HEAD", path);
      if (!inBase && !inHead) {
        if (existsSync(join(dir, path))) await rm(join(dir, path), { recursive: true, force: true });
        continue;
      }
      // Replace the whole path with the base version (files the branch added are dropped too).
      await rm(join(dir, path), { recursive: true, force: true });
      if (inHead) await g.raw(["rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", path]);
      if (inBase) await g.raw(["checkout", base, "--", path]);
      restored.push(path);
    }
  }
  await ignoreTrellisDir(dir);
  const baseSha = refs.get(base) ?? (await g.revparse([base])).trim();
  const startSha = (existingBranch ? refs.get(remoteBranch) : baseSha) ?? (await g.revparse(["HEAD"])).trim();
  return { existingBranch, baseSha, restored, startSha };
}

/** `.trellis/` is scratch space for the agent (questions, verdicts) and never committed. */
export async function ignoreTrellisDir(dir: string): Promise<void> {
  const exclude = join(dir, ".git", "info", "exclude");
  if (!existsSync(join(dir, ".git"))) return;
  const current = existsSync(exclude) ? await readFile(exclude, "utf8") : "";
  if (!current.split("\n").includes(`/${TRELLIS_DIR}/`)) {
    await mkdir(join(dir, ".git", "info"), { recursive: true });
    await appendFile(exclude, `${current.endsWith("\n") || !current ? "" : "\n"}/${TRELLIS_DIR}/\n`);
  }
}

/** Write each profile as a Claude Code sub-agent, so a coordinating agent can delegate to it. */
export async function materialiseAgents(
  dir: string,
  agents: { name: string; markdown: string }[],
): Promise<string[]> {
  const folder = join(dir, ".claude", "agents");
  await mkdir(folder, { recursive: true });
  const written: string[] = [];
  for (const agent of agents) {
    const path = join(folder, `${agent.name}.md`);
    await writeFile(path, agent.markdown);
    written.push(`.claude/agents/${agent.name}.md`);
  }
  return written;
}

/** Put the steering paths back as HEAD has them (drops our materialised agents and any agent edits). */
export async function resetSteering(dir: string): Promise<string[]> {
  const g = git(dir);
  const touched: string[] = [];
  for (const path of STEERING_PATHS) {
    const status = await g.raw(["status", "--porcelain", "--untracked-files=all", "--", path]);
    if (!status.trim()) continue;
    touched.push(
      ...status
        .split("\n")
        .filter(Boolean)
        .map((l) => l.slice(3)),
    );
    await rm(join(dir, path), { recursive: true, force: true });
    if (await pathInRef(g, "HEAD", path)) await g.raw(["checkout", "HEAD", "--", path]);
  }
  return touched;
}

/** Stage everything except `.trellis/` and list the changed paths (relative to the repo root). */
export async function stageChanges(dir: string): Promise<string[]> {
  const g = git(dir);
  // `.trellis/` is in info/exclude, so `add -A` skips it; unstage it in case a repo tracks it.
  await g.raw(["add", "-A"]);
  await g.raw(["rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", TRELLIS_DIR]);
  const out = await g.raw(["diff", "--cached", "--name-only", "--no-renames", "HEAD"]);
  return out.split("\n").filter(Boolean);
}

/** Changed files matching the protected globs. */
export function protectedViolations(files: string[], patterns: string[]): string[] {
  if (patterns.length === 0) return [];
  const isMatch = picomatch(patterns, { dot: true });
  return files.filter((f) => isMatch(f));
}

/** Commit the staged changes as trellis[bot] (locally); returns the new HEAD, or undefined when nothing was staged. */
export async function commitStaged(dir: string, message: string): Promise<string | undefined> {
  const g = git(dir);
  const staged = await g.raw(["diff", "--cached", "--name-only"]);
  if (!staged.trim()) return undefined;
  // Only sub-agent worktrees commit (parallel.ts), locally, to merge their work; nothing is pushed.
  await g.raw([
    "-c",
    `user.name=${BOT_NAME}`,
    "-c",
    `user.email=${BOT_EMAIL}`,
    "commit",
    "--quiet",
    "--no-verify",
    "-m",
    message,
  ]);
  return (await g.revparse(["HEAD"])).trim();
}

/** The agent's question (`.trellis/question.md`), if it wrote one. */
export async function readQuestion(dir: string): Promise<string | undefined> {
  const path = join(dir, TRELLIS_DIR, "question.md");
  if (!existsSync(path)) return undefined;
  const text = (await readFile(path, "utf8")).trim();
  return text ? text.slice(0, 10_000) : undefined;
}

/** The refine agent's `.trellis/refined.md`, at most `maxChars` of it. */
export async function readRefined(dir: string, maxChars: number): Promise<string | undefined> {
  const path = join(dir, TRELLIS_DIR, "refined.md");
  if (!existsSync(path)) return undefined;
  const text = await readFile(path, "utf8");
  return text.trim() ? text.slice(0, maxChars) : undefined;
}

/** A reviewer's verdict: first line APPROVE or REQUEST_CHANGES, the rest are comments. */
export function parseReview(
  text: string,
): { verdict: "approve" | "request_changes"; comments: string } | undefined {
  const [first = "", ...rest] = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const word = first
    .trim()
    .replace(/^[#*\s]+|[*\s:.]+$/g, "")
    .toUpperCase();
  const comments = rest.join("\n").trim().slice(0, 30_000);
  if (word === "APPROVE" || word === "APPROVED") return { verdict: "approve", comments };
  if (word === "REQUEST_CHANGES" || word === "REQUEST CHANGES")
    return { verdict: "request_changes", comments };
  return undefined;
}

export async function readReview(dir: string): Promise<ReturnType<typeof parseReview>> {
  const path = join(dir, TRELLIS_DIR, "review.md");
  if (!existsSync(path)) return undefined;
  return parseReview(await readFile(path, "utf8"));
}
