import { describe, expect, it } from "vitest";
import { addBlockedBy, addSubIssue, createIssue } from "../../src/github/issues.js";
import { marker } from "../../src/core/markers.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { nextPage, R, repo, testOctokit } from "./helpers.js";

useGitHubNock();

const issue = examplePayload("issues", "opened").issue;
const TICKET = marker("ticket", "12-3");

describe("createIssue", () => {
  it("creates an issue with title, body and labels", async () => {
    githubApi()
      .post(`${R}/issues`, { title: "Add login", body: "As a user…", labels: ["trellis:ticket"] })
      .reply(201, { ...issue, number: 13, id: 1300 });
    expect(
      await createIssue(testOctokit(), repo, {
        title: "Add login",
        body: "As a user…",
        labels: ["trellis:ticket"],
      }),
    ).toEqual({ number: 13, id: 1300, nodeId: issue.node_id, url: issue.html_url, created: true });
  });

  // Made with an installation token, an issue's author is the App's bot user and GitHub names the App.
  const BOT = { ...issue.user, login: "trellis[bot]", type: "Bot" };
  const APP = { id: 123, slug: "trellis" };
  const SELF = { appId: 123, login: "trellis[bot]" };

  it("with a marker, returns the App's issue already carrying it instead of duplicating", async () => {
    githubApi()
      .get(`${R}/issues`)
      .query({ state: "all", sort: "created", direction: "desc", per_page: "100" })
      .reply(200, [
        { ...issue, number: 20, body: `PR ${TICKET}`, pull_request: { url: "x" }, user: BOT },
        {
          ...issue,
          number: 14,
          id: 1400,
          body: `Refined ticket\n\n${TICKET}`,
          user: BOT,
          performed_via_github_app: APP,
        },
      ]);
    expect(
      await createIssue(testOctokit(), repo, { title: "t", body: "b", marker: TICKET }, SELF),
    ).toMatchObject({ number: 14, id: 1400, created: false });
  });

  it("ignores a marker in an issue somebody else wrote (anyone can paste one) and creates its own", async () => {
    githubApi()
      .get(`${R}/issues`)
      .query({ state: "all", sort: "created", direction: "desc", per_page: "100" })
      .reply(200, [
        { ...issue, number: 21, body: `Planted ${TICKET}`, performed_via_github_app: null },
        { ...issue, number: 22, body: `Another app ${TICKET}`, user: { ...BOT, login: "other[bot]" } },
      ])
      .post(`${R}/issues`, { title: "t", body: `b\n\n${TICKET}` })
      .reply(201, { ...issue, number: 23 });
    expect(
      await createIssue(testOctokit(), repo, { title: "t", body: "b", marker: TICKET }, SELF),
    ).toMatchObject({ number: 23, created: true });
  });

  it("with a marker not found in recent issues, creates it carrying the marker", async () => {
    const path = `${R}/issues`;
    githubApi()
      .get(path)
      .query({ state: "all", sort: "created", direction: "desc", per_page: "100" })
      .reply(200, [issue], nextPage(`${path}?state=all&sort=created&direction=desc&per_page=100`, 2))
      .get(path)
      .query({ state: "all", sort: "created", direction: "desc", per_page: "100", page: "2" })
      .reply(200, [])
      .post(path, { title: "t", body: `b\n\n${TICKET}` })
      .reply(201, { ...issue, number: 15 });
    expect(await createIssue(testOctokit(), repo, { title: "t", body: "b", marker: TICKET })).toMatchObject({
      number: 15,
      created: true,
    });
  });
});

describe("sub-issues and dependencies", () => {
  it("adds a sub-issue by its REST id", async () => {
    githubApi()
      .get(`${R}/issues/12/sub_issues`)
      .query({ per_page: "100" })
      .reply(200, [{ ...issue, id: 1 }])
      .post(`${R}/issues/12/sub_issues`, { sub_issue_id: 1300 })
      .reply(201, issue);
    expect(await addSubIssue(testOctokit(), repo, 12, 1300)).toEqual({ added: true });
  });

  it("does not add a sub-issue twice", async () => {
    githubApi()
      .get(`${R}/issues/12/sub_issues`)
      .query(true)
      .reply(200, [{ ...issue, id: 1300 }]);
    expect(await addSubIssue(testOctokit(), repo, 12, 1300)).toEqual({ added: false });
  });

  it("records a native blocked-by dependency", async () => {
    githubApi()
      .get(`${R}/issues/14/dependencies/blocked_by`)
      .query({ per_page: "100" })
      .reply(200, [])
      .post(`${R}/issues/14/dependencies/blocked_by`, { issue_id: 1300 })
      .reply(201, issue);
    expect(await addBlockedBy(testOctokit(), repo, 14, 1300)).toEqual({ added: true });
  });

  it("does not record a dependency twice", async () => {
    githubApi()
      .get(`${R}/issues/14/dependencies/blocked_by`)
      .query(true)
      .reply(200, [{ ...issue, id: 1300 }]);
    expect(await addBlockedBy(testOctokit(), repo, 14, 1300)).toEqual({ added: false });
  });
});
