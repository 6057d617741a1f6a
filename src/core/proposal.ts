/**
 * The App's verdict on an agent's proposal (format: src/core/result.ts, ProposalSchema): either the file changes to
 * commit, or a refusal naming the rule and the path. Pure: the shell brings the facts (the patch, the blobs whose ids
 * it computed itself, the definitions of the default branch, the head it expects) and executes the verdict.
 *
 * What is committed is only contents the App hashed: each added or modified file's blob id from `files` must be the
 * id of a blob the shell found in the artifact. The patch is cross-checked against `files` (same paths, statuses,
 * modes and blob ids) so that what a human reads in the patch is what is committed.
 *
 * The commit goes on the head the App reads itself (the run's branch, or the default branch for a new one), never on
 * a commit the job names: each changed path must be on that head as the patch's preimage says (the same blob, or
 * absent for an addition), so committing the new contents there is exactly applying the patch. A head that moved
 * elsewhere since the agent's base (another ticket merged) is fine; one that changed a path the agent changed is
 * refused (`stale_base`), as is a path that is a symlink or a submodule there.
 *
 * createCommitOnBranch cannot set file modes, so new executables, mode changes and type changes are refused (rule
 * `file_mode`) rather than committed without their mode.
 */
import picomatch from "picomatch";
import type { Proposal, ProposalFile } from "./result.js";

export type ProposalRule =
  | "stale_base"
  | "too_many_files"
  | "too_large"
  | "patch_mismatch"
  | "unsafe_path"
  | "workflow_file"
  | "protected_path"
  | "submodule"
  | "symlink"
  | "file_mode"
  | "missing_contents";

export interface ProposalLimits {
  maxFiles: number;
  /** Total bytes of new contents. */
  maxBytes: number;
}

/** The App's own limits (the Action's patch limit is PROPOSAL_MAX_BYTES; the App bounds what it commits). */
export const PROPOSAL_LIMITS: ProposalLimits = { maxFiles: 500, maxBytes: 8 * 1024 * 1024 };

/** What a path is on the head the App commits to (the contents API's answer). */
export type HeadPath = { kind: "file"; blob: string } | { kind: "absent" } | { kind: "other"; type: string };

export interface ProposalFacts {
  proposal: Proposal;
  /** proposal.patch, as downloaded (its bytes and sha256 already checked against the proposal). */
  patch: Uint8Array;
  /** The blobs of proposal.blobs by the git blob id the shell computed for each. */
  blobs: ReadonlyMap<string, Uint8Array>;
  /** Each path of `headPathsToRead` as it is on the head the App commits to. */
  head: ReadonlyMap<string, HeadPath>;
  /** Protected path globs from the default branch's config (empty when the config allows protected paths). */
  protectedPaths: readonly string[];
  limits?: ProposalLimits;
}

export interface FileChanges {
  additions: { path: string; contents: string }[];
  deletions: { path: string }[];
}

export type ProposalVerdict =
  { ok: true; changes: FileChanges } | { ok: false; rule: ProposalRule; path?: string; message: string };

const WORKFLOWS_DIR = ".github/workflows";

export function verifyProposal(facts: ProposalFacts): ProposalVerdict {
  const { proposal } = facts;
  const limits = facts.limits ?? PROPOSAL_LIMITS;
  if (proposal.files.length > limits.maxFiles)
    return refuse(
      "too_many_files",
      `the proposal changes ${proposal.files.length} files; the limit is ${limits.maxFiles}`,
    );
  const files = [...proposal.files].sort((a, b) => compare(a.path, b.path));
  const parsed = parsePatch(facts.patch);
  if (!parsed.ok) return refuse("patch_mismatch", `the patch cannot be read: ${parsed.error}`);
  const entries = new Map(parsed.entries.map((e) => [e.path, e]));
  const mismatch = checkAgainstPatch(files, entries);
  if (mismatch) return mismatch;
  const isProtected =
    facts.protectedPaths.length > 0 ? picomatch([...facts.protectedPaths], { dot: true }) : () => false;
  const changes: FileChanges = { additions: [], deletions: [] };
  let total = 0;
  for (const file of files) {
    const refused = refuseFile(file, isProtected) ?? refuseOnHead(file, entries.get(file.path), facts.head);
    if (refused) return refused;
    if (file.status === "D") {
      changes.deletions.push({ path: file.path });
      continue;
    }
    const contents = file.blob ? facts.blobs.get(file.blob.toLowerCase()) : undefined;
    if (!contents)
      return refuse("missing_contents", "the artifact does not hold the contents of this file", file.path);
    total += contents.byteLength;
    if (total > limits.maxBytes)
      return refuse("too_large", `the new contents exceed ${limits.maxBytes} bytes`, file.path);
    changes.additions.push({ path: file.path, contents: base64(contents) });
  }
  return { ok: true, changes };
}

function refuseFile(file: ProposalFile, isProtected: (path: string) => boolean): ProposalVerdict | undefined {
  const { path } = file;
  const unsafe = unsafePath(path);
  if (unsafe) return refuse("unsafe_path", unsafe, path);
  const lower = path.toLowerCase();
  if (lower === WORKFLOWS_DIR || lower.startsWith(`${WORKFLOWS_DIR}/`))
    return refuse("workflow_file", "agents may not change GitHub Actions workflows", path);
  if (isProtected(path))
    return refuse("protected_path", "the path is protected by the repository's config", path);
  if (file.mode === "160000") return refuse("submodule", "agents may not add or change submodules", path);
  if (file.mode === "120000") return refuse("symlink", "agents may not add or change symbolic links", path);
  if (file.status === "T")
    return refuse("file_mode", "the file changes type; the App commits contents only, not types", path);
  if (file.status === "A" && file.mode !== "100644")
    return refuse(
      "file_mode",
      `a new file with mode ${file.mode ?? "?"}; the App can only create plain files (100644)`,
      path,
    );
  return undefined;
}

/** The path must be on the head as the patch's preimage says: then the new contents there are the patch applied. */
function refuseOnHead(
  file: ProposalFile,
  entry: PatchEntry | undefined,
  head: ReadonlyMap<string, HeadPath>,
): ProposalVerdict | undefined {
  const now = head.get(file.path);
  if (!now) return refuse("stale_base", "the App could not read this path on the branch", file.path);
  if (now.kind === "other")
    return now.type === "symlink"
      ? refuse("symlink", "the path is a symbolic link on the branch", file.path)
      : now.type === "submodule"
        ? refuse("submodule", "the path is a submodule on the branch", file.path)
        : refuse("file_mode", `the path is a ${now.type} on the branch, not a file`, file.path);
  const expected = file.status === "A" ? undefined : entry?.oldBlob;
  const actual = now.kind === "file" ? now.blob.toLowerCase() : undefined;
  if (expected !== actual)
    return refuse(
      "stale_base",
      file.status === "A"
        ? "the file was added on the branch since the agent's base"
        : "the file changed on the branch since the agent's base",
      file.path,
    );
  return undefined;
}

/**
 * The paths the shell reads on the head before the verdict: the file list's plain paths (an unsafe path is never
 * requested; it is refused by its rule), none when there are too many files.
 */
export function headPathsToRead(proposal: Proposal, limits: ProposalLimits = PROPOSAL_LIMITS): string[] {
  if (proposal.files.length > limits.maxFiles) return [];
  return proposal.files.map((f) => f.path).filter((path) => unsafePath(path) === undefined);
}

/** Why a path must not be committed, or undefined when it is a plain relative path inside the tree. */
export function unsafePath(path: string): string | undefined {
  if (path.length === 0 || path.length > 4096) return "the path is empty or too long";
  if (path.startsWith("/")) return "the path is absolute";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return "the path holds control characters or a backslash";
  const segments = path.split("/");
  if (segments.some((s) => s === "" || s === "." || s === ".."))
    return "the path has an empty, `.` or `..` segment";
  if (segments.some((s) => s.toLowerCase() === ".git")) return "the path is inside a `.git` directory";
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The patch's headers

/** What a `git diff --binary --full-index --no-renames` patch says of one path. */
export interface PatchEntry {
  path: string;
  status: "A" | "M" | "D" | "T";
  /** The new mode, when the patch states it. */
  mode?: string;
  /** The new blob id; absent for a deletion or a change of mode only. */
  blob?: string;
  /** The preimage's blob id; absent for an addition. */
  oldBlob?: string;
  /** `old mode`/`new mode` lines: the mode changed. */
  modeChanged: boolean;
}

interface Section {
  path: string;
  newFileMode?: string;
  deletedFileMode?: string;
  oldMode?: string;
  newMode?: string;
  indexOld?: string;
  indexNew?: string;
  indexMode?: string;
}

/**
 * The headers of each `diff --git` section of a patch, one entry per path (a type change is a deletion plus an
 * addition of the same path). Hunk and binary data lines never start with `diff --git ` (they start with ` `, `+`,
 * `-`, `\` or a base85 length letter followed by no space), so every such line starts a section.
 */
export function parsePatch(
  patch: Uint8Array,
): { ok: true; entries: PatchEntry[] } | { ok: false; error: string } {
  // latin1 keeps one character per byte: binary data cannot break the line split, and quoted paths are unquoted
  // to bytes and then decoded as UTF-8.
  const text = latin1(patch);
  const sections: Section[] = [];
  let current: Section | undefined;
  let inHeader = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("diff --git ")) {
      const path = diffGitPath(line.slice("diff --git ".length));
      if (path === undefined) return { ok: false, error: `unreadable header: ${line.slice(0, 200)}` };
      current = { path };
      sections.push(current);
      inHeader = true;
      continue;
    }
    if (!current || !inHeader) continue;
    let m: RegExpExecArray | null;
    if ((m = /^new file mode ([0-7]{6})$/.exec(line))) current.newFileMode = m[1];
    else if ((m = /^deleted file mode ([0-7]{6})$/.exec(line))) current.deletedFileMode = m[1];
    else if ((m = /^old mode ([0-7]{6})$/.exec(line))) current.oldMode = m[1];
    else if ((m = /^new mode ([0-7]{6})$/.exec(line))) current.newMode = m[1];
    else if ((m = /^index ([0-9a-f]+)\.\.([0-9a-f]+)(?: ([0-7]{6}))?$/.exec(line))) {
      current.indexOld = m[1];
      current.indexNew = m[2];
      if (m[3]) current.indexMode = m[3];
    } else if (/^(similarity|dissimilarity) index |^(rename|copy) (from|to) /.test(line))
      return { ok: false, error: `renames and copies are not expected (${current.path})` };
    else inHeader = false; // `---`, `+++`, `@@`, `GIT binary patch`, `Binary files … differ`
  }
  const byPath = new Map<string, PatchEntry>();
  for (const s of sections) {
    const entry = entryOf(s);
    const seen = byPath.get(s.path);
    if (!seen) {
      byPath.set(s.path, entry);
      continue;
    }
    // A type change: `deleted file mode` then `new file mode` for the same path.
    if (seen.status !== "D" || entry.status !== "A")
      return { ok: false, error: `the patch names ${s.path} twice` };
    byPath.set(s.path, { ...entry, status: "T", ...(seen.oldBlob ? { oldBlob: seen.oldBlob } : {}) });
  }
  return { ok: true, entries: [...byPath.values()] };
}

function entryOf(s: Section): PatchEntry {
  const id = (value: string | undefined): string | undefined =>
    value !== undefined && !/^0+$/.test(value) ? value : undefined;
  const blob = id(s.indexNew);
  const old = id(s.indexOld);
  const oldBlob = old ? { oldBlob: old } : {};
  if (s.deletedFileMode !== undefined) return { path: s.path, status: "D", ...oldBlob, modeChanged: false };
  if (s.newFileMode !== undefined)
    return { path: s.path, status: "A", mode: s.newFileMode, ...(blob ? { blob } : {}), modeChanged: false };
  const mode = s.newMode ?? s.indexMode;
  return {
    path: s.path,
    status: "M",
    ...(mode ? { mode } : {}),
    ...(blob ? { blob } : {}),
    ...oldBlob,
    modeChanged: s.oldMode !== undefined && s.oldMode !== s.newMode,
  };
}

/** `files` and the patch must describe the same change, path for path. */
function checkAgainstPatch(
  files: ProposalFile[],
  byPath: ReadonlyMap<string, PatchEntry>,
): ProposalVerdict | undefined {
  const entries = new Map(byPath);
  for (const file of files) {
    const entry = entries.get(file.path);
    if (!entry) return refuse("patch_mismatch", "the file list names a path the patch does not", file.path);
    entries.delete(file.path);
    if (entry.modeChanged)
      return refuse(
        "file_mode",
        "the file's mode changes; the App commits contents only, not modes",
        file.path,
      );
    const differs =
      entry.status !== file.status ||
      (entry.mode !== undefined && entry.mode !== file.mode) ||
      (entry.blob !== undefined && entry.blob !== file.blob?.toLowerCase()) ||
      (entry.blob === undefined && file.status !== "D");
    if (differs)
      return refuse("patch_mismatch", "the patch and the file list disagree on this file", file.path);
  }
  const extra = entries.keys().next();
  if (!extra.done)
    return refuse("patch_mismatch", "the patch changes a path the file list does not", extra.value);
  return undefined;
}

/** The path of a `diff --git a/P b/P` header (no renames: both sides are the same path), quoted or not. */
function diffGitPath(rest: string): string | undefined {
  if (rest.startsWith('"')) {
    const a = unquote(rest, 0);
    if (!a || rest[a.end] !== " ") return undefined;
    const b = rest[a.end + 1] === '"' ? unquote(rest, a.end + 1) : undefined;
    const bPath = b ? b.value : rest.slice(a.end + 1);
    if (b && b.end !== rest.length) return undefined;
    if (!a.value.startsWith("a/") || !bPath.startsWith("b/") || a.value.slice(2) !== bPath.slice(2))
      return undefined;
    return a.value.slice(2);
  }
  if ((rest.length - 5) % 2 !== 0) return undefined;
  const length = (rest.length - 5) / 2;
  const path = rest.slice(2, 2 + length);
  return rest === `a/${path} b/${path}` ? utf8(path) : undefined;
}

/** A C-style quoted string as git writes it (octal escapes are bytes of UTF-8), from `start` (the opening quote). */
function unquote(text: string, start: number): { value: string; end: number } | undefined {
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '"': 34, "\\": 92 };
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') return { value: new TextDecoder().decode(new Uint8Array(bytes)), end: i + 1 };
    if (c !== "\\") {
      bytes.push(c.charCodeAt(0) & 0xff);
      continue;
    }
    const next = text[i + 1] ?? "";
    const octal = /^[0-7]{3}/.exec(text.slice(i + 1, i + 4));
    if (octal) {
      bytes.push(parseInt(octal[0], 8) & 0xff);
      i += 3;
    } else if (next in simple) {
      bytes.push(simple[next]!);
      i += 1;
    } else return undefined;
  }
  return undefined;
}

function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    out += String.fromCharCode(...bytes.subarray(i, Math.min(i + 0x8000, bytes.length)));
  return out;
}

/** A latin1 string of UTF-8 bytes, decoded. */
function utf8(latin: string): string {
  const bytes = new Uint8Array(latin.length);
  for (let i = 0; i < latin.length; i++) bytes[i] = latin.charCodeAt(i) & 0xff;
  return new TextDecoder().decode(bytes);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function refuse(rule: ProposalRule, message: string, path?: string): ProposalVerdict {
  return { ok: false, rule, ...(path !== undefined ? { path } : {}), message };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One line for a check run or a comment: which rule, which path, why (plain text: callers escape it). */
export function describeRefusal(refusal: { rule: string; path?: string; message: string }): string {
  return `rule ${refusal.rule}${refusal.path !== undefined ? ` on ${refusal.path}` : ""}: ${refusal.message}`;
}
