import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { SimpleGit } from "simple-git";
import { simpleGit } from "simple-git";
import type { CommitInfo, RepoBackend, TreeEntry, TreeItem } from "./backend.js";
import { SandboxError } from "./mutations.js";

/**
 * A sandbox repository backed by a real bare git repository on disk: the Action clones it and pushes branches to it
 * over the file system, and the stand-in reads refs, commits and files from it for its branch, commit, contents and
 * pull request routes.
 */

const IDENTITY = {
  GIT_AUTHOR_NAME: "Sandbox",
  GIT_AUTHOR_EMAIL: "sandbox@example.com",
  GIT_COMMITTER_NAME: "Sandbox",
  GIT_COMMITTER_EMAIL: "sandbox@example.com",
};

function git(dir: string): SimpleGit {
  // A minimal environment: simple-git refuses variables such as EDITOR, and the user's git config must not matter.
  const env: Record<string, string> = { ...IDENTITY, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1" };
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return simpleGit({ baseDir: dir }).env(env);
}

/** Creates a bare repository at `dir` whose default branch holds `files` in one commit, and its backend. */
export async function createRepoOnDisk(
  dir: string,
  options: { defaultBranch?: string; files?: Record<string, string> } = {},
): Promise<RepoBackend & { dir: string }> {
  const branch = options.defaultBranch ?? "main";
  await mkdir(dir, { recursive: true });
  await git(dir).raw(["init", "--bare", "--initial-branch", branch]);
  const work = await mkdtemp(join(tmpdir(), "sandbox-seed-"));
  try {
    const w = git(work);
    await w.raw(["init", "--initial-branch", branch]);
    const files = options.files ?? { "README.md": "# Sandbox repository\n" };
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), text);
    }
    await w.raw(["add", "-A"]);
    await w.raw(["commit", "--no-gpg-sign", "-m", "Initial commit"]);
    await w.raw(["push", dir, `${branch}:refs/heads/${branch}`]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return gitBackend(dir);
}

/** The backend of an existing bare (or non-bare) repository at `dir`. */
export function gitBackend(dir: string): RepoBackend & { dir: string } {
  const g = git(dir);
  const resolve = async (ref: string): Promise<string | undefined> => {
    if (!ref || ref.startsWith("-")) return undefined;
    try {
      return (await g.raw(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim() || undefined;
    } catch {
      return undefined;
    }
  };
  return {
    kind: "git",
    dir,
    branches: async () => {
      const out = await g.raw(["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"]);
      const map = new Map<string, string>();
      for (const line of out.split("\n")) {
        const [name, sha] = line.trim().split(" ");
        if (name && sha) map.set(name, sha);
      }
      return map;
    },
    resolve,
    commit: async (sha): Promise<CommitInfo | undefined> => {
      const full = await resolve(sha);
      if (!full) return undefined;
      const out = await g.raw(["log", "-1", "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%B", full]);
      const [h = full, parents = "", name = "", email = "", date = "", ...message] = out.split("\0");
      return {
        sha: h,
        parents: parents.split(" ").filter(Boolean),
        author: { name, email },
        date: date.replace(/\+00:00$/, "Z"),
        message: message.join("\0").trim(),
      };
    },
    read: async (sha, path): Promise<TreeItem | undefined> => {
      const clean = path.replace(/^\/+|\/+$/g, "");
      const spec = `${sha}:${clean}`;
      let type: string;
      try {
        type = (await g.raw(["cat-file", "-t", spec])).trim();
      } catch {
        return undefined;
      }
      if (type === "blob") {
        const blob = (await g.raw(["rev-parse", spec])).trim();
        const content = await g.binaryCatFile(["blob", blob]);
        return { type: "file", path: clean, sha: blob, content };
      }
      if (type !== "tree") return undefined;
      const out = await g.raw(["ls-tree", "-l", spec]);
      const entries: TreeEntry[] = out
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [meta = "", name = ""] = line.split("\t");
          const [, kind, blobSha = "", size] = meta.split(/\s+/);
          return {
            name,
            path: clean ? `${clean}/${name}` : name,
            type: kind === "tree" ? ("dir" as const) : ("file" as const),
            sha: blobSha,
            size: size === "-" || size === undefined ? 0 : Number(size),
          };
        });
      return { type: "dir", path: clean, entries };
    },
    setBranch: async (branch, sha) => {
      await g.raw(["update-ref", `refs/heads/${branch}`, sha]);
    },
    deleteBranch: async (branch) => {
      await g.raw(["update-ref", "-d", `refs/heads/${branch}`]);
    },
    merge: async (base, head, message) => {
      const b = await resolve(`refs/heads/${base}`);
      const h = await resolve(
        head.includes("/") || /^[0-9a-f]{40}$/.test(head) ? head : `refs/heads/${head}`,
      );
      if (!b || !h) throw new SandboxError(404, `Cannot merge ${head} into ${base}: unknown ref`);
      // simple-git does not reject on a silent non-zero exit, so outcomes are read from the output.
      const mergeBase = (await g.raw(["merge-base", b, h])).trim();
      let tip = h; // fast-forward
      if (mergeBase !== b) {
        const out = (await g.raw(["merge-tree", "--write-tree", "--name-only", b, h])).trim().split("\n");
        const tree = out[0]?.trim() ?? "";
        // A clean merge prints only the tree; conflicts add the conflicted paths and messages.
        if (out.length > 1 || !/^[0-9a-f]{40}$/.test(tree))
          throw new SandboxError(405, "Pull Request is not mergeable (merge conflict)");
        tip = (await g.raw(["commit-tree", tree, "-p", b, "-p", h, "-m", message])).trim();
      }
      await g.raw(["update-ref", `refs/heads/${base}`, tip, b]);
      return tip;
    },
  };
}
