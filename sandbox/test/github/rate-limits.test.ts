import { Octokit } from "@octokit/rest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isTransient } from "../../../src/github/client.js";
import type { GitHubServer, GitHubServerOptions, GitHubState } from "../../src/github/index.js";
import {
  createGitHubServer,
  createGitHubState,
  createIssue,
  getRepo,
  nodeId,
  SECONDARY_LIMIT_MESSAGE,
} from "../../src/github/index.js";

// The stand-in's clock, moved by the tests: GitHub's windows are an hour (primary) and a minute or an hour (content).
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
let t: number;
let state: GitHubState;
let github: GitHubServer | undefined;

beforeEach(() => {
  t = T0;
  state = createGitHubState({
    clock: () => new Date(t),
    users: [{ login: "acme", type: "Organization" }, { login: "globex", type: "Organization" }, "alice"],
    repos: [
      { owner: "acme", name: "web", collaborators: { alice: "admin" } },
      { owner: "globex", name: "api" },
    ],
    userTokens: { ghp_alice: "alice" },
  });
  for (const [owner, name] of [
    ["acme", "web"],
    ["globex", "api"],
  ] as const) {
    const repo = getRepo(state, owner, name);
    if (!repo) throw new Error("no repo");
    createIssue(state, repo, { title: "One", user: "alice" });
    const installation = [...state.installations.values()].find((i) => i.account === owner);
    state.tokens.set(`ghs_${owner}`, { kind: "installation", installationId: installation?.id ?? 0 });
  }
});

afterEach(async () => {
  await github?.close();
  github = undefined;
});

const start = async (options: GitHubServerOptions = {}): Promise<GitHubServer> => {
  github = await createGitHubServer(state, options);
  return github;
};

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  if (!github) throw new Error("not started");
  const res = await fetch(`${github.apiUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `token ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

const comment = (token: string, owner = "acme", repo = "web") =>
  call("POST", `/repos/${owner}/${repo}/issues/1/comments`, token, { body: "hi" });
const read = (token: string) => call("GET", "/repos/acme/web/issues/1", token);
const graphql = (token: string, query: string, variables: Record<string, unknown> = {}) =>
  call("POST", "/graphql", token, { query, variables });
const rateOf = (a: Answer) => ({
  limit: a.headers.get("x-ratelimit-limit"),
  remaining: a.headers.get("x-ratelimit-remaining"),
  used: a.headers.get("x-ratelimit-used"),
  reset: a.headers.get("x-ratelimit-reset"),
  resource: a.headers.get("x-ratelimit-resource"),
});

describe("primary rate limits", () => {
  it("every answer carries x-ratelimit-* headers counting down an installation's 5,000 an hour", async () => {
    await start();
    const reset = String(T0 / 1000 + 3600);
    expect(rateOf(await read("ghs_acme"))).toEqual({
      limit: "5000",
      remaining: "4999",
      used: "1",
      reset,
      resource: "core",
    });
    t += 1000;
    expect(rateOf(await comment("ghs_acme"))).toMatchObject({ remaining: "4998", used: "2", reset });
    // A 404 is a request too.
    expect(rateOf(await call("GET", "/repos/acme/nope", "ghs_acme"))).toMatchObject({ remaining: "4997" });
    // A user's budget is the user's; unauthenticated requests get 60 an hour per IP address.
    expect(rateOf(await read("ghp_alice"))).toMatchObject({ limit: "5000", remaining: "4999" });
    expect(rateOf(await read(""))).toMatchObject({ limit: "60", remaining: "59" });
  });

  it("tokens of different installations count separately", async () => {
    await start();
    await read("ghs_acme");
    await read("ghs_acme");
    expect(rateOf(await call("GET", "/repos/globex/api", "ghs_globex"))).toMatchObject({
      remaining: "4999",
      used: "1",
    });
    expect(rateOf(await read("ghs_acme"))).toMatchObject({ remaining: "4997", used: "3" });
  });

  it("past the limit answers 403 with x-ratelimit-remaining 0 until the window resets", async () => {
    await start({ rateLimits: { installationPerHour: 3 } });
    for (let i = 0; i < 3; i++) expect((await read("ghs_acme")).status).toBe(200);
    const refused = await read("ghs_acme");
    expect(refused.status).toBe(403);
    expect(rateOf(refused)).toMatchObject({ limit: "3", remaining: "0", used: "3" });
    expect(refused.body["message"]).toMatch(/^API rate limit exceeded for installation ID \d+\.$/);
    // Another installation is not affected; and the App's own client retries it.
    expect((await call("GET", "/repos/globex/api", "ghs_globex")).status).toBe(200);
    const octokit = new Octokit({ auth: "ghs_acme", baseUrl: github?.apiUrl });
    const error = await octokit.rest.issues
      .get({ owner: "acme", repo: "web", issue_number: 1 })
      .catch((e) => e);
    expect(isTransient(error)).toBe(true);

    t = T0 + 3600_000;
    const again = await read("ghs_acme");
    expect(again.status).toBe(200);
    expect(rateOf(again)).toMatchObject({ remaining: "2", used: "1", reset: String(t / 1000 + 3600) });
  });

  it("GraphQL has its own points budget, its own headers and a rateLimit field that agrees with them", async () => {
    await start();
    await read("ghs_acme");
    const answer = await graphql("ghs_acme", "query { rateLimit { limit cost remaining used resetAt } }");
    expect(rateOf(answer)).toMatchObject({
      limit: "5000",
      remaining: "4999",
      used: "1",
      resource: "graphql",
    });
    expect((answer.body["data"] as Record<string, unknown>)["rateLimit"]).toEqual({
      limit: 5000,
      cost: 1,
      remaining: 4999,
      used: 1,
      resetAt: new Date(T0 + 3600_000).toISOString(),
    });
    // "Predicting the point value of a query": 1 request for the issues, 100 for their labels and 100 for their
    // assignees = 201 requests → 2 points.
    const big = await graphql(
      "ghs_acme",
      `
        query {
          repository(owner: "acme", name: "web") {
            issues(first: 100) {
              nodes {
                labels(first: 100) {
                  nodes {
                    name
                  }
                }
                assignees(first: 100) {
                  nodes {
                    login
                  }
                }
              }
            }
          }
        }
      `,
    );
    expect(rateOf(big)).toMatchObject({ used: "3" });
    expect(rateOf(await read("ghs_acme"))).toMatchObject({ used: "2", resource: "core" });
  });

  it("past the GraphQL budget answers 200 with a RATE_LIMITED error and x-ratelimit-remaining 0", async () => {
    await start({ rateLimits: { installationPerHour: 1 } });
    expect((await graphql("ghs_acme", "query { viewer { login } }")).status).toBe(200);
    const refused = await graphql("ghs_acme", "query { viewer { login } }");
    expect(refused.status).toBe(200);
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(refused.body["errors"]).toEqual([expect.objectContaining({ type: "RATE_LIMITED" })]);
    const octokit = new Octokit({ auth: "ghs_acme", baseUrl: github?.apiUrl });
    const error = await octokit.graphql("query { viewer { login } }").catch((e: unknown) => e);
    expect(isTransient(error)).toBe(true);
  });

  it("GET /rate_limit reports the same budgets and does not spend them", async () => {
    await start();
    await read("ghs_acme");
    await graphql("ghs_acme", "query { viewer { login } }");
    const reset = T0 / 1000 + 3600;
    for (let i = 0; i < 2; i++) {
      const answer = await call("GET", "/rate_limit", "ghs_acme");
      expect(answer.status).toBe(200);
      const resources = answer.body["resources"] as Record<string, unknown>;
      expect(resources["core"]).toEqual({ limit: 5000, remaining: 4999, used: 1, reset });
      expect(resources["graphql"]).toEqual({ limit: 5000, remaining: 4999, used: 1, reset });
      expect(resources["search"]).toMatchObject({ limit: 30, used: 0 });
      expect(answer.body["rate"]).toEqual(resources["core"]);
      expect(rateOf(answer)).toMatchObject({ remaining: "4999", used: "1", resource: "core" });
    }
  });
});

describe("secondary rate limits: content creation", () => {
  it("refuses the 81st content-creating request in a minute with 403, retry-after and GitHub's message; reads pass", async () => {
    await start();
    for (let i = 0; i < 80; i++) {
      const ok = await comment("ghs_acme");
      expect(ok.status, `request ${i + 1}`).toBe(201);
      t += 100; // 80 requests within 8 s
    }
    const refused = await comment("ghs_acme");
    expect(refused.status).toBe(403);
    expect(refused.body["message"]).toBe(SECONDARY_LIMIT_MESSAGE);
    expect(refused.body["message"]).toMatch(/secondary rate limit/);
    expect(refused.headers.get("retry-after")).toBe("52"); // the first left the window at T0 + 60 s
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("4919"); // still a request for the primary limit
    // Nothing was written; reads, GraphQL queries and another installation go on.
    expect([...(getRepo(state, "acme", "web")?.comments.values() ?? [])]).toHaveLength(80);
    expect((await read("ghs_acme")).status).toBe(200);
    expect((await graphql("ghs_acme", "query { viewer { login } }")).body["errors"]).toBeUndefined();
    expect((await comment("ghs_globex", "globex", "api")).status).toBe(201);
    // A GraphQL mutation and a DELETE create content too.
    const org = state.users.get("acme");
    const mutation = await graphql(
      "ghs_acme",
      'mutation($o: ID!) { createProjectV2(input: { ownerId: $o, title: "x" }) { projectV2 { id } } }',
      { o: nodeId("O", org?.id ?? 0) },
    );
    expect(mutation.status).toBe(403);
    expect(mutation.headers.get("retry-after")).toBe("52");
    expect(state.projects).toHaveLength(0);
    expect((await call("DELETE", "/repos/acme/web/issues/1/labels/x", "ghs_acme")).status).toBe(403);

    // The App's client sees a transient failure.
    const octokit = new Octokit({ auth: "ghs_acme", baseUrl: github?.apiUrl });
    const error = await octokit.rest.issues
      .createComment({ owner: "acme", repo: "web", issue_number: 1, body: "again" })
      .catch((e: unknown) => e);
    expect(isTransient(error)).toBe(true);

    // Once the first request is a minute old there is room for one more, then none until the next one ages.
    t = T0 + 60_000;
    expect((await comment("ghs_acme")).status).toBe(201);
    const next = await comment("ghs_acme");
    expect(next.status).toBe(403);
    expect(next.headers.get("retry-after")).toBe("1");
    t = T0 + 68_000;
    expect((await comment("ghs_acme")).status).toBe(201);
  });

  it("refuses the 501st content-creating request in an hour, though no minute saw 80", async () => {
    await start();
    for (let i = 0; i < 500; i++) {
      const ok = await comment("ghs_acme");
      if (ok.status !== 201) throw new Error(`request ${i + 1}: ${ok.status}`);
      t += 1000; // 60 a minute
    }
    // t = T0 + 500 s: 60 in the last minute, 500 in the hour.
    const refused = await comment("ghs_acme");
    expect(refused.status).toBe(403);
    expect(refused.body["message"]).toBe(SECONDARY_LIMIT_MESSAGE);
    expect(refused.headers.get("retry-after")).toBe(String(3600 - 500));
    expect((await read("ghs_acme")).status).toBe(200);
    // Another installation, and a user, have budgets of their own.
    expect((await comment("ghs_globex", "globex", "api")).status).toBe(201);
    expect((await comment("ghp_alice")).status).toBe(201);

    t = T0 + 3600_000;
    expect((await comment("ghs_acme")).status).toBe(201);
  });

  it("takes its figures from the options, and can be turned off", async () => {
    await start({ rateLimits: { contentPerMinute: 2 } });
    expect((await comment("ghs_acme")).status).toBe(201);
    expect((await comment("ghs_acme")).status).toBe(201);
    expect((await comment("ghs_acme")).status).toBe(403);
    await github?.close();
    github = undefined;
    await start({ rateLimits: false });
    const answer = await read("ghs_acme");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-ratelimit-limit")).toBeNull();
  });
});
