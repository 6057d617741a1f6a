/** A real temp git repo with a local bare `origin`, as a runner's checkout would look. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const sh = (cwd: string, ...args: string[]): string =>
  execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "dev",
      GIT_AUTHOR_EMAIL: "dev@example.com",
      GIT_COMMITTER_NAME: "dev",
      GIT_COMMITTER_EMAIL: "dev@example.com",
    },
  }).trim();

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** Create origin (bare) with `main` holding `files`, and a clone of it; returns both paths. */
export function makeRepo(files: Record<string, string>): { root: string; origin: string; work: string } {
  const root = mkdtempSync(join(tmpdir(), "trellis-repo-"));
  const origin = join(root, "origin.git");
  const seed = join(root, "seed");
  sh(root, "init", "--quiet", "--bare", "--initial-branch=main", origin);
  sh(root, "init", "--quiet", "--initial-branch=main", seed);
  writeFiles(seed, files);
  sh(seed, "add", "-A");
  sh(seed, "commit", "--quiet", "-m", "initial");
  sh(seed, "remote", "add", "origin", origin);
  sh(seed, "push", "--quiet", "origin", "main");
  const work = join(root, "work");
  sh(root, "clone", "--quiet", origin, work);
  return { root, origin, work };
}

/** Push a branch to origin from a scratch clone, with extra files committed on it. */
export function pushBranchWith(
  root: string,
  origin: string,
  branch: string,
  files: Record<string, string>,
): void {
  const scratch = mkdtempSync(join(root, "scratch-"));
  sh(root, "clone", "--quiet", origin, scratch);
  sh(scratch, "checkout", "--quiet", "-b", branch);
  writeFiles(scratch, files);
  sh(scratch, "add", "-A");
  sh(scratch, "commit", "--quiet", "-m", `work on ${branch}`);
  sh(scratch, "push", "--quiet", "origin", branch);
}

/**
 * Apply a proposal's patch the way the App can check it: a fresh clone of origin at the proposal's base, the patch
 * applied with `git apply --index`; returns the scratch clone and its tracked files.
 */
export function applyProposal(
  root: string,
  origin: string,
  base: string,
  patchFile: string,
): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(root, "apply-"));
  sh(root, "clone", "--quiet", "--no-checkout", origin, dir);
  sh(dir, "checkout", "--quiet", "--detach", base);
  sh(dir, "apply", "--index", "--binary", patchFile);
  return { dir, files: sh(dir, "ls-files").split("\n").filter(Boolean) };
}
