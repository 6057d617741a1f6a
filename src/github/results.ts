import { unzipSync } from "fflate";
import type { AgentResult } from "../core/result.js";
import { parseAgentResult, RESULT_FILE, resultArtifactName } from "../core/result.js";
import { scrubResult } from "../core/secrets.js";
import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { repoParams, statusOf } from "./client.js";

/** Bounds on what the App downloads and inflates: a result is a few KB; anything near these is hostile or broken. */
export const MAX_ARTIFACT_BYTES = 5 * 1024 * 1024;
export const MAX_RESULT_BYTES = 2 * 1024 * 1024;

export type ResultError =
  | { code: "missing"; message: string }
  | { code: "expired"; message: string }
  | { code: "too_large"; message: string }
  | { code: "invalid"; message: string };

export type ReadResult =
  { ok: true; result: AgentResult; artifactId: number } | ({ ok: false } & ResultError);

/**
 * The Action's machine-readable result for an attempt: the run's artifact `trellis-result-<attempt>` is listed,
 * downloaded (GitHub answers with a redirect to blob storage, which fetch follows), unzipped and validated.
 * Missing, expired, oversized and invalid results are error values with a message for the status comment.
 */
export async function readAttemptResult(
  octokit: GitHub,
  repo: RepoRef,
  workflowRunId: number,
  attemptId: string,
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

  let files: Record<string, Uint8Array>;
  let oversized = false;
  try {
    files = unzipSync(zip, {
      // Only inflate result.json, and only if its declared size is sane (a zip bomb is refused before inflating).
      filter: (f) => {
        if (f.name !== RESULT_FILE && !f.name.endsWith(`/${RESULT_FILE}`)) return false;
        if (f.originalSize > MAX_RESULT_BYTES) {
          oversized = true;
          return false;
        }
        return true;
      },
    });
  } catch (error) {
    return fail("invalid", `artifact "${name}" is not a valid zip archive: ${messageOf(error)}`);
  }
  if (oversized)
    return fail("too_large", `${RESULT_FILE} in "${name}" is larger than ${MAX_RESULT_BYTES} bytes`);
  const bytes = files[RESULT_FILE] ?? Object.values(files)[0];
  if (!bytes) return fail("invalid", `artifact "${name}" has no ${RESULT_FILE}`);
  if (bytes.byteLength > MAX_RESULT_BYTES)
    return fail("too_large", `${RESULT_FILE} in "${name}" is larger than ${MAX_RESULT_BYTES} bytes`);

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
  return { ok: true, result: scrubResult(parsed.result), artifactId: artifact.id };
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
