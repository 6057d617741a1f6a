import { createHash } from "node:crypto";
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import type { AgentResult } from "../../src/core/result.js";
import { MAX_ARTIFACT_BYTES, parseBlobRecords, readAttemptResult } from "../../src/github/results.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { R, repo, testOctokit } from "./helpers.js";

useGitHubNock();

const attemptId = "att_0123456789abcdef";
const runId = examplePayload("workflow_run", "completed", undefined, 1).workflow_run.id;
const BLOB = "https://pipelines.actions.githubusercontent.com";

const result = {
  version: 1,
  attemptId,
  stage: "implement",
  profile: "dev",
  status: "succeeded",
  summary: "Implemented the login form; 12 tests pass.",
  branch: "trellis/1-login",
  tests: { passed: 12, failed: 0 },
  costUsd: 0.42,
  tokens: { input: 1000, output: 200 },
  turns: 7,
};

function artifact(over: Record<string, unknown> = {}) {
  return {
    id: 11,
    node_id: "MDg6QXJ0aWZhY3QxMQ==",
    name: `trellis-result-${attemptId}`,
    size_in_bytes: 556,
    url: `https://api.github.com${R}/actions/artifacts/11`,
    archive_download_url: `https://api.github.com${R}/actions/artifacts/11/zip`,
    expired: false,
    created_at: "2020-01-10T14:59:22Z",
    expires_at: "2020-03-21T14:59:22Z",
    updated_at: "2020-02-21T14:59:22Z",
    ...over,
  };
}

/** The artifact list, then GitHub's redirect to blob storage, which must not receive our token. */
function mockDownload(zip: Uint8Array, list = [artifact()]) {
  githubApi()
    .get(`${R}/actions/runs/${runId}/artifacts`)
    .query({ name: `trellis-result-${attemptId}`, per_page: "100" })
    .reply(200, { total_count: list.length, artifacts: list })
    .get(`${R}/actions/artifacts/11/zip`)
    .reply(302, "", { location: `${BLOB}/artifacts/11/blob?sig=abc` });
  githubApi(BLOB, { badheaders: ["authorization"] })
    .get("/artifacts/11/blob")
    .query({ sig: "abc" })
    .reply(200, Buffer.from(zip), { "content-type": "application/zip" });
}

const zipOf = (files: Record<string, string | Uint8Array>) =>
  zipSync(
    Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === "string" ? strToU8(v) : v])),
  );

describe("readAttemptResult", () => {
  it("downloads, unzips and validates the attempt's result", async () => {
    mockDownload(zipOf({ "result.json": JSON.stringify(result) }));
    const read = await readAttemptResult(testOctokit(), repo, runId, attemptId);
    if (!read.ok) throw new Error(read.message);
    const expected: Partial<AgentResult> = {
      attemptId,
      status: "succeeded",
      branch: "trellis/1-login",
      costUsd: 0.42,
      tests: { passed: 12, failed: 0, skipped: 0, failures: [] },
      tokens: { input: 1000, output: 200, cacheRead: 0, cacheWrite: 0 },
    };
    expect(read.result).toMatchObject(expected);
    expect(read.artifactId).toBe(11);
  });

  it("with the proposal: checks the patch's size and SHA-256 and keys each blob by the id it computes", async () => {
    const patch = strToU8("diff --git a/a.txt b/a.txt\n");
    const contents = strToU8("hello\n");
    const record = new Uint8Array([...strToU8(`blob ${contents.byteLength}\0`), ...contents]);
    const proposal = {
      base: "a".repeat(40),
      patchFile: "proposal.patch",
      bytes: patch.byteLength,
      sha256: createHash("sha256").update(patch).digest("hex"),
      files: [
        { path: "a.txt", status: "M", mode: "100644", blob: "ce013625030ba8dba906f756967f9e9ca394464a" },
      ],
    };
    const files = { "result.json": JSON.stringify({ ...result, proposal }), "proposal.patch": patch };
    mockDownload(zipOf({ ...files, "proposal.blobs": record }));
    const read = await readAttemptResult(testOctokit(), repo, runId, attemptId, { withProposal: true });
    if (!read.ok) throw new Error(read.message);
    // `git hash-object` of "hello\n".
    expect([...(read.proposal?.blobs.keys() ?? [])]).toEqual(["ce013625030ba8dba906f756967f9e9ca394464a"]);
    expect(read.proposal?.patch).toEqual(patch);

    const tampered = { ...files, "proposal.patch": strToU8("diff --git a/b.txt b/b.txt\n") };
    mockDownload(zipOf(tampered));
    expect(
      await readAttemptResult(testOctokit(), repo, runId, attemptId, { withProposal: true }),
    ).toMatchObject({
      ok: false,
      code: "invalid",
      message: expect.stringContaining("SHA-256") as unknown,
    });
    expect(parseBlobRecords(strToU8("blob 9\0short"))).toMatch(/cut short/);
  });

  it("takes the newest of several uploads", async () => {
    mockDownload(zipOf({ "result.json": JSON.stringify(result) }), [
      artifact({ id: 3 }),
      artifact(),
      artifact({ id: 5 }),
    ]);
    const read = await readAttemptResult(testOctokit(), repo, runId, attemptId);
    expect(read).toMatchObject({ ok: true, artifactId: 11 });
  });

  it("says so when the run has no result artifact", async () => {
    githubApi()
      .get(`${R}/actions/runs/${runId}/artifacts`)
      .query(true)
      .reply(200, { total_count: 1, artifacts: [artifact({ name: "coverage" })] });
    expect(await readAttemptResult(testOctokit(), repo, runId, attemptId)).toEqual({
      ok: false,
      code: "missing",
      message: `workflow run ${runId} has no artifact "trellis-result-${attemptId}"`,
    });
  });

  it("refuses expired and oversized artifacts without downloading them", async () => {
    githubApi()
      .get(`${R}/actions/runs/${runId}/artifacts`)
      .query(true)
      .reply(200, { total_count: 1, artifacts: [artifact({ expired: true })] })
      .get(`${R}/actions/runs/${runId}/artifacts`)
      .query(true)
      .reply(200, { total_count: 1, artifacts: [artifact({ size_in_bytes: MAX_ARTIFACT_BYTES + 1 })] });
    expect(await readAttemptResult(testOctokit(), repo, runId, attemptId)).toMatchObject({
      ok: false,
      code: "expired",
    });
    expect(await readAttemptResult(testOctokit(), repo, runId, attemptId)).toMatchObject({
      ok: false,
      code: "too_large",
    });
  });

  it("refuses a zip bomb before inflating it", async () => {
    // 10 MB of zeros compresses to a few KB: small download, huge result.
    mockDownload(zipOf({ "result.json": new Uint8Array(10 * 1024 * 1024) }));
    const read = await readAttemptResult(testOctokit(), repo, runId, attemptId);
    expect(read).toMatchObject({ ok: false, code: "too_large" });
  });

  it("reports a download that is not a zip", async () => {
    mockDownload(strToU8("<html>not a zip</html>"));
    expect(await readAttemptResult(testOctokit(), repo, runId, attemptId)).toMatchObject({
      ok: false,
      code: "invalid",
      message: expect.stringContaining("not a valid zip archive"),
    });
  });

  it("reports a missing result.json, invalid JSON and schema violations clearly", async () => {
    mockDownload(zipOf({ "other.txt": "hi" }));
    expect(await readAttemptResult(testOctokit(), repo, runId, attemptId)).toMatchObject({
      code: "invalid",
      message: `artifact "trellis-result-${attemptId}" has no result.json`,
    });
    mockDownload(zipOf({ "result.json": "{ not json" }));
    expect(await readAttemptResult(testOctokit(), repo, runId, attemptId)).toMatchObject({
      code: "invalid",
      message: expect.stringContaining("is not valid JSON"),
    });
    mockDownload(zipOf({ "result.json": JSON.stringify({ ...result, status: "great" }) }));
    expect(await readAttemptResult(testOctokit(), repo, runId, attemptId)).toMatchObject({
      code: "invalid",
      message: expect.stringMatching(/does not match the result schema:\n.*status/s),
    });
  });

  it("refuses a result that belongs to another attempt", async () => {
    mockDownload(zipOf({ "result.json": JSON.stringify({ ...result, attemptId: "att_zzzzzzzzzzzz" }) }));
    expect(await readAttemptResult(testOctokit(), repo, runId, attemptId)).toMatchObject({
      code: "invalid",
      message: expect.stringContaining("is for attempt att_zzzzzzzzzzzz"),
    });
  });

  it("treats a vanished artifact (410) as expired but lets server errors through for a retry", async () => {
    githubApi()
      .get(`${R}/actions/runs/${runId}/artifacts`)
      .query(true)
      .reply(200, { total_count: 1, artifacts: [artifact()] })
      .get(`${R}/actions/artifacts/11/zip`)
      .reply(410, { message: "Artifact has expired" })
      .get(`${R}/actions/runs/${runId}/artifacts`)
      .query(true)
      .reply(200, { total_count: 1, artifacts: [artifact()] })
      .get(`${R}/actions/artifacts/11/zip`)
      .reply(503, { message: "unavailable" });
    expect(await readAttemptResult(testOctokit(), repo, runId, attemptId)).toMatchObject({ code: "expired" });
    await expect(readAttemptResult(testOctokit(), repo, runId, attemptId)).rejects.toMatchObject({
      status: 503,
    });
  });
});
