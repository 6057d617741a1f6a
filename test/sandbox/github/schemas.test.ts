import { describe, expect, it } from "vitest";
import {
  createGitHubState,
  createProject,
  graphqlProblems,
  handleGraphQL,
  responseProblems,
  webhookProblems,
} from "../../../src/sandbox/github/index.js";
import { examplePayload } from "../../support/webhooks.js";

describe("the validators catch shapes GitHub's schemas refuse", () => {
  it("a REST answer with a field of the wrong type or a required field missing", () => {
    const issue = examplePayload("issues", "opened")["issue"] as Record<string, unknown>;
    expect(responseProblems("GET", "/repos/o/r/issues/1", 200, issue)).toEqual([]);
    const wrong: Record<string, unknown> = { ...issue, number: "1" };
    delete wrong["title"];
    expect(responseProblems("GET", "/api/v3/repos/o/r/issues/1?x=1", 200, wrong)).toEqual([
      "GET /repos/o/r/issues/1 → 200 (issues/get): (root) must have required property 'title'",
      "GET /repos/o/r/issues/1 → 200 (issues/get): /number must be integer",
    ]);
  });

  it("a status GitHub does not document for the operation, and a body where GitHub documents none", () => {
    expect(responseProblems("POST", "/repos/o/r/issues", 200, {})[0]).toMatch(
      /answered 200, which GitHub does not document for it \(documented: 201/,
    );
    expect(
      responseProblems("POST", "/repos/o/r/actions/workflows/w.yml/dispatches", 204, { ok: true }),
    ).toEqual([
      "POST /repos/o/r/actions/workflows/w.yml/dispatches → 204 (actions/create-workflow-dispatch) has a body, but GitHub documents none",
    ]);
    // An error GitHub does not list for an operation still has GitHub's error body.
    expect(responseProblems("GET", "/repos/o/r", 401, { message: "Bad credentials" })).toEqual([]);
    expect(responseProblems("GET", "/repos/o/r", 401, { message: 401 })).toEqual([
      "GET /repos/o/r → 401 (repos/get): /message must be string",
    ]);
  });

  it("a webhook payload that departs from @octokit/webhooks-schemas", () => {
    const payload = examplePayload("issues", "labeled");
    expect(webhookProblems("issues", payload)).toEqual([]);
    const issue = { ...(payload["issue"] as Record<string, unknown>), state: "merged" };
    expect(webhookProblems("issues", { ...payload, issue })).toContain(
      'webhook issues.labeled: /issue/state must be one of ["open","closed"]',
    );
    // GitHub's own webhook description has sub_issues_summary, which @octokit/webhooks-schemas lags behind; only
    // that exact field is exempt.
    const summary = { total: 0, completed: 0, percent_completed: 0 };
    const withSummary = { ...(payload["issue"] as Record<string, unknown>), sub_issues_summary: summary };
    expect(webhookProblems("issues", { ...payload, issue: withSummary })).toEqual([]);
    expect(webhookProblems("issues", { ...payload, issue: { ...withSummary, sparkles: 1 } })).toEqual([
      'webhook issues.labeled: /issue has "sparkles", which the schema does not allow',
    ]);
    expect(webhookProblems("no_such_event", {})).toEqual([
      "webhook no_such_event is not an event of @octokit/webhooks-schemas",
    ]);
  });

  it("a GraphQL result the stand-in could not complete under GitHub's schema", () => {
    const state = createGitHubState({ users: [{ login: "acme", type: "Organization" }] });
    const project = createProject(state, "acme", "Board");
    // A field type GitHub's ProjectV2FieldType enum does not have.
    (project.fields[0] as { dataType: string }).dataType = "SPARKLES";
    const answer = handleGraphQL(
      state,
      {
        query:
          '{ organization(login: "acme") { projectV2(number: 1) { fields(first: 5) { nodes { ... on ProjectV2FieldCommon { dataType } } } } } }',
      },
      "acme",
    );
    expect(graphqlProblems(answer)).toEqual([
      expect.stringMatching(
        /^GraphQL query at organization\.projectV2\.fields\.nodes\.0\.dataType: Enum "ProjectV2FieldType" cannot represent value: "SPARKLES"/,
      ),
    ]);
    // A custom scalar out of GitHub's documented format.
    project.createdAt = "yesterday";
    const dated = handleGraphQL(
      state,
      { query: '{ organization(login: "acme") { projectV2(number: 1) { createdAt } } }' },
      "acme",
    );
    expect(graphqlProblems(dated)).toEqual([
      'GraphQL query at organization.projectV2.createdAt: DateTime cannot represent value: "yesterday"',
    ]);
  });
});
