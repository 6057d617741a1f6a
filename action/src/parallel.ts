/**
 * Several sub-agents in one job: each works in its own git worktree on its own branch, then their
 * commits are merged back into the current branch in the order given. A conflict is reported and
 * that agent's merge is abandoned; it is never resolved silently.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sealGitConfig } from "./git.js";
import { BOT_EMAIL, BOT_NAME, commitStaged, git, ignoreTrellisDir, stageChanges } from "./workspace.js";

export interface ParallelSpec<T> {
  /** Unique, branch-safe name (usually the profile name). */
  name: string;
  /** Does the work inside `cwd` (the worktree); its return value is passed through. */
  work: (cwd: string) => Promise<T>;
}

export interface ParallelOutcome<T> {
  name: string;
  branch: string;
  value?: T;
  error?: string;
  filesChanged: string[];
  commit?: string;
  merged: boolean;
  conflicts: string[];
}

export interface ParallelResult<T> {
  outcomes: ParallelOutcome<T>[];
  /** Names merged cleanly, in merge order. */
  merged: string[];
  conflicts: { name: string; files: string[] }[];
}

export async function runParallel<T>(dir: string, specs: ParallelSpec<T>[]): Promise<ParallelResult<T>> {
  const names = new Set(specs.map((s) => s.name));
  if (names.size !== specs.length) throw new Error("runParallel: sub-agent names must be unique");
  const g = git(dir);
  const current = (await g.raw(["rev-parse", "--abbrev-ref", "HEAD"])).trim();
  const root = await mkdtemp(join(tmpdir(), "trellis-wt-"));
  // One at a time: concurrent `git worktree add`s race for the repository's locks (refs, config).
  const prepared: { spec: ParallelSpec<T>; branch: string; path: string; gitFile: string }[] = [];
  for (const spec of specs) {
    const branch = `${current === "HEAD" ? "detached" : current}--${spec.name}`;
    const path = join(root, spec.name);
    await g.raw(["worktree", "add", "--quiet", "-B", branch, path, "HEAD"]);
    // The worktree's `.git` file (a `gitdir:` pointer), as git wrote it, to put back after the agent.
    prepared.push({ spec, branch, path, gitFile: await readFile(join(path, ".git"), "utf8") });
  }
  await ignoreTrellisDir(dir);
  const outcomes = await Promise.all(
    prepared.map(async ({ spec, branch, path }): Promise<ParallelOutcome<T>> => {
      const outcome: ParallelOutcome<T> = {
        name: spec.name,
        branch,
        filesChanged: [],
        merged: false,
        conflicts: [],
      };
      try {
        outcome.value = await spec.work(path);
      } catch (error) {
        outcome.error = (error as Error).message;
      }
      return outcome;
    }),
  );
  // Only once every agent has stopped: the Action's git runs on a configuration no agent can still change.
  await sealGitConfig(dir);
  for (const [i, { spec, path, gitFile }] of prepared.entries()) {
    const outcome = outcomes[i]!;
    await rm(join(path, ".git"), { recursive: true, force: true });
    await writeFile(join(path, ".git"), gitFile);
    outcome.filesChanged = await stageChanges(path);
    outcome.commit = await commitStaged(path, `trellis: ${spec.name}`);
  }
  const result: ParallelResult<T> = { outcomes, merged: [], conflicts: [] };
  // Merge in the order the specs were given: the order is the tie-breaker, so it must be stable.
  for (const outcome of outcomes) {
    if (!outcome.commit) continue;
    // A conflicted merge exits non-zero: look at the index to tell a conflict from another failure.
    const error = await g
      .raw([
        "-c",
        `user.name=${BOT_NAME}`,
        "-c",
        `user.email=${BOT_EMAIL}`,
        "merge",
        "--no-ff",
        "--no-edit",
        "-m",
        `trellis: merge ${outcome.name}`,
        outcome.branch,
      ])
      .then(() => undefined)
      .catch((e: unknown) => (e as Error).message);
    const files = (await g.raw(["diff", "--name-only", "--diff-filter=U"])).split("\n").filter(Boolean);
    if (files.length === 0 && !error) {
      outcome.merged = true;
      result.merged.push(outcome.name);
    } else {
      await g.raw(["merge", "--abort"]).catch(() => undefined);
      outcome.conflicts = files;
      result.conflicts.push({ name: outcome.name, files });
    }
  }
  for (const { path } of prepared)
    await g.raw(["worktree", "remove", "--force", path]).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
  return result;
}
