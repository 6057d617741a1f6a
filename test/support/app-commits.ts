/**
 * The App's commits, for nock tests: an agent's proposal as the Action uploads it (result.json, proposal.patch,
 * proposal.blobs in one zip), and a small stateful GitHub answering what the App does with it — a branch's head
 * (`GET …/branches/{branch}`), `POST …/git/refs`, and GraphQL `createCommitOnBranch` with `expectedHeadOid`
 * (STALE_DATA when the branch moved, as GitHub documents).
 */
import { createHash } from "node:crypto";
import { strToU8, zipSync } from "fflate";
import nock from "nock";
import {
  PROPOSAL_BLOBS_FILE,
  PROPOSAL_FILE,
  RESULT_FILE,
  type AgentResult,
  type Proposal,
  type ProposalFile,
} from "../../src/core/result.js";
import { GITHUB_API } from "./github-routes.js";

const ZERO = "0".repeat(40);
/** The preimage blob of every modified or deleted file in `buildProposal`'s patches. */
export const OLD_BLOB = "1".repeat(40);
const blobId = (content: Buffer): string =>
  createHash("sha1").update(`blob ${content.byteLength}\0`).update(content).digest("hex");

/** One file of a proposal: new contents (added, or modified when `modified`), or a deletion (`null`). */
export type ProposedFile = string | null | { content: string; mode?: string; modified?: boolean };

/** A proposal against `base` as the Action builds it: the file list, the patch headers, the blob records. */
export function buildProposal(
  base: string,
  changes: Record<string, ProposedFile>,
): { proposal: Proposal; patch: Buffer; blobs: Buffer } {
  const files: ProposalFile[] = [];
  const sections: string[] = [];
  const records: Buffer[] = [];
  for (const [path, change] of Object.entries(changes).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const head = `diff --git a/${path} b/${path}`;
    if (change === null) {
      files.push({ path, status: "D" });
      sections.push(head, "deleted file mode 100644", `index ${OLD_BLOB}..${ZERO}`);
      continue;
    }
    const {
      content,
      mode = "100644",
      modified = false,
    } = typeof change === "string" ? { content: change } : change;
    const bytes = Buffer.from(content);
    const blob = blobId(bytes);
    records.push(Buffer.from(`blob ${bytes.byteLength}\0`), bytes);
    files.push({ path, status: modified ? "M" : "A", mode, blob });
    if (modified) sections.push(head, `index ${OLD_BLOB}..${blob} ${mode}`, `--- a/${path}`, `+++ b/${path}`);
    else
      sections.push(
        head,
        `new file mode ${mode}`,
        `index ${ZERO}..${blob}`,
        "--- /dev/null",
        `+++ b/${path}`,
      );
    sections.push("@@ -0,0 +1 @@", `+${content}`);
  }
  const patch = Buffer.from(`${sections.join("\n")}\n`);
  const proposal: Proposal = {
    base,
    patchFile: "proposal.patch",
    bytes: patch.byteLength,
    sha256: createHash("sha256").update(patch).digest("hex"),
    files,
  };
  return { proposal, patch, blobs: Buffer.concat(records) };
}

/** The artifact zip of a result that proposes `built`. */
export function proposalZip(result: AgentResult, built: { patch: Buffer; blobs: Buffer }): Buffer {
  return Buffer.from(
    zipSync({
      [RESULT_FILE]: strToU8(JSON.stringify(result)),
      [PROPOSAL_FILE]: new Uint8Array(built.patch),
      [PROPOSAL_BLOBS_FILE]: new Uint8Array(built.blobs),
    }),
  );
}

export interface FakeCommit {
  branch: string;
  expectedHeadOid: string;
  oid: string;
  additions: { path: string; contents: string }[];
  deletions: { path: string }[];
  headline: string;
  body: string;
}

/**
 * The branches the App commits to (names under `prefix`) and its GraphQL commits, in `repoPath`
 * (`/repos/{owner}/{repo}`), and the files `headFiles` names (path → blob id) on every head, for the App's check of
 * each changed path. Create it before the routes that answer other contents: nock takes the first match. Every route
 * is optional: a test that commits nothing leaves no pending mock.
 */
export function fakeCommits(repoPath: string, prefix = "trellis/") {
  const branches = new Map<string, { sha: string; message: string }>();
  const headFiles = new Map<string, string>();
  const commits: FakeCommit[] = [];
  const refs: { ref: string; sha: string }[] = [];
  let graphqlRequests = 0;
  /** GitHub's GraphQL endpoint is down (502) while this is set. */
  const state = { outage: false };
  const api = nock(GITHUB_API).persist();
  const contentsPrefix = `${repoPath}/contents/`;
  const contentsPath = (uri: string): string | undefined => {
    if (!uri.startsWith(contentsPrefix)) return undefined;
    const path = decodeURIComponent(uri.slice(contentsPrefix.length).split("?")[0]!);
    return headFiles.has(path) ? path : undefined;
  };
  api
    .get((uri) => contentsPath(uri) !== undefined)
    .optionally()
    .reply((uri) => {
      const path = contentsPath(uri)!;
      return [
        200,
        { type: "file", path, name: path.split("/").pop(), sha: headFiles.get(path), encoding: "base64" },
      ];
    });
  const branchPath = new RegExp(`^${repoPath}/branches/(${encodeURIComponent(prefix)}|${prefix}).+$`);
  api
    .get(branchPath)
    .optionally()
    .reply((uri) => {
      const name = decodeURIComponent(uri.slice(`${repoPath}/branches/`.length));
      const head = branches.get(name);
      if (!head) return [404, { message: "Branch not found" }];
      return [200, { name, commit: { sha: head.sha, commit: { message: head.message } } }];
    });
  api
    .post(`${repoPath}/git/refs`)
    .optionally()
    .reply((_uri, body) => {
      const { ref, sha } = body as { ref: string; sha: string };
      const name = ref.replace(/^refs\/heads\//, "");
      if (branches.has(name)) return [422, { message: "Reference already exists" }];
      refs.push({ ref, sha });
      branches.set(name, { sha, message: "base" });
      return [201, { ref, object: { sha, type: "commit" } }];
    });
  api
    .post("/graphql")
    .optionally()
    .reply((_uri, body) => {
      graphqlRequests++;
      if (state.outage) return [502, { message: "Server Error" }];
      const { query, variables } = body as { query: string; variables: { input: Record<string, unknown> } };
      if (!query.includes("createCommitOnBranch"))
        return [200, { data: null, errors: [{ message: "unexpected" }] }];
      const input = variables.input as {
        branch: { branchName: string };
        expectedHeadOid: string;
        fileChanges: { additions?: FakeCommit["additions"]; deletions?: FakeCommit["deletions"] };
        message: { headline: string; body?: string };
      };
      const name = input.branch.branchName;
      const head = branches.get(name);
      if (!head)
        return [
          200,
          { data: { createCommitOnBranch: null }, errors: [{ type: "NOT_FOUND", message: "no ref" }] },
        ];
      if (head.sha !== input.expectedHeadOid)
        return [
          200,
          {
            data: { createCommitOnBranch: null },
            errors: [
              {
                type: "STALE_DATA",
                message: `Expected branch to point to "${input.expectedHeadOid}" but it did not.  Pull and try again.`,
              },
            ],
          },
        ];
      const oid = createHash("sha1").update(`commit ${commits.length} ${name}`).digest("hex");
      const message = `${input.message.headline}\n\n${input.message.body ?? ""}`;
      commits.push({
        branch: name,
        expectedHeadOid: input.expectedHeadOid,
        oid,
        additions: input.fileChanges.additions ?? [],
        deletions: input.fileChanges.deletions ?? [],
        headline: input.message.headline,
        body: input.message.body ?? "",
      });
      branches.set(name, { sha: oid, message });
      return [200, { data: { createCommitOnBranch: { commit: { oid } } } }];
    });
  return {
    state,
    headFiles,
    branches,
    commits,
    refs,
    get graphqlRequests() {
      return graphqlRequests;
    },
  };
}
