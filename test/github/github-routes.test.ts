import { Octokit } from "@octokit/rest";
import nock from "nock";
import { describe, expect, it } from "vitest";
import {
  githubApi,
  githubOperations,
  matchOperation,
  requestProblems,
  requestsSeen,
  routeProblemsSeen,
} from "../support/github-routes.js";

describe("the route validator built from GitHub's OpenAPI description", () => {
  it("knows hundreds of operations", () => {
    expect(githubOperations().length).toBeGreaterThan(800);
  });

  it("accepts the routes and bodies Trellis sends", () => {
    expect(requestProblems("POST", "/repos/o/r/issues/3/sub_issues", { sub_issue_id: 1 })).toEqual([]);
    expect(requestProblems("POST", "/repos/o/r/issues/3/dependencies/blocked_by", { issue_id: 1 })).toEqual(
      [],
    );
    expect(requestProblems("GET", "/repos/o/r/contents/.github%2Ftrellis.yml?ref=main")).toEqual([]);
    expect(requestProblems("GET", "/repos/o/r/contents/.github/trellis/agents?ref=main")).toEqual([]);
    expect(
      requestProblems("POST", "/repos/o/r/actions/workflows/trellis-agent.yml/dispatches", {
        ref: "main",
        inputs: { anything: "goes" },
      }),
    ).toEqual([]);
    expect(requestProblems("GET", "/repos/o/r/actions/artifacts/5/zip")).toEqual([]);
  });

  it("prefers the most specific route", () => {
    expect(matchOperation("GET", "/repos/o/r/issues/3/sub_issues")?.id).toBe("issues/list-sub-issues");
    expect(matchOperation("GET", "/repos/o/r/issues/comments/5")?.id).toBe("issues/get-comment");
  });

  it("rejects routes, queries and bodies GitHub does not accept", () => {
    expect(requestProblems("POST", "/repos/o/r/issues/3/blocked_by", { issue_id: 1 })).toEqual([
      "POST /repos/o/r/issues/3/blocked_by is not a route of GitHub's REST API",
    ]);
    expect(requestProblems("PUT", "/repos/o/r/issues/3/sub_issues", { sub_issue_id: 1 })[0]).toMatch(
      /not a route/,
    );
    expect(requestProblems("POST", "/repos/o/r/issues/3/sub_issues", { issue_id: 1 })).toEqual([
      'POST /repos/o/r/issues/3/sub_issues (issues/add-sub-issue): unknown body field "issue_id"',
      'POST /repos/o/r/issues/3/sub_issues (issues/add-sub-issue): missing required body field "sub_issue_id"',
    ]);
    expect(requestProblems("GET", "/repos/o/r/issues/3/comments?direction=desc")).toEqual([
      'GET /repos/o/r/issues/3/comments (issues/list-comments): unknown query "direction"',
    ]);
    expect(requestProblems("POST", "/repos/o/r/check-runs", { head_sha: "abc" })).toEqual([
      'POST /repos/o/r/check-runs (checks/create): missing required body field "name"',
    ]);
  });
});

describe("githubApi scopes", () => {
  it("record a request to a route GitHub does not have, with its body problems", async () => {
    nock.disableNetConnect();
    githubApi().post("/repos/o/r/issues/1/blocked_by").reply(201, {});
    githubApi().post("/repos/o/r/issues/1/sub_issues").reply(201, {});
    const octokit = new Octokit();
    await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/blocked_by", {
      owner: "o",
      repo: "r",
      issue_number: 1,
      issue_id: 5,
    });
    await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/sub_issues", {
      owner: "o",
      repo: "r",
      issue_number: 1,
      issue_id: 5,
    } as never);
    expect(requestsSeen()).toEqual([
      "POST /repos/o/r/issues/1/blocked_by",
      "POST /repos/o/r/issues/1/sub_issues",
    ]);
    expect(routeProblemsSeen()).toEqual([
      "POST /repos/o/r/issues/1/blocked_by is not a route of GitHub's REST API",
      'POST /repos/o/r/issues/1/sub_issues (issues/add-sub-issue): unknown body field "issue_id"',
      'POST /repos/o/r/issues/1/sub_issues (issues/add-sub-issue): missing required body field "sub_issue_id"',
    ]);
    expect(nock.isDone()).toBe(true);
    nock.cleanAll();
  });
});
