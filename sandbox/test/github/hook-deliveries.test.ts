/**
 * The stand-in's delivery log as GitHub's REST API serves it to the App ("REST API endpoints for GitHub App
 * webhooks"): listed newest first to the App's JWT only, paged with cursors in the Link header, failed deliveries
 * (an error answer, or chaos's dropped ones that never connected) shown as failed, and redelivered under the same guid
 * as a new delivery. Every answer is checked against GitHub's OpenAPI description (schemaProblems).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Octokit } from "@octokit/rest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Chaos, GitHubServer, GitHubState } from "../../src/github/index.js";
import {
  addComment,
  createChaos,
  createGitHubServer,
  createGitHubState,
  createIssue,
  DELIVERY_HISTORY_MS,
} from "../../src/github/index.js";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln";

let clock: number;
let state: GitHubState;
let github: GitHubServer | undefined;
let received: { id: string; event: string; action?: string }[];
let answer: number;
let receiver: ReturnType<typeof createServer>;
let hookUrl: string;

beforeEach(async () => {
  received = [];
  answer = 202;
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { action?: string };
      received.push({
        id: String(req.headers["x-github-delivery"]),
        event: String(req.headers["x-github-event"]),
        ...(body.action ? { action: body.action } : {}),
      });
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
  clock = Date.parse("2026-03-01T12:00:00Z");
  state = createGitHubState({
    clock: () => new Date(clock),
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

async function start(chaos?: Chaos): Promise<{ server: GitHubServer; app: Octokit }> {
  github = await createGitHubServer(state, {
    webhook: { url: hookUrl, secret: "s" },
    ...(chaos ? { chaos } : {}),
    rateLimits: false,
  });
  const app = new Octokit({ auth: JWT, baseUrl: github.apiUrl, retry: { enabled: false } });
  return { server: github, app };
}

/** Each delivery made in the order GitHub lists them (newest first), with the fields the App reads. */
type Item = {
  id: number;
  guid: string;
  redelivery: boolean;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
};

describe("the App webhook's deliveries", () => {
  it("are listed newest first, to the App's JWT only, each with its status and the event's guid", async () => {
    const { server, app } = await start();
    const repo = state.repos.get("acme/web")!;
    const issue = createIssue(state, repo, { title: "one", user: "alice" });
    await server.idle();
    answer = 500;
    addComment(state, repo, issue, "hello", "alice");
    await server.idle();

    const { data } = await app.request("GET /app/hook/deliveries");
    const items = data as Item[];
    expect(items.map((d) => [d.event, d.action, d.status_code, d.status, d.redelivery])).toEqual([
      ["issue_comment", "created", 500, "Invalid HTTP Response: 500", false],
      ["issues", "opened", 202, "OK", false],
    ]);
    expect(items.map((d) => d.guid)).toEqual([received[1]!.id, received[0]!.id]);
    expect(items[0]).toMatchObject({
      installation_id: [...state.installations.keys()][0],
      repository_id: repo.id,
      delivered_at: "2026-03-01T12:00:00Z",
    });
    // `status=failure`: status codes 400–599.
    const failed = await app.request("GET /app/hook/deliveries", { status: "failure" });
    expect((failed.data as Item[]).map((d) => d.event)).toEqual(["issue_comment"]);

    const [installation] = [...state.installations.values()];
    state.tokens.set("ghs_test", { kind: "installation", installationId: installation!.id });
    const asInstallation = new Octokit({
      auth: "ghs_test",
      baseUrl: server.apiUrl,
      retry: { enabled: false },
    });
    const refused = await asInstallation.request("GET /app/hook/deliveries").catch((e: unknown) => e);
    expect((refused as { status: number }).status).toBe(401);
    expect(server.schemaProblems()).toEqual([]);
  });

  it("are paged with cursors in the Link header, which Octokit's paginate follows", async () => {
    const { server, app } = await start();
    const repo = state.repos.get("acme/web")!;
    for (let i = 0; i < 7; i++) createIssue(state, repo, { title: `t${i}`, user: "alice" });
    await server.idle();

    const first = await app.request("GET /app/hook/deliveries", { per_page: 3 });
    expect(first.headers.link).toMatch(/[?&]cursor=[^&>]+.*rel="next"/);
    expect(first.headers.link).not.toMatch(/rel="prev"/);
    const pages: number[][] = [];
    for await (const page of app.paginate.iterator("GET /app/hook/deliveries", { per_page: 3 }))
      pages.push((page.data as Item[]).map((d) => d.id));
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    const ids = pages.flat();
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(7);
    const bad = await app
      .request("GET /app/hook/deliveries", { cursor: "nonsense" })
      .catch((e: unknown) => e);
    expect((bad as { status: number }).status).toBe(400);
    expect(server.schemaProblems()).toEqual([]);
  });

  it("show a delivery chaos dropped as failed to connect; a redelivery sends it under its guid as a new delivery", async () => {
    const { server, app } = await start(
      createChaos({ seed: 5, faultRate: 0, duplicateRate: 0, reorderRate: 0, dropRate: 1 }),
    );
    const repo = state.repos.get("acme/web")!;
    createIssue(state, repo, { title: "lost", user: "alice" });
    await server.idle();
    expect(received).toEqual([]);
    const [dropped] = (await app.request("GET /app/hook/deliveries")).data as Item[];
    expect(dropped).toMatchObject({ status: "failed to connect", status_code: 502, redelivery: false });
    expect(server.deliveries).toMatchObject([{ status: "error", dropped: true }]);

    // Redelivered (chaos spares none: this one is dropped again), then once more after chaos calms down.
    const redelivered = await app.request("POST /app/hook/deliveries/{delivery_id}/attempts", {
      delivery_id: dropped!.id,
    });
    expect(redelivered.status).toBe(202);
    await server.idle();
    expect(received).toEqual([]);
    const calm = createChaos({ seed: 5, faultRate: 0, duplicateRate: 0, reorderRate: 0 });
    await github!.close();
    github = undefined;
    const again = await start(calm);
    await again.app.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: dropped!.id });
    await again.server.idle();
    expect(received).toEqual([{ id: dropped!.guid, event: "issues", action: "opened" }]);

    const listed = (await again.app.request("GET /app/hook/deliveries")).data as Item[];
    expect(listed.map((d) => [d.guid, d.redelivery, d.status_code])).toEqual([
      [dropped!.guid, true, 202],
      [dropped!.guid, true, 502],
      [dropped!.guid, false, 502],
    ]);
    expect(new Set(listed.map((d) => d.id)).size).toBe(3);
    expect(again.server.schemaProblems()).toEqual([]);
  });

  it("are kept 3 days: older ones are neither listed nor redelivered, and an unknown id is not found", async () => {
    const { server, app } = await start();
    createIssue(state, state.repos.get("acme/web")!, { title: "old", user: "alice" });
    await server.idle();
    const [old] = (await app.request("GET /app/hook/deliveries")).data as Item[];
    clock += DELIVERY_HISTORY_MS + 1000;
    expect((await app.request("GET /app/hook/deliveries")).data).toEqual([]);
    const late = await app
      .request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: old!.id })
      .catch((e: unknown) => e);
    expect((late as { status: number }).status).toBe(422);
    const unknown = await app
      .request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: 999_999 })
      .catch((e: unknown) => e);
    expect((unknown as { status: number }).status).toBe(404);
    await server.idle();
    expect(received).toHaveLength(1);
  });
});
