import { createHash } from "node:crypto";
import { unzipSync } from "fflate";
import type { AgentResult } from "../core/result.js";
import {
  parseAgentResult,
  PROPOSAL_BLOBS_FILE,
  PROPOSAL_BLOBS_MAX_BYTES,
  PROPOSAL_FILE,
  PROPOSAL_MAX_BYTES,
  RESULT_FILE,
  resultArtifactName,
} from "../core/result.js";
import { scrubResult } from "../core/secrets.js";
import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { repoParams, statusOf } from "./client.js";

/**
 * Bounds on what the App downloads and inflates: a result is a few KB, a proposal's patch and blobs at most
 * PROPOSAL_MAX_BYTES and PROPOSAL_BLOBS_MAX_BYTES; anything beyond is hostile or broken.
 */
export const MAX_ARTIFACT_BYTES = 16 * 1024 * 1024;
export const MAX_RESULT_BYTES = 2 * 1024 * 1024;

/** A proposal's files, checked: the patch as the result describes it, and each blob by the id the App computed. */
export interface ProposalFiles {
  patch: Uint8Array;
  blobs: Map<string, Uint8Array>;
}

export type ResultError =
  | { code: "missing"; message: string }
  | { code: "expired"; message: string }
  | { code: "too_large"; message: string }
  | { code: "invalid"; message: string };

export type ReadResult =
  | { ok: true; result: AgentResult; artifactId: number; proposal?: ProposalFiles }
  | ({ ok: false } & ResultError);

/** Which files of the artifact are read, and their limits (by base name: upload-artifact may keep a folder). */
const LIMITS: Record<string, number> = {
  [RESULT_FILE]: MAX_RESULT_BYTES,
  [PROPOSAL_FILE]: PROPOSAL_MAX_BYTES,
  [PROPOSAL_BLOBS_FILE]: PROPOSAL_BLOBS_MAX_BYTES,
};
const baseName = (name: string): string => name.slice(name.lastIndexOf("/") + 1);

/**
 * The Action's machine-readable result for an attempt: the run's artifact `trellis-result-<attempt>` is listed,
 * downloaded (GitHub answers with a redirect to blob storage, which fetch follows), unzipped and validated.
 * Missing, expired, oversized and invalid results are error values with a message for the status comment.
 * With `withProposal`, a result that carries a proposal also brings its patch (size and SHA-256 checked against the
 * result) and its blobs (each keyed by the git blob id computed here).
 */
export async function readAttemptResult(
  octokit: GitHub,
  repo: RepoRef,
  workflowRunId: number,
  attemptId: string,
  options: { withProposal?: boolean } = {},
): Promise<ReadResult> {
  const name = resultArtifactName(attemptId);
  const artifacts = await octokit.paginate("GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts", {
    ...repoParams(repo),
    run_id: workflowRunId,
    name,
    per_page: 100,
  });
  // The newest upload wins (a re-run attempt of the workflow may upload again).
  const artifact = artifacts.filter((a) => a.name === name).sort((a, b) => b.id - a.id)[0];
  if (!artifact) return fail("missing", `workflow run ${workflowRunId} has no artifact "${name}"`);
  if (artifact.expired)
    return fail("expired", `artifact "${name}" of workflow run ${workflowRunId} has expired`);
  if (artifact.size_in_bytes > MAX_ARTIFACT_BYTES)
    return fail(
      "too_large",
      `artifact "${name}" is ${artifact.size_in_bytes} bytes; the limit is ${MAX_ARTIFACT_BYTES}`,
    );

  let zip: Uint8Array;
  try {
    const response = await octokit.request(
      "GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}",
      {
        ...repoParams(repo),
        artifact_id: artifact.id,
        archive_format: "zip",
      },
    );
    zip = toBytes(response.data);
  } catch (error) {
    if (statusOf(error) === 404 || statusOf(error) === 410)
      return fail("expired", `artifact "${name}" could not be downloaded (HTTP ${statusOf(error)})`);
    throw error; // transient: the worker retries
  }
  if (zip.byteLength > MAX_ARTIFACT_BYTES)
    return fail(
      "too_large",
      `artifact "${name}" download is ${zip.byteLength} bytes; the limit is ${MAX_ARTIFACT_BYTES}`,
    );

  const wanted = options.withProposal ? [RESULT_FILE, PROPOSAL_FILE, PROPOSAL_BLOBS_FILE] : [RESULT_FILE];
  const found: Record<string, Uint8Array> = {};
  let oversized: string | undefined;
  try {
    const inflated = unzipSync(zip, {
      // Only inflate the files wanted, and only if their declared sizes are sane (a zip bomb is refused before
      // inflating).
      filter: (f) => {
        const base = baseName(f.name);
        if (!wanted.includes(base)) return false;
        if (f.originalSize > LIMITS[base]!) {
          oversized = base;
          return false;
        }
        return true;
      },
    });
    for (const [path, bytes] of Object.entries(inflated)) found[baseName(path)] ??= bytes;
  } catch (error) {
    return fail("invalid", `artifact "${name}" is not a valid zip archive: ${messageOf(error)}`);
  }
  for (const [file, bytes] of Object.entries(found)) if (bytes.byteLength > LIMITS[file]!) oversized = file;
  if (oversized)
    return fail("too_large", `${oversized} in "${name}" is larger than ${LIMITS[oversized]} bytes`);
  const bytes = found[RESULT_FILE];
  if (!bytes) return fail("invalid", `artifact "${name}" has no ${RESULT_FILE}`);

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as unknown;
  } catch (error) {
    return fail("invalid", `${RESULT_FILE} in "${name}" is not valid JSON: ${messageOf(error)}`);
  }
  const parsed = parseAgentResult(json);
  if (!parsed.ok)
    return fail("invalid", `${RESULT_FILE} in "${name}" does not match the result schema:\n${parsed.error}`);
  if (parsed.result.attemptId !== attemptId)
    return fail(
      "invalid",
      `${RESULT_FILE} in "${name}" is for attempt ${parsed.result.attemptId}, not ${attemptId}`,
    );
  // Agent-written text is scrubbed as it enters the App: neither the store nor anything rendered from it holds a key.
  const result = scrubResult(parsed.result);
  if (!options.withProposal || !result.proposal) return { ok: true, result, artifactId: artifact.id };
  const proposal = proposalFiles(found, result.proposal);
  if (typeof proposal === "string") return fail("invalid", `the proposal in "${name}" ${proposal}`);
  return { ok: true, result, artifactId: artifact.id, proposal };
}

/** The patch checked against the result's claims, and the blobs by their computed ids; or what is wrong. */
function proposalFiles(
  found: Record<string, Uint8Array>,
  claims: NonNullable<AgentResult["proposal"]>,
): ProposalFiles | string {
  const patch = found[PROPOSAL_FILE];
  if (!patch) return `has no ${PROPOSAL_FILE}`;
  if (patch.byteLength !== claims.bytes)
    return `has a ${patch.byteLength}-byte ${PROPOSAL_FILE}; the result says ${claims.bytes}`;
  const sha256 = createHash("sha256").update(patch).digest("hex");
  if (sha256 !== claims.sha256) return `has a ${PROPOSAL_FILE} whose SHA-256 is not the one the result names`;
  const blobs = parseBlobRecords(found[PROPOSAL_BLOBS_FILE] ?? new Uint8Array());
  if (typeof blobs === "string") return `has an unreadable ${PROPOSAL_BLOBS_FILE}: ${blobs}`;
  return { patch, blobs };
}

/**
 * `blob <length>\0<contents>` records one after the other (src/core/result.ts), each keyed by its SHA-1, which is its
 * git blob id: the App knows each content by the id it computed.
 */
export function parseBlobRecords(bytes: Uint8Array): Map<string, Uint8Array> | string {
  const blobs = new Map<string, Uint8Array>();
  let at = 0;
  while (at < bytes.byteLength) {
    const nul = bytes.indexOf(0, at);
    const header = nul < 0 ? "" : new TextDecoder().decode(bytes.subarray(at, nul));
    const m = /^blob (0|[1-9][0-9]{0,9})$/.exec(header);
    if (!m) return `no blob header at byte ${at}`;
    const length = Number(m[1]);
    const end = nul + 1 + length;
    if (end > bytes.byteLength) return `the blob at byte ${at} is cut short`;
    const id = createHash("sha1").update(bytes.subarray(at, end)).digest("hex");
    blobs.set(id, bytes.subarray(nul + 1, end));
    at = end;
  }
  return blobs;
}

function fail(code: ResultError["code"], message: string): ReadResult {
  return { ok: false, code, message };
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof data === "string") return new TextEncoder().encode(data);
  throw new Error(`unexpected artifact download body: ${typeof data}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
