import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Octokit } from "@octokit/rest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isTransient } from "../../../src/github/client.js";
import type { Chaos, GitHubServer, GitHubState } from "../../src/github/index.js";
import {
  addComment,
  createChaos,
  createGitHubServer,
  createGitHubState,
  createIssue,
  faultsInjected,
} from "../../src/github/index.js";

let state: GitHubState;
let github: GitHubServer | undefined;
let received: { id: string; event: string; action?: string; number?: number }[];
let receiver: ReturnType<typeof createServer>;
let hookUrl: string;

beforeEach(async () => {
  received = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        action?: string;
        comment?: { body: string };
        issue?: { number: number };
      };
      received.push({
        id: String(req.headers["x-github-delivery"]),
        event: String(req.headers["x-github-event"]),
        ...(body.action ? { action: body.action } : {}),
        ...(body.issue ? { number: body.issue.number } : {}),
      });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
  state = createGitHubState({
    users: [{ login: "acme", type: "Organization" }, "alice"],
    repos: [
      { owner: "acme", name: "web", files: { "README.md": "hi\n" }, collaborators: { alice: "admin" } },
    ],
  });
});

afterEach(async () => {
  await github?.close();
  github = undefined;
  await new Promise<void>((r) => receiver.close(() => r()));
});

const start = async (chaos: Chaos) => {
  github = await createGitHubServer(state, { webhook: { url: hookUrl, secret: "s" }, chaos });
  return github;
};

describe("chaos", () => {
  it("is seeded: the same seed makes the same faults and delivery plans", () => {
    const plan = (seed: number) => {
      const c = createChaos({ seed });
      return [
        ...Array.from({ length: 200 }, () => c.fault("installation", "GET", "/x")?.status ?? 200),
        ...Array.from({ length: 50 }, () => JSON.stringify(c.delivery())),
      ];
    };
    expect(plan(7)).toEqual(plan(7));
    expect(plan(7)).not.toEqual(plan(8));
  });

  it("fails about a tenth of the App's requests with faults the App's client treats as transient, and none of anyone else's", async () => {
    const chaos = createChaos({ seed: 42 });
    const statuses = Array.from({ length: 2000 }, () => chaos.fault("installation", "GET", "/x"));
    const faults = statuses.filter((s) => s !== undefined);
    expect(faults.length).toBeGreaterThan(150);
    expect(faults.length).toBeLessThan(250);
    expect(faultsInjected(chaos.counts)).toBe(faults.length);
    expect(new Set(faults.map((f) => f.status))).toEqual(new Set([502, 503, 429, 403]));
    // What GitHub sends with each (rate-limits-for-the-rest-api): the App's retry logic must see them as transient.
    for (const f of faults) {
      const error = Object.assign(new Error((f.body as { message: string }).message), {
        status: f.status,
        response: { headers: f.headers },
      });
      expect(isTransient(error), `${f.status} ${JSON.stringify(f.headers)}`).toBe(true);
    }
    const secondary = faults.find((f) => f.status === 403)!;
    expect(secondary.headers["retry-after"]).toBe("1");
    expect((secondary.body as { message: string }).message).toMatch(/secondary rate limit/);
    const primary = faults.find((f) => f.status === 429)!;
    expect(primary.headers["x-ratelimit-remaining"]).toBe("0");
    expect(Array.from({ length: 500 }, () => chaos.fault("user:github-actions[bot]", "GET", "/x"))).toEqual(
      Array(500).fill(undefined),
    );
  });

  it("answers the App's requests with the fault instead of applying them", async () => {
    const server = await start(createChaos({ seed: 3, faultRate: 1 }));
    const [installation] = [...state.installations.values()];
    state.tokens.set("ghs_test", { kind: "installation", installationId: installation?.id ?? 0 });
    const octokit = new Octokit({ auth: "ghs_test", baseUrl: server.apiUrl, retry: { enabled: false } });
    const error = await octokit.rest.issues.create({ owner: "acme", repo: "web", title: "x" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect([502, 503, 429, 403]).toContain((error as { status: number }).status);
    expect(state.repos.get("acme/web")!.issues.size).toBe(0);
  });

  it("duplicates deliveries with the same delivery id and reorders some, losing none", async () => {
    const server = await start(createChaos({ seed: 11, duplicateRate: 0.3, reorderRate: 0.3 }));
    const repo = state.repos.get("acme/web")!;
    for (let i = 0; i < 30; i++) {
      const issue = createIssue(state, repo, { title: `t${i}`, user: "alice" });
      addComment(state, repo, issue, `hello ${i}`, "alice");
    }
    await server.idle();
    const ids = received.map((r) => r.id);
    const unique = new Set(ids);
    // 60 events, none lost; some sent twice under the same id, as a redelivery is.
    expect(unique.size).toBe(60);
    expect(ids.length).toBeGreaterThan(60);
    // Some arrive out of order: an issue's comment before its opening, or issue n+1 before n.
    const order = received
      .filter((r, i) => ids.indexOf(r.id) === i)
      .map((r) => (r.number ?? 0) * 2 + (r.event === "issue_comment" ? 1 : 0));
    const inversions = order.filter((v, i) => i > 0 && v < order[i - 1]!).length;
    expect(inversions).toBeGreaterThan(0);
  });
});
