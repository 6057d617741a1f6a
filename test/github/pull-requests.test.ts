import { describe, expect, it } from "vitest";
import { runIdFromBody } from "../../src/core/markers.js";
import { openPullRequest, pullRequestBody, pullRequestState } from "../../src/github/pull-requests.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { R, repo, testOctokit } from "./helpers.js";

useGitHubNock();

const pr = examplePayload("pull_request", "opened").pull_request;
const spec = {
  head: "trellis/1-spelling",
  base: "main",
  title: "Fix the spelling",
  body: "The agent fixed it.",
  issue: 1,
  runId: "run_abc",
};

describe("openPullRequest", () => {
  it("puts Closes #N and the hidden run marker in the body", () => {
    const body = pullRequestBody(spec);
    expect(body).toContain("Closes #1");
    expect(runIdFromBody(body)).toBe("run_abc");
    expect(body.startsWith("The agent fixed it.")).toBe(true);
  });

  it("opens the PR when none is open from that head", async () => {
    githubApi()
      .get(`${R}/pulls`)
      .query({ head: "Codertocat:trellis/1-spelling", state: "open", per_page: "10" })
      .reply(200, [])
      .post(`${R}/pulls`, {
        head: "trellis/1-spelling",
        base: "main",
        title: "Fix the spelling",
        body: pullRequestBody(spec),
      })
      .reply(201, { ...pr, number: 7 });
    expect(await openPullRequest(testOctokit(), repo, spec)).toEqual({
      number: 7,
      url: pr.html_url,
      nodeId: pr.node_id,
      created: true,
    });
  });

  it("reuses the open PR from that head instead of opening a second", async () => {
    githubApi().get(`${R}/pulls`).query(true).reply(200, [pr]);
    expect(await openPullRequest(testOctokit(), repo, spec)).toMatchObject({
      number: pr.number,
      created: false,
    });
  });

  it("finds the winner when a concurrent open wins the race (422)", async () => {
    githubApi()
      .get(`${R}/pulls`)
      .query(true)
      .reply(200, [])
      .post(`${R}/pulls`)
      .reply(422, { message: "Validation Failed", errors: [{ message: "A pull request already exists" }] })
      .get(`${R}/pulls`)
      .query(true)
      .reply(200, [pr]);
    expect(await openPullRequest(testOctokit(), repo, spec)).toMatchObject({
      number: pr.number,
      created: false,
    });
  });

  it("reports other 422s (e.g. no commits between the branches)", async () => {
    githubApi()
      .get(`${R}/pulls`)
      .query(true)
      .reply(200, [])
      .post(`${R}/pulls`)
      .reply(422, { message: "Validation Failed", errors: [{ message: "No commits between main and x" }] })
      .get(`${R}/pulls`)
      .query(true)
      .reply(200, []);
    await expect(openPullRequest(testOctokit(), repo, spec)).rejects.toMatchObject({ status: 422 });
  });
});

describe("pullRequestState", () => {
  it("reads whether the PR is merged, and undefined for one that does not exist", async () => {
    const merged = examplePayload("pull_request", "closed").pull_request;
    githubApi()
      .get(`${R}/pulls/2`)
      .reply(200, { ...merged, number: 2, state: "closed", merged: true })
      .get(`${R}/pulls/3`)
      .reply(200, { ...pr, number: 3 })
      .get(`${R}/pulls/4`)
      .reply(404, { message: "Not Found" });
    expect(await pullRequestState(testOctokit(), repo, 2)).toEqual({
      number: 2,
      nodeId: merged.node_id,
      state: "closed",
      merged: true,
    });
    expect(await pullRequestState(testOctokit(), repo, 3)).toEqual({
      number: 3,
      nodeId: pr.node_id,
      state: "open",
      merged: false,
    });
    expect(await pullRequestState(testOctokit(), repo, 4)).toBeUndefined();
  });

  it("lets other failures through so that the event is processed again", async () => {
    githubApi().get(`${R}/pulls/2`).reply(403, { message: "Resource not accessible by integration" });
    await expect(pullRequestState(testOctokit(), repo, 2)).rejects.toMatchObject({ status: 403 });
  });
});
