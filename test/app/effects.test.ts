import { describe, expect, it } from "vitest";
import { stageBaseSha } from "../../src/app/effects.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { testOctokit } from "../github/helpers.js";

useGitHubNock();

// A repository no other test touches: the default branch is cached per repository for minutes.
const target = { installationId: 1, repo: { owner: "Codertocat", name: "effects-base-sha" }, issue: 3 };
const R = "/repos/Codertocat/effects-base-sha";
const repository = examplePayload("push").repository;

describe("stageBaseSha", () => {
  it("looks the default branch's sha up once per run + stage, even after the branch moved", async () => {
    const octokit = testOctokit();
    githubApi()
      .get(R)
      .reply(200, { ...repository, default_branch: "trunk" })
      .get(`${R}/branches/trunk`)
      .reply(200, { name: "trunk", commit: { sha: "a".repeat(40) }, protected: false })
      .get(`${R}/branches/trunk`)
      .reply(200, { name: "trunk", commit: { sha: "b".repeat(40) }, protected: false });
    expect(await stageBaseSha(octokit, target, "run_1", "dev")).toBe("a".repeat(40));
    // Queued, in progress and completed of one stage stay on one check run: same sha, no further request.
    expect(await stageBaseSha(octokit, target, "run_1", "dev")).toBe("a".repeat(40));
    expect(await stageBaseSha(octokit, target, "run_1", "dev")).toBe("a".repeat(40));
    // Another stage (or run) asks again and sees where the branch is now.
    expect(await stageBaseSha(octokit, target, "run_1", "review")).toBe("b".repeat(40));
  });
});
