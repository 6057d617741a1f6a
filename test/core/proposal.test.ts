import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  describeRefusal,
  headPathsToRead,
  parsePatch,
  unsafePath,
  verifyProposal,
} from "../../src/core/proposal.js";
import type { HeadPath, ProposalFacts } from "../../src/core/proposal.js";
import type { Proposal, ProposalFile } from "../../src/core/result.js";

const BASE = "a".repeat(40);
const ZERO = "0".repeat(40);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const blobId = (content: Uint8Array): string =>
  createHash("sha1").update(`blob ${content.byteLength}\0`).update(content).digest("hex");
const OLD = "1".repeat(40);

/** One file's change as the patch and the file list say it. */
interface Change {
  path: string;
  status: "A" | "M" | "D";
  mode?: string;
  content?: string;
  /** Patch header lines to use instead of the ones derived from the change. */
  header?: string[];
}

function sectionOf(c: Change): string[] {
  const q = c.path;
  const blob = c.content !== undefined ? blobId(enc(c.content)) : ZERO;
  const head = [`diff --git a/${q} b/${q}`];
  if (c.header) return [...head, ...c.header];
  if (c.status === "A")
    return [
      ...head,
      `new file mode ${c.mode ?? "100644"}`,
      `index ${ZERO}..${blob}`,
      "--- /dev/null",
      `+++ b/${q}`,
      "@@ -0,0 +1 @@",
      `+${c.content ?? ""}`,
    ];
  if (c.status === "D")
    return [
      ...head,
      "deleted file mode 100644",
      `index ${OLD}..${ZERO}`,
      `--- a/${q}`,
      "+++ /dev/null",
      "@@ -1 +0,0 @@",
      "-old",
    ];
  return [
    ...head,
    `index ${OLD}..${blob} ${c.mode ?? "100644"}`,
    `--- a/${q}`,
    `+++ b/${q}`,
    "@@ -1 +1 @@",
    "-old",
    `+${c.content ?? ""}`,
  ];
}

function factsFor(changes: Change[], over: Partial<ProposalFacts> = {}): ProposalFacts {
  const files: ProposalFile[] = changes.map((c) =>
    c.status === "D"
      ? { path: c.path, status: "D" }
      : { path: c.path, status: c.status, mode: c.mode ?? "100644", blob: blobId(enc(c.content ?? "")) },
  );
  const patch = enc(`${changes.flatMap(sectionOf).join("\n")}\n`);
  const blobs = new Map(
    changes.filter((c) => c.status !== "D").map((c) => [blobId(enc(c.content ?? "")), enc(c.content ?? "")]),
  );
  const proposal: Proposal = {
    base: BASE,
    patchFile: "proposal.patch",
    bytes: patch.byteLength,
    sha256: "0".repeat(64),
    files,
  };
  // The head as the base had it: added paths absent, modified and deleted ones with their preimage.
  const head = new Map<string, HeadPath>(
    changes.map((c) => [c.path, c.status === "A" ? { kind: "absent" } : { kind: "file", blob: OLD }]),
  );
  return { proposal, patch, blobs, head, protectedPaths: [".github/workflows/**"], ...over };
}

describe("verifyProposal", () => {
  it("accepts additions, modifications and deletions and returns the contents to commit", () => {
    const verdict = verifyProposal(
      factsFor([
        { path: "src/new.ts", status: "A", content: "export const x = 1;" },
        { path: "README.md", status: "M", content: "hello" },
        { path: "old.txt", status: "D" },
      ]),
    );
    expect(verdict).toEqual({
      ok: true,
      changes: {
        additions: [
          { path: "README.md", contents: Buffer.from("hello").toString("base64") },
          { path: "src/new.ts", contents: Buffer.from("export const x = 1;").toString("base64") },
        ],
        deletions: [{ path: "old.txt" }],
      },
    });
  });

  it("refuses a path that changed on the head since the base, or is a symlink or submodule there", () => {
    const changes: Change[] = [
      { path: "a.txt", status: "A", content: "a" },
      { path: "b.txt", status: "M", content: "b" },
    ];
    const on = (path: string, now: HeadPath) => {
      const facts = factsFor(changes);
      facts.head = new Map([...facts.head, [path, now]]);
      return verifyProposal(facts);
    };
    expect(on("a.txt", { kind: "file", blob: OLD })).toMatchObject({
      ok: false,
      rule: "stale_base",
      path: "a.txt",
    });
    expect(on("b.txt", { kind: "file", blob: "2".repeat(40) })).toMatchObject({
      rule: "stale_base",
      path: "b.txt",
    });
    expect(on("b.txt", { kind: "absent" })).toMatchObject({ rule: "stale_base", path: "b.txt" });
    expect(on("b.txt", { kind: "other", type: "symlink" })).toMatchObject({ rule: "symlink", path: "b.txt" });
    expect(on("b.txt", { kind: "other", type: "submodule" })).toMatchObject({ rule: "submodule" });
    const unread = factsFor(changes);
    unread.head = new Map();
    expect(verifyProposal(unread)).toMatchObject({ rule: "stale_base", path: "a.txt" });
    // The base itself is not the App's concern: only what the head holds at the changed paths.
    expect(
      verifyProposal(
        factsFor(changes, { proposal: { ...factsFor(changes).proposal, base: "f".repeat(40) } }),
      ),
    ).toMatchObject({ ok: true });
  });

  it("reads only plain paths on the head, and none when there are too many files", () => {
    const facts = factsFor([
      { path: "ok.txt", status: "A", content: "x" },
      { path: "../up", status: "A", content: "x" },
    ]);
    expect(headPathsToRead(facts.proposal)).toEqual(["ok.txt"]);
    expect(headPathsToRead(facts.proposal, { maxFiles: 1, maxBytes: 10 })).toEqual([]);
  });

  it("refuses workflows even when the config protects nothing", () => {
    const verdict = verifyProposal(
      factsFor([{ path: ".github/workflows/ci.yml", status: "M", content: "on: push" }], {
        protectedPaths: [],
      }),
    );
    expect(verdict).toMatchObject({ ok: false, rule: "workflow_file", path: ".github/workflows/ci.yml" });
    const upper = verifyProposal(
      factsFor([{ path: ".GitHub/Workflows/x.yml", status: "A", content: "x" }], { protectedPaths: [] }),
    );
    expect(upper).toMatchObject({ ok: false, rule: "workflow_file" });
  });

  it("refuses protected paths from the default branch's config", () => {
    const verdict = verifyProposal(
      factsFor([{ path: "infra/prod/main.tf", status: "M", content: "x" }], { protectedPaths: ["infra/**"] }),
    );
    expect(verdict).toMatchObject({ ok: false, rule: "protected_path", path: "infra/prod/main.tf" });
    expect(describeRefusal(verdict as { rule: string; path: string; message: string })).toContain(
      "rule protected_path on infra/prod/main.tf",
    );
  });

  it("refuses submodules, symlinks, new executables and mode changes", () => {
    expect(
      verifyProposal(factsFor([{ path: "vendor/lib", status: "A", mode: "160000", content: "x" }])),
    ).toMatchObject({
      ok: false,
      rule: "submodule",
    });
    expect(
      verifyProposal(factsFor([{ path: "link", status: "A", mode: "120000", content: "/etc/passwd" }])),
    ).toMatchObject({
      ok: false,
      rule: "symlink",
      path: "link",
    });
    expect(
      verifyProposal(factsFor([{ path: "run.sh", status: "A", mode: "100755", content: "#!/bin/sh" }])),
    ).toMatchObject({
      ok: false,
      rule: "file_mode",
    });
    const chmod = factsFor([
      { path: "run.sh", status: "M", content: "x", header: ["old mode 100644", "new mode 100755"] },
    ]);
    expect(verifyProposal(chmod)).toMatchObject({ ok: false, rule: "file_mode", path: "run.sh" });
  });

  it("refuses a type change (a file that becomes a symlink or the reverse)", () => {
    const blob = blobId(enc("target"));
    const patch = enc(
      [
        "diff --git a/x b/x",
        "deleted file mode 120000",
        `index ${OLD}..${ZERO}`,
        "diff --git a/x b/x",
        "new file mode 100644",
        `index ${ZERO}..${blob}`,
        "",
      ].join("\n"),
    );
    const facts = factsFor([]);
    facts.patch = patch;
    facts.proposal.files = [{ path: "x", status: "T", mode: "100644", blob }];
    facts.blobs = new Map([[blob, enc("target")]]);
    facts.head = new Map([["x", { kind: "other", type: "symlink" }]]);
    expect(verifyProposal(facts)).toMatchObject({ ok: false, rule: "file_mode", path: "x" });
  });

  it.each(["../etc/passwd", "/abs", "a//b", "a/./b", ".git/hooks/pre-commit", "sub/.GIT/config", "a\\b"])(
    "refuses the unsafe path %s",
    (path) => {
      expect(unsafePath(path)).toBeDefined();
      const facts = factsFor([{ path, status: "A", content: "x" }]);
      expect(verifyProposal(facts)).toMatchObject({ ok: false, rule: "unsafe_path", path });
    },
  );

  it("refuses too many files and too many bytes", () => {
    const many = [1, 2, 3].map((n) => ({ path: `f${n}`, status: "A" as const, content: `${n}` }));
    expect(verifyProposal(factsFor(many, { limits: { maxFiles: 2, maxBytes: 100 } }))).toMatchObject({
      ok: false,
      rule: "too_many_files",
    });
    expect(verifyProposal(factsFor(many, { limits: { maxFiles: 10, maxBytes: 2 } }))).toMatchObject({
      ok: false,
      rule: "too_large",
      path: "f3",
    });
  });

  it("refuses contents the App did not hash itself", () => {
    const facts = factsFor([{ path: "a.txt", status: "A", content: "a" }]);
    facts.blobs = new Map();
    expect(verifyProposal(facts)).toMatchObject({ ok: false, rule: "missing_contents", path: "a.txt" });
  });

  it("refuses a file list that hides what the patch changes, or disagrees with it", () => {
    const hidden = factsFor([
      { path: "a.txt", status: "A", content: "a" },
      { path: ".github/workflows/x.yml", status: "A", content: "x" },
    ]);
    hidden.proposal.files = hidden.proposal.files.filter((f) => f.path === "a.txt");
    expect(verifyProposal(hidden)).toMatchObject({
      ok: false,
      rule: "patch_mismatch",
      path: ".github/workflows/x.yml",
    });
    const claimed = factsFor([{ path: "a.txt", status: "M", content: "a" }]);
    claimed.proposal.files = [{ ...claimed.proposal.files[0]!, blob: blobId(enc("other")) }];
    claimed.blobs = new Map([[blobId(enc("other")), enc("other")]]);
    expect(verifyProposal(claimed)).toMatchObject({ ok: false, rule: "patch_mismatch", path: "a.txt" });
  });
});

describe("parsePatch", () => {
  it("reads quoted paths (octal UTF-8, escapes) and paths with spaces", () => {
    const blob = "b".repeat(40);
    const patch = enc(
      [
        'diff --git "a/caf\\303\\251 \\"x\\".txt" "b/caf\\303\\251 \\"x\\".txt"',
        "new file mode 100644",
        `index ${ZERO}..${blob}`,
        "diff --git a/with space.txt b/with space.txt",
        `index ${OLD}..${blob} 100755`,
        "GIT binary patch",
        "literal 3",
        "Kcmb1",
        "",
      ].join("\n"),
    );
    expect(parsePatch(patch)).toEqual({
      ok: true,
      entries: [
        { path: 'café "x".txt', status: "A", mode: "100644", blob, modeChanged: false },
        { path: "with space.txt", status: "M", mode: "100755", blob, oldBlob: OLD, modeChanged: false },
      ],
    });
  });

  it("ignores hunk lines that look like headers", () => {
    const patch = enc(
      [
        "diff --git a/x b/x",
        `index ${OLD}..${"c".repeat(40)} 100644`,
        "@@ -1 +1 @@",
        "-new file mode 100755",
        "+old mode 1",
        "",
      ].join("\n"),
    );
    expect(parsePatch(patch)).toMatchObject({
      ok: true,
      entries: [{ path: "x", status: "M", mode: "100644" }],
    });
  });
});
