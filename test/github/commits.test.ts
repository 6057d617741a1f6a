import { schema as githubIdl } from "@octokit/graphql-schema";
import { buildSchema, parse, validate } from "graphql";
import nock from "nock";
import { describe, expect, it } from "vitest";
import { isTransient } from "../../src/github/client.js";
import { branchHead, commitOnBranch, createBranch } from "../../src/github/commits.js";
import { githubApi, GITHUB_API, useGitHubNock } from "../support/github-routes.js";
import { R, repo, testOctokit } from "./helpers.js";

useGitHubNock();

const SHA = "a".repeat(40);
const changes = { additions: [{ path: "a.txt", contents: "YQo=" }], deletions: [{ path: "b.txt" }] };

describe("the App's commits", () => {
  it("sends a createCommitOnBranch GitHub's schema accepts, with expectedHeadOid, and returns the new oid", async () => {
    let sent: { query: string; variables: { input: Record<string, unknown> } } | undefined;
    nock(GITHUB_API)
      .post("/graphql")
      .reply((_uri, body) => {
        sent = body as typeof sent;
        return [200, { data: { createCommitOnBranch: { commit: { oid: "c".repeat(40) } } } }];
      });
    const out = await commitOnBranch(testOctokit(), repo, {
      branch: "trellis/1-x",
      expectedHeadOid: SHA,
      changes,
      headline: "Fix (#1, dev)",
      body: "Trellis-Attempt: att_1",
    });
    expect(out).toEqual({ ok: true, oid: "c".repeat(40) });
    expect(validate(buildSchema(githubIdl.idl, { assumeValidSDL: true }), parse(sent!.query))).toEqual([]);
    expect(sent!.variables.input).toEqual({
      branch: { repositoryNameWithOwner: "Codertocat/Hello-World", branchName: "trellis/1-x" },
      expectedHeadOid: SHA,
      fileChanges: changes,
      message: { headline: "Fix (#1, dev)", body: "Trellis-Attempt: att_1" },
    });
  });

  it("a branch that moved is STALE_DATA: reported as stale, not thrown", async () => {
    nock(GITHUB_API)
      .post("/graphql")
      .reply(200, {
        data: { createCommitOnBranch: null },
        errors: [{ type: "STALE_DATA", message: `Expected branch to point to "${SHA}" but it did not.` }],
      });
    const out = await commitOnBranch(testOctokit(), repo, {
      branch: "b",
      expectedHeadOid: SHA,
      changes,
      headline: "h",
    });
    expect(out).toMatchObject({ ok: false, stale: true });
  });

  it("another GraphQL error is a permanent refusal, not a failure to retry", async () => {
    nock(GITHUB_API)
      .post("/graphql")
      .reply(200, {
        data: { createCommitOnBranch: null },
        errors: [{ type: "FORBIDDEN", message: "Resource not accessible by integration" }],
      });
    const failure = await commitOnBranch(testOctokit(), repo, {
      branch: "b",
      expectedHeadOid: SHA,
      changes,
      headline: "h",
    }).catch((error: unknown) => error);
    expect(isTransient(failure)).toBe(false);
    expect(String(failure)).toContain("FORBIDDEN");
  });

  it("reads a branch's head (undefined when missing) and creates a branch, tolerating one that exists", async () => {
    githubApi()
      .get(`${R}/branches/trellis%2F1-x`)
      .reply(200, { name: "trellis/1-x", commit: { sha: SHA, commit: { message: "m" } } })
      .get(`${R}/branches/gone`)
      .reply(404, { message: "Branch not found" })
      .post(`${R}/git/refs`, { ref: "refs/heads/gone", sha: SHA })
      .reply(422, { message: "Reference already exists" });
    expect(await branchHead(testOctokit(), repo, "trellis/1-x")).toEqual({ sha: SHA, message: "m" });
    expect(await branchHead(testOctokit(), repo, "gone")).toBeUndefined();
    await expect(createBranch(testOctokit(), repo, "gone", SHA)).resolves.toBeUndefined();
  });
});
