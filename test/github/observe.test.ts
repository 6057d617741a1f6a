/**
 * The Octokit hook behind `trellis_github_requests_total` and `trellis_github_rate_limit_remaining`: every request
 * through Probot's Octokit is reported with its templated route (never an owner, a name or an id), its status and
 * the rate limit left, whether it succeeded, failed or was a page of a paginated list.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  observeRequests,
  PAGINATED_ROUTES,
  routeOf,
  type GitHubRequestObservation,
} from "../../src/github/observe.js";
import { githubApi, matchOperation, useGitHubNock } from "../support/github-routes.js";
import { nextPage, R, testOctokit } from "./helpers.js";

useGitHubNock();

const RATE = { "x-ratelimit-remaining": "4987", "x-ratelimit-resource": "core" };

function observed() {
  const octokit = testOctokit();
  const seen: GitHubRequestObservation[] = [];
  observeRequests(octokit, (o) => seen.push(o));
  return { octokit, seen };
}

describe("observeRequests", () => {
  it("reports a request's templated route, status and rate limit left; the answer is unchanged", async () => {
    githubApi().get(`${R}/pulls/2`).reply(200, { number: 2 }, RATE);
    const { octokit, seen } = observed();
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
      owner: "Codertocat",
      repo: "Hello-World",
      pull_number: 2,
    });
    expect(data).toEqual({ number: 2 });
    expect(seen).toEqual([
      {
        method: "GET",
        route: "/repos/{owner}/{repo}/pulls/{pull_number}",
        status: 200,
        rateLimit: { remaining: 4987, resource: "core" },
      },
    ]);
  });

  it("reports failures with their status (or `error` when nothing answered), and still throws them", async () => {
    githubApi()
      .post(`${R}/issues/7/comments`)
      .reply(403, { message: "API rate limit exceeded" }, { "x-ratelimit-remaining": "0" });
    githubApi().get(`${R}/issues/8`).replyWithError("socket hang up");
    const { octokit, seen } = observed();
    await expect(
      octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
        owner: "Codertocat",
        repo: "Hello-World",
        issue_number: 7,
        body: "hi",
      }),
    ).rejects.toMatchObject({ status: 403 });
    await expect(
      octokit.rest.issues.get({ owner: "Codertocat", repo: "Hello-World", issue_number: 8 }),
    ).rejects.toThrow(/socket hang up/);
    expect(seen).toEqual([
      {
        method: "POST",
        route: "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        status: 403,
        rateLimit: { remaining: 0, resource: "core" },
      },
      { method: "GET", route: "/repos/{owner}/{repo}/issues/{issue_number}", status: "error" },
    ]);
  });

  it("finds the template of every page of a paginated list (sent with the URL expanded)", async () => {
    githubApi()
      .get(`${R}/issues/3/comments`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 1 }], { ...nextPage(`${R}/issues/3/comments?per_page=100`, 2), ...RATE });
    githubApi()
      .get(`${R}/issues/3/comments`)
      .query({ per_page: "100", page: "2" })
      .reply(200, [{ id: 2 }], { ...RATE, "x-ratelimit-remaining": "4986" });
    const { octokit, seen } = observed();
    const all = await octokit.paginate("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner: "Codertocat",
      repo: "Hello-World",
      issue_number: 3,
      per_page: 100,
    });
    expect(all).toHaveLength(2);
    expect(seen.map((o) => [o.route, o.status, o.rateLimit?.remaining])).toEqual([
      ["/repos/{owner}/{repo}/issues/{issue_number}/comments", 200, 4987],
      ["/repos/{owner}/{repo}/issues/{issue_number}/comments", 200, 4986],
    ]);
  });

  it("a failing recorder never fails the request", async () => {
    githubApi().get("/app").reply(200, { id: 1 });
    const octokit = testOctokit();
    observeRequests(octokit, () => {
      throw new Error("broken metrics");
    });
    expect((await octokit.request("GET /app")).data).toEqual({ id: 1 });
  });
});

describe("routeOf", () => {
  it("keeps a template, and finds it again for an expanded paginated URL (also under GHES' /api/v3)", () => {
    expect(routeOf("/repos/{owner}/{repo}/issues?state=all")).toBe("/repos/{owner}/{repo}/issues");
    expect(routeOf("https://api.github.com/repos/octo/hello/actions/runs/991/artifacts?page=2")).toBe(
      "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts",
    );
    expect(
      routeOf(
        `https://ghe.example/api/v3/repos/octo/hello/commits/${"a".repeat(40)}/check-runs`,
        "https://ghe.example/api/v3",
      ),
    ).toBe("/repos/{owner}/{repo}/commits/{ref}/check-runs");
    expect(routeOf("/graphql")).toBe("/graphql");
  });

  it("cuts an unknown expanded URL to its fixed segments, so no owner, name or id becomes a label", () => {
    expect(routeOf("https://api.github.com/repos/octo/hello/pulls/12/files?page=3")).toBe(
      "/repos/{owner}/{repo}/pulls/…",
    );
    expect(routeOf("https://api.github.com/repos/octo/hello")).toBe("/repos/{owner}/{repo}");
    expect(routeOf("https://api.github.com/users/octo/repos")).toBe("/users/…");
  });

  it("lists every route src/github pages through, each one of GitHub's own", () => {
    const dir = join(import.meta.dirname, "../../src/github");
    const paginated = readdirSync(dir)
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) => [
        ...readFileSync(join(dir, f), "utf8").matchAll(/paginate(?:\.iterator)?\(\s*"GET ([^"]+)"/g),
      ])
      .map((m) => m[1]!);
    expect(paginated.length).toBeGreaterThan(0);
    expect([...PAGINATED_ROUTES].sort()).toEqual([...new Set(paginated)].sort());
    for (const route of PAGINATED_ROUTES) {
      const sample = route.replace(/\{[^}]+\}/g, "x1");
      expect(matchOperation("GET", sample)?.route).toBe(route);
      expect(routeOf(`https://api.github.com${sample}?page=2`)).toBe(route);
    }
  });
});
