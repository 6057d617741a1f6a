/**
 * A detection attempt's input: the proposal it judges, read from the producer's Actions run the way the App reads it
 * (src/github/results.ts) — the run's artifact `trellis-result-<producer attempt>` listed and downloaded with the job's
 * own token (the agent workflow has `actions: read`, which lets a job read the artifacts of any run of its
 * repository: https://docs.github.com/en/rest/actions/artifacts), unzipped, and checked: the result names the
 * producer, and the patch is the one the result describes (size and SHA-256), so what is judged is what the App would
 * commit.
 */
import { createHash } from "node:crypto";
import { getOctokit } from "@actions/github";
import { unzipSync } from "fflate";
import type { DispatchSpec } from "../../src/core/dispatch.js";
import type { AgentResult } from "../../src/core/result.js";
import {
  parseAgentResult,
  PROPOSAL_FILE,
  PROPOSAL_MAX_BYTES,
  RESULT_FILE,
  resultArtifactName,
} from "../../src/core/result.js";

/** The artifact holds the result and the proposal (its blobs are not read: the patch says what changes). */
const MAX_ARTIFACT_BYTES = 16 * 1024 * 1024;
const MAX_RESULT_BYTES = 2 * 1024 * 1024;

/** What a detection attempt judges: the producer's result (its texts) and its patch. */
export interface ProposalUnderReview {
  result: AgentResult;
  patch: Buffer;
}

export async function fetchProposal(spec: DispatchSpec, token: string): Promise<ProposalUnderReview> {
  const detects = spec.detects;
  if (!detects) throw new Error("not a detection attempt: the spec names no proposal to judge");
  const proxied = ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"].some((k) => process.env[k]);
  const octokit = getOctokit(token, {
    baseUrl: process.env["GITHUB_API_URL"] || "https://api.github.com",
    ...(proxied ? {} : { request: { fetch: globalThis.fetch } }),
  });
  const repo = { owner: spec.repo.owner, repo: spec.repo.name };
  const name = resultArtifactName(detects.attemptId);
  const where = `artifact "${name}" of workflow run ${detects.workflowRunId}`;
  const { data } = await octokit.rest.actions.listWorkflowRunArtifacts({
    ...repo,
    run_id: detects.workflowRunId,
    name,
    per_page: 100,
  });
  // The newest upload wins, as for the App.
  const artifact = data.artifacts.filter((a) => a.name === name).sort((a, b) => b.id - a.id)[0];
  if (!artifact) throw new Error(`the proposal to judge is missing: no ${where}`);
  if (artifact.expired) throw new Error(`the proposal to judge has expired: ${where}`);
  if (artifact.size_in_bytes > MAX_ARTIFACT_BYTES)
    throw new Error(`${where} is ${artifact.size_in_bytes} bytes; the limit is ${MAX_ARTIFACT_BYTES}`);
  // GitHub answers with a redirect to blob storage, which fetch follows.
  const response = await octokit.rest.actions.downloadArtifact({
    ...repo,
    artifact_id: artifact.id,
    archive_format: "zip",
  });
  const zip = toBytes(response.data);
  if (zip.byteLength > MAX_ARTIFACT_BYTES)
    throw new Error(`${where} downloads as ${zip.byteLength} bytes; the limit is ${MAX_ARTIFACT_BYTES}`);
  return readProposal(zip, detects.attemptId, where);
}

const LIMITS: Record<string, number> = {
  [RESULT_FILE]: MAX_RESULT_BYTES,
  [PROPOSAL_FILE]: PROPOSAL_MAX_BYTES,
};
const baseName = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

/** The producer's result and patch from the artifact's zip, checked; throws with what is wrong. */
export function readProposal(zip: Uint8Array, attemptId: string, where: string): ProposalUnderReview {
  const found: Record<string, Uint8Array> = {};
  let oversized: string | undefined;
  const inflated = unzipSync(zip, {
    // Declared sizes are checked before anything is inflated (a zip bomb is refused unread).
    filter: (f) => {
      const base = baseName(f.name);
      if (!(base in LIMITS)) return false;
      if (f.originalSize > LIMITS[base]!) oversized = base;
      return oversized !== base;
    },
  });
  for (const [path, bytes] of Object.entries(inflated)) found[baseName(path)] ??= bytes;
  if (oversized) throw new Error(`${oversized} in ${where} is larger than ${LIMITS[oversized]} bytes`);
  const resultBytes = found[RESULT_FILE];
  if (!resultBytes) throw new Error(`${where} has no ${RESULT_FILE}`);
  const parsed = parseAgentResult(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(resultBytes)));
  if (!parsed.ok)
    throw new Error(`${RESULT_FILE} in ${where} does not match the result schema: ${parsed.error}`);
  const result = parsed.result;
  if (result.attemptId !== attemptId)
    throw new Error(`${RESULT_FILE} in ${where} is for attempt ${result.attemptId}, not ${attemptId}`);
  if (!result.proposal) throw new Error(`the result in ${where} proposes no change`);
  const patch = found[PROPOSAL_FILE];
  if (!patch) throw new Error(`${where} has no ${PROPOSAL_FILE}`);
  if (patch.byteLength !== result.proposal.bytes)
    throw new Error(
      `${PROPOSAL_FILE} in ${where} is ${patch.byteLength} bytes; the result says ${result.proposal.bytes}`,
    );
  if (createHash("sha256").update(patch).digest("hex") !== result.proposal.sha256)
    throw new Error(`${PROPOSAL_FILE} in ${where} is not the patch the result names (SHA-256 differs)`);
  return { result, patch: Buffer.from(patch) };
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof data === "string") return new TextEncoder().encode(data);
  throw new Error(`unexpected artifact download body: ${typeof data}`);
}
