/**
 * The proposal: the agent's work tree as a binary patch against the attempt's base commit, for the App to verify
 * and commit (format: src/core/result.ts ProposalSchema). Built in a fresh index the Action owns, so nothing the
 * agent staged, marked skip-worktree or assume-unchanged in `.git/index` changes what is proposed; the work tree is
 * the truth, as the criteria saw it.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROPOSAL_FILE } from "../../src/core/result.js";
import type { Proposal, ProposalFile } from "../../src/core/result.js";
import { runGit, runGitBytes } from "./git.js";
import { STEERING_PATHS, TRELLIS_DIR } from "./workspace.js";

export interface BuiltProposal {
  proposal: Proposal;
  patch: Buffer;
  /** The new contents of every added or modified file, as `blob <length>\0<contents>` records (PROPOSAL_BLOBS_FILE). */
  blobs: Buffer;
}

/** The work tree of `dir` against `base`; undefined when nothing changed. */
export async function buildProposal(dir: string, base: string): Promise<BuiltProposal | undefined> {
  const scratch = await mkdtemp(join(tmpdir(), "trellis-proposal-"));
  const env = { GIT_INDEX_FILE: join(scratch, "index") };
  const git = (args: string[]): Promise<string> => runGit(dir, args, { env });
  try {
    await git(["read-tree", base]);
    await git(["add", "-A", "--", "."]);
    // Scratch space and the agent's set-up files are never proposed (they are reset before this runs; belt and braces).
    await git(["rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", TRELLIS_DIR]);
    await git(["reset", "--quiet", base, "--", ...STEERING_PATHS]);
    const diffArgs = ["--cached", "--no-renames", "--no-ext-diff", "--no-textconv", "--no-color"];
    const raw = await git(["diff", ...diffArgs, "--raw", "-z", "--abbrev=64", base]);
    const files = parseRawDiff(raw);
    if (files.length === 0) return undefined;
    const patch = await runGitBytes(
      dir,
      ["diff", ...diffArgs, "--binary", "--full-index", "--src-prefix=a/", "--dst-prefix=b/", base],
      { env },
    );
    const proposal: Proposal = {
      base,
      patchFile: PROPOSAL_FILE,
      bytes: patch.byteLength,
      sha256: createHash("sha256").update(patch).digest("hex"),
      files,
    };
    return { proposal, patch, blobs: await blobRecords(dir, files) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Each new blob once, as git hashes it (`blob <length>\0` + contents), so the App knows each content by the id it
 * computes. Submodules (mode 160000) name a commit, not a blob: nothing to ship (the App refuses them anyway).
 */
async function blobRecords(dir: string, files: ProposalFile[]): Promise<Buffer> {
  const ids = [...new Set(files.filter((f) => f.blob && f.mode !== "160000").map((f) => f.blob!))];
  const records: Buffer[] = [];
  for (const id of ids) {
    const contents = await runGitBytes(dir, ["cat-file", "blob", id]);
    records.push(Buffer.from(`blob ${contents.byteLength}\0`), contents);
  }
  return Buffer.concat(records);
}

/** `git diff --raw -z`: `:<old mode> <new mode> <old blob> <new blob> <status>\0<path>\0` per file. */
export function parseRawDiff(raw: string): ProposalFile[] {
  const parts = raw.split("\0");
  const files: ProposalFile[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const [, newMode = "", , newBlob = "", status = ""] = parts[i]!.replace(/^:/, "").split(" ");
    const path = parts[i + 1]!;
    const kind = status.charAt(0);
    if (kind !== "A" && kind !== "M" && kind !== "D" && kind !== "T") continue;
    files.push(kind === "D" ? { path, status: kind } : { path, status: kind, mode: newMode, blob: newBlob });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
