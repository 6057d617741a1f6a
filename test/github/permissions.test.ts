import { describe, expect, it } from "vitest";
import { createPermissionChecker } from "../../src/github/permissions.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { R, repo, testOctokit } from "./helpers.js";

useGitHubNock();

const user = examplePayload("issue_comment", "created").sender;
const permission = (role_name: string, permission = role_name) => ({ permission, role_name, user });

describe("createPermissionChecker", () => {
  it("asks GitHub once per user within the TTL, and again after it", async () => {
    let t = 1_000;
    const check = createPermissionChecker(60_000, { now: () => t });
    const octokit = testOctokit();
    githubApi()
      .get(`${R}/collaborators/octocat/permission`)
      .reply(200, permission("maintain", "write"))
      .get(`${R}/collaborators/octocat/permission`)
      .reply(200, permission("read"));
    expect(await check(octokit, repo, "octocat")).toBe("maintain");
    t += 59_000;
    expect(await check(octokit, repo, "OctoCat")).toBe("maintain"); // cached, case-insensitive
    t += 2_000;
    expect(await check(octokit, repo, "octocat")).toBe("read"); // expired: asked again
  });

  it("shares one request between concurrent lookups", async () => {
    const check = createPermissionChecker(60_000);
    githubApi().get(`${R}/collaborators/octocat/permission`).reply(200, permission("admin"));
    const octokit = testOctokit();
    const roles = await Promise.all([1, 2, 3].map(() => check(octokit, repo, "octocat")));
    expect(roles).toEqual(["admin", "admin", "admin"]);
  });

  it("gives 'none' to non-collaborators and the base permission for custom roles", async () => {
    const check = createPermissionChecker(60_000);
    githubApi()
      .get(`${R}/collaborators/stranger/permission`)
      .reply(404, { message: "Not Found" })
      .get(`${R}/collaborators/auditor/permission`)
      .reply(200, permission("security-auditor", "read"));
    expect(await check(testOctokit(), repo, "stranger")).toBe("none");
    expect(await check(testOctokit(), repo, "auditor")).toBe("read");
  });

  it("does not cache failures", async () => {
    const check = createPermissionChecker(60_000);
    githubApi()
      .get(`${R}/collaborators/octocat/permission`)
      .reply(502, "Bad Gateway")
      .get(`${R}/collaborators/octocat/permission`)
      .reply(200, permission("write"));
    await expect(check(testOctokit(), repo, "octocat")).rejects.toMatchObject({ status: 502 });
    expect(await check(testOctokit(), repo, "octocat")).toBe("write");
  });

  it("keeps the cache bounded, evicting the oldest entry", async () => {
    const check = createPermissionChecker(60_000, { maxEntries: 2 });
    const octokit = testOctokit();
    githubApi()
      .get(`${R}/collaborators/a/permission`)
      .reply(200, permission("write"))
      .get(`${R}/collaborators/b/permission`)
      .reply(200, permission("write"))
      .get(`${R}/collaborators/c/permission`)
      .reply(200, permission("write"))
      .get(`${R}/collaborators/a/permission`)
      .reply(200, permission("read"));
    for (const u of ["a", "b", "c"]) await check(octokit, repo, u);
    expect(await check(octokit, repo, "c")).toBe("write"); // still cached
    expect(await check(octokit, repo, "a")).toBe("read"); // evicted, asked again
  });

  it("keeps repositories apart", async () => {
    const check = createPermissionChecker(60_000);
    githubApi()
      .get(`${R}/collaborators/octocat/permission`)
      .reply(200, permission("admin"))
      .get(`/repos/Codertocat/Other/collaborators/octocat/permission`)
      .reply(200, permission("read"));
    expect(await check(testOctokit(), repo, "octocat")).toBe("admin");
    expect(await check(testOctokit(), { owner: "Codertocat", name: "Other" }, "octocat")).toBe("read");
  });
});
