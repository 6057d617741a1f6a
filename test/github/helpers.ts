import { ProbotOctokit } from "probot";
import type { RepoRef } from "../../src/core/repo.js";
import type { GitHub } from "../../src/github/client.js";

/** The Octokit the App really passes (Probot's, with its plugins), with retries and throttling off for tests. */
export function testOctokit(): GitHub {
  return new ProbotOctokit({
    auth: { token: "ghs_test_installation_token" },
    retry: { enabled: false },
    throttle: { enabled: false },
  });
}

export const repo: RepoRef = { owner: "Codertocat", name: "Hello-World" };
export const R = "/repos/Codertocat/Hello-World";

/** A `Link` header pointing at the next page, as GitHub sends it. */
export function nextPage(path: string, page: number): Record<string, string> {
  return { link: `<https://api.github.com${path}${path.includes("?") ? "&" : "?"}page=${page}>; rel="next"` };
}
