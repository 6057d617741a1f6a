import nock from "nock";
import { afterEach, beforeEach, expect } from "vitest";
import { requestProblems } from "../../sandbox/src/github/openapi.js";

export { githubOperations, matchOperation, requestProblems } from "../../sandbox/src/github/openapi.js";

/**
 * GitHub's REST API as described by its OpenAPI document (shipped as @octokit/openapi-types), so that every request
 * the executors send in tests can be checked against a real route, real query parameters and a real body shape.
 */

// ---------------------------------------------------------------------------------------------
// nock integration

export const GITHUB_API = "https://api.github.com";
const seen: string[] = [];
const problems: string[] = [];

/**
 * A nock scope for api.github.com (or another host) whose every intercepted request is checked against the OpenAPI
 * description; problems are collected and fail the test in the hooks installed by `useGitHubNock`.
 */
export function githubApi(host = GITHUB_API, options?: nock.Options): nock.Scope {
  const scope = nock(host, options);
  scope.on("request", (req: { method?: string; path?: string }, _interceptor: unknown, body: string) => {
    const method = req.method ?? "GET";
    const path = req.path ?? "/";
    seen.push(`${method} ${path}`);
    if (host !== GITHUB_API) return; // e.g. the artifact blob store a redirect leads to
    let parsed: unknown = body;
    if (body) {
      try {
        parsed = JSON.parse(body) as unknown;
      } catch {
        problems.push(`${method} ${path}: body is not JSON`);
      }
    }
    problems.push(...requestProblems(method, path, parsed));
  });
  return scope;
}

/** Requests made so far in this test, as "METHOD /path?query". */
export function requestsSeen(): string[] {
  return [...seen];
}

/** Problems found so far in this test (the hooks of `useGitHubNock` fail the test on any). */
export function routeProblemsSeen(): string[] {
  return [...problems];
}

/** Installs hooks: network disabled, and at the end of each test no route problems, no pending or unused mocks. */
export function useGitHubNock(): void {
  beforeEach(() => {
    nock.disableNetConnect();
    seen.length = 0;
    problems.length = 0;
  });
  afterEach(() => {
    const pending = nock.pendingMocks();
    const found = [...problems];
    nock.cleanAll();
    expect(found, "requests GitHub's REST API would not accept").toEqual([]);
    expect(pending, "mocks that were never requested").toEqual([]);
  });
}
