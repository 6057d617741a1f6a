import { createHash } from "node:crypto";

/** One entry of a tree listing (the contents API's directory form). */
export interface TreeEntry {
  name: string;
  path: string;
  type: "file" | "dir";
  sha: string;
  size: number;
}

export type TreeItem =
  | { type: "file"; path: string; sha: string; content: Buffer }
  | { type: "dir"; path: string; entries: TreeEntry[] };

export interface CommitInfo {
  sha: string;
  message: string;
  parents: string[];
  date: string;
  author: { name: string; email: string };
}

/**
 * Where a sandbox repository's git data lives: in memory (unit tests) or in a bare repository on disk that the
 * Action clones and pushes to (see git.ts). Refs are always read from the backend, never cached, so a push is seen
 * by the next request.
 */
export interface RepoBackend {
  readonly kind: "memory" | "git";
  /** Branch name → commit sha. */
  branches(): Promise<Map<string, string>>;
  /** A branch, tag or (abbreviated) sha → the commit sha, or undefined. */
  resolve(ref: string): Promise<string | undefined>;
  commit(sha: string): Promise<CommitInfo | undefined>;
  read(sha: string, path: string): Promise<TreeItem | undefined>;
  setBranch(branch: string, sha: string): Promise<void>;
  deleteBranch(branch: string): Promise<void>;
  /** Merges `head` into branch `base` (fast-forward when possible), returning the new tip of `base`. */
  merge(base: string, head: string, message: string): Promise<string>;
}

interface MemoryCommit extends CommitInfo {
  files: Map<string, string>;
}

const blobSha = (content: string): string =>
  createHash("sha1")
    .update(`blob ${Buffer.byteLength(content)}\0${content}`)
    .digest("hex");

/** An in-memory repository: a commit graph of whole file maps, enough for the routes Trellis uses. */
export function createMemoryBackend(options: {
  defaultBranch: string;
  files?: Record<string, string>;
  date: string;
}): RepoBackend & { commitFiles(branch: string, files: Record<string, string>, message: string): string } {
  const commits = new Map<string, MemoryCommit>();
  const refs = new Map<string, string>();
  const author = { name: "Sandbox", email: "sandbox@example.com" };

  const addCommit = (files: Map<string, string>, parents: string[], message: string): string => {
    const sha = createHash("sha1")
      .update(JSON.stringify({ files: [...files], parents, message, n: commits.size }))
      .digest("hex");
    commits.set(sha, { sha, message, parents, date: options.date, author, files });
    return sha;
  };
  refs.set(
    options.defaultBranch,
    addCommit(new Map(Object.entries(options.files ?? {})), [], "Initial commit"),
  );

  const resolve = (ref: string): string | undefined => {
    const name = ref.replace(/^refs\/heads\//, "");
    const branch = refs.get(name);
    if (branch) return branch;
    if (/^[0-9a-f]{4,40}$/.test(ref)) for (const sha of commits.keys()) if (sha.startsWith(ref)) return sha;
    return undefined;
  };

  return {
    kind: "memory",
    branches: () => Promise.resolve(new Map(refs)),
    resolve: (ref) => Promise.resolve(resolve(ref)),
    commit: (sha) => {
      const c = commits.get(sha);
      return Promise.resolve(c ? { ...c } : undefined);
    },
    read: (sha, path) => {
      const files = commits.get(sha)?.files;
      if (!files) return Promise.resolve(undefined);
      const clean = path.replace(/^\/+|\/+$/g, "");
      const content = files.get(clean);
      if (content !== undefined)
        return Promise.resolve({
          type: "file" as const,
          path: clean,
          sha: blobSha(content),
          content: Buffer.from(content),
        });
      const prefix = clean === "" ? "" : `${clean}/`;
      const entries = new Map<string, TreeEntry>();
      for (const [p, text] of files) {
        if (!p.startsWith(prefix)) continue;
        const [name, ...rest] = p.slice(prefix.length).split("/");
        if (!name) continue;
        const isDir = rest.length > 0;
        entries.set(name, {
          name,
          path: prefix + name,
          type: isDir ? "dir" : "file",
          sha: isDir ? blobSha(prefix + name) : blobSha(text),
          size: isDir ? 0 : Buffer.byteLength(text),
        });
      }
      if (entries.size === 0) return Promise.resolve(undefined);
      return Promise.resolve({ type: "dir" as const, path: clean, entries: [...entries.values()] });
    },
    setBranch: (branch, sha) => {
      refs.set(branch, sha);
      return Promise.resolve();
    },
    deleteBranch: (branch) => {
      refs.delete(branch);
      return Promise.resolve();
    },
    merge: (base, head, message) => {
      const b = resolve(base);
      const h = resolve(head);
      const bc = b ? commits.get(b) : undefined;
      const hc = h ? commits.get(h) : undefined;
      if (!b || !h || !bc || !hc) return Promise.reject(new Error(`cannot merge ${head} into ${base}`));
      // Head's files win: enough for the sandbox, where agents' branches start from base.
      const sha = addCommit(new Map([...bc.files, ...hc.files]), [b, h], message);
      refs.set(base, sha);
      return Promise.resolve(sha);
    },
    commitFiles: (branch, files, message) => {
      const parent = refs.get(branch) ?? refs.get(options.defaultBranch);
      const base = parent ? commits.get(parent)?.files : undefined;
      const sha = addCommit(
        new Map([...(base ?? []), ...Object.entries(files)]),
        parent ? [parent] : [],
        message,
      );
      refs.set(branch, sha);
      return sha;
    },
  };
}
