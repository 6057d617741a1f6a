import { describe, expect, it } from "vitest";
import type { Annotation } from "../../src/core/result.js";
import {
  checkRunName,
  createCheckRun,
  findCheckRun,
  updateCheckRun,
  upsertCheckRun,
} from "../../src/github/check-runs.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { nextPage, R, repo, testOctokit } from "./helpers.js";

useGitHubNock();

// A real check run object (as GitHub sends it in webhooks and API responses).
const checkRun = examplePayload("check_run", "created").check_run;
const sha = checkRun.head_sha;

const annotations = (n: number): Annotation[] =>
  Array.from({ length: n }, (_, i) => ({
    path: "features/login.feature",
    start_line: i + 1,
    end_line: i + 1,
    annotation_level: "failure" as const,
    message: `Scenario ${i + 1} failed`,
    title: `Scenario ${i + 1}`,
  }));

describe("check runs", () => {
  it("names them after the stage", () => {
    expect(checkRunName("implement")).toBe("Trellis / implement");
  });

  it("creates a queued check run with the stable external id", async () => {
    githubApi()
      .post(`${R}/check-runs`, {
        name: "Trellis / implement",
        head_sha: sha,
        external_id: "run_1:implement",
        status: "queued",
        output: { title: "Queued", summary: "Waiting for a runner" },
      })
      .reply(201, { ...checkRun, status: "queued" });
    const ref = await createCheckRun(testOctokit(), repo, {
      name: checkRunName("implement"),
      headSha: sha,
      externalId: "run_1:implement",
      status: "queued",
      output: { title: "Queued", summary: "Waiting for a runner" },
    });
    expect(ref).toEqual({ id: checkRun.id, htmlUrl: checkRun.html_url, status: "queued", conclusion: null });
  });

  it("moves to in_progress with the Actions run as details URL", async () => {
    const url = "https://github.com/Codertocat/Hello-World/actions/runs/30433642";
    githubApi()
      .patch(`${R}/check-runs/${checkRun.id}`, { status: "in_progress", details_url: url })
      .reply(200, { ...checkRun, status: "in_progress" });
    await updateCheckRun(testOctokit(), repo, checkRun.id, { status: "in_progress", detailsUrl: url });
  });

  it("completes with a summary and sends annotations 50 per request", async () => {
    const all = annotations(120);
    const github = (a: Annotation[]) => a.map((x) => ({ ...x }));
    const api = githubApi();
    api
      .patch(`${R}/check-runs/${checkRun.id}`, {
        status: "completed",
        conclusion: "failure",
        output: {
          title: "2 scenarios failed",
          summary: "Summary",
          text: "Details",
          annotations: github(all.slice(0, 50)),
        },
      })
      .reply(200, { ...checkRun, status: "completed", conclusion: "failure" })
      .patch(`${R}/check-runs/${checkRun.id}`, {
        output: { title: "2 scenarios failed", summary: "Summary", annotations: github(all.slice(50, 100)) },
      })
      .reply(200, checkRun)
      .patch(`${R}/check-runs/${checkRun.id}`, {
        output: { title: "2 scenarios failed", summary: "Summary", annotations: github(all.slice(100)) },
      })
      .reply(200, checkRun);
    const ref = await updateCheckRun(testOctokit(), repo, checkRun.id, {
      conclusion: "failure",
      output: { title: "2 scenarios failed", summary: "Summary", text: "Details", annotations: all },
    });
    expect(ref).toMatchObject({ id: checkRun.id, status: "completed", conclusion: "failure" });
  });

  it("bounds huge summaries to GitHub's 65,535 characters", async () => {
    let sent = "";
    githubApi()
      .post(`${R}/check-runs`, (body: { output: { summary: string } }) => {
        sent = body.output.summary;
        return true;
      })
      .reply(201, checkRun);
    await createCheckRun(testOctokit(), repo, {
      name: "Trellis / config",
      headSha: sha,
      externalId: "config",
      conclusion: "failure",
      output: { title: "Invalid config", summary: "x".repeat(200_000) },
    });
    expect(sent.length).toBeLessThanOrEqual(65_535);
    expect(sent.endsWith("(truncated)")).toBe(true);
  });

  it("cuts a long summary of emoji without splitting one", async () => {
    let sent = "";
    githubApi()
      .post(`${R}/check-runs`, (body: { output: { summary: string } }) => {
        sent = body.output.summary;
        return true;
      })
      .reply(201, checkRun);
    await createCheckRun(testOctokit(), repo, {
      name: "Trellis / config",
      headSha: sha,
      externalId: "config",
      conclusion: "failure",
      // 65,535 − 16 = 65,519 units, odd: a plain slice would end inside an emoji.
      output: { title: "Invalid config", summary: "🌱".repeat(40_000) },
    });
    expect(sent.length).toBeLessThanOrEqual(65_535);
    expect(sent.endsWith("🌱\n… (truncated)")).toBe(true);
  });

  it("finds its own check run again by external id, across pages", async () => {
    const path = `${R}/commits/${sha}/check-runs`;
    githubApi()
      .get(path)
      .query({ check_name: "Trellis / implement", filter: "all", per_page: "100" })
      .reply(
        200,
        { total_count: 2, check_runs: [{ ...checkRun, id: 1, external_id: "run_0:implement" }] },
        nextPage(`${path}?check_name=Trellis%20%2F%20implement&filter=all&per_page=100`, 2),
      )
      .get(path)
      .query({ check_name: "Trellis / implement", filter: "all", per_page: "100", page: "2" })
      .reply(200, { total_count: 2, check_runs: [{ ...checkRun, id: 2, external_id: "run_1:implement" }] });
    const found = await findCheckRun(testOctokit(), repo, sha, "Trellis / implement", "run_1:implement");
    expect(found?.id).toBe(2);
  });

  it("upserts: updates the existing check run instead of creating a second", async () => {
    githubApi()
      .get(`${R}/commits/${sha}/check-runs`)
      .query(true)
      .reply(200, { total_count: 1, check_runs: [{ ...checkRun, id: 77, external_id: "run_1:review" }] })
      .patch(`${R}/check-runs/77`, { status: "in_progress" })
      .reply(200, { ...checkRun, id: 77, status: "in_progress" });
    const ref = await upsertCheckRun(testOctokit(), repo, {
      name: "Trellis / review",
      headSha: sha,
      externalId: "run_1:review",
      status: "in_progress",
    });
    expect(ref.id).toBe(77);
  });

  it("upserts: creates when none exists yet", async () => {
    githubApi()
      .get(`${R}/commits/${sha}/check-runs`)
      .query(true)
      .reply(200, { total_count: 0, check_runs: [] })
      .post(`${R}/check-runs`, {
        name: "Trellis / review",
        head_sha: sha,
        external_id: "run_1:review",
        status: "queued",
      })
      .reply(201, { ...checkRun, id: 78 });
    const ref = await upsertCheckRun(testOctokit(), repo, {
      name: "Trellis / review",
      headSha: sha,
      externalId: "run_1:review",
      status: "queued",
    });
    expect(ref.id).toBe(78);
  });

  it("upserts: remembers the id per Octokit, so later updates skip the listing", async () => {
    const octokit = testOctokit();
    githubApi()
      .get(`${R}/commits/${sha}/check-runs`)
      .query(true)
      .reply(200, { total_count: 0, check_runs: [] })
      .post(`${R}/check-runs`, {
        name: "Trellis / dev",
        head_sha: sha,
        external_id: "run_2:dev",
        status: "queued",
      })
      .reply(201, { ...checkRun, id: 90 })
      .patch(`${R}/check-runs/90`, { status: "in_progress" })
      .reply(200, { ...checkRun, id: 90, status: "in_progress" })
      .patch(`${R}/check-runs/90`, { conclusion: "success", status: "completed" })
      .reply(200, { ...checkRun, id: 90, status: "completed", conclusion: "success" });
    const base = { name: "Trellis / dev", headSha: sha, externalId: "run_2:dev" };
    expect((await upsertCheckRun(octokit, repo, { ...base, status: "queued" })).id).toBe(90);
    expect((await upsertCheckRun(octokit, repo, { ...base, status: "in_progress" })).id).toBe(90);
    expect((await upsertCheckRun(octokit, repo, { ...base, conclusion: "success" })).conclusion).toBe(
      "success",
    );
  });

  it("upserts: a remembered check run that is gone (404) is looked up again by external id", async () => {
    const octokit = testOctokit();
    githubApi()
      .get(`${R}/commits/${sha}/check-runs`)
      .query(true)
      .reply(200, { total_count: 1, check_runs: [{ ...checkRun, id: 91, external_id: "run_3:dev" }] })
      .patch(`${R}/check-runs/91`, { status: "queued" })
      .reply(200, { ...checkRun, id: 91 })
      .patch(`${R}/check-runs/91`, { status: "in_progress" })
      .reply(404, { message: "Not Found" })
      .get(`${R}/commits/${sha}/check-runs`)
      .query(true)
      .reply(200, { total_count: 0, check_runs: [] })
      .post(`${R}/check-runs`, {
        name: "Trellis / dev",
        head_sha: sha,
        external_id: "run_3:dev",
        status: "in_progress",
      })
      .reply(201, { ...checkRun, id: 92 });
    const base = { name: "Trellis / dev", headSha: sha, externalId: "run_3:dev" };
    expect((await upsertCheckRun(octokit, repo, { ...base, status: "queued" })).id).toBe(91);
    expect((await upsertCheckRun(octokit, repo, { ...base, status: "in_progress" })).id).toBe(92);
  });
});
