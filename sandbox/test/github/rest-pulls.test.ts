/** Sandbox REST: pull requests, and the issues their merge closes. */
import { describe, expect, it } from "vitest";
import {
  addRepo,
  createGitHubState,
  createIssue as createIssueIn,
  mergePullRequest,
  onStateEvent,
} from "../../src/github/index.js";
import { call, events, freshStatePerTest, installationToken, state } from "./rest-support.js";

freshStatePerTest();

describe("pull requests", () => {
  it("opens a PR from a pushed branch, refuses a duplicate, and merging closes the issue it closes", async () => {
    await call("POST", "/repos/acme/web/issues", { title: "Login" });
    const repo = state.repos.get("acme/web");
    const backend = repo?.backend as unknown as {
      commitFiles(b: string, f: Record<string, string>, m: string): string;
    };
    backend.commitFiles("trellis/1-login", { "login.ts": "export {}" }, "feat: login");
    const app = await installationToken();
    const spec = { head: "trellis/1-login", base: "main", title: "Login", body: "Closes #1" };
    const pr = await call("POST", "/repos/acme/web/pulls", spec, app);
    expect(pr.status).toBe(201);
    expect(pr.body).toMatchObject({
      number: 2,
      state: "open",
      merged: false,
      head: { ref: "trellis/1-login" },
      base: { ref: "main" },
    });
    expect((await call("POST", "/repos/acme/web/pulls", spec, app)).status).toBe(422);
    expect((await call("POST", "/repos/acme/web/pulls", { ...spec, head: "missing" }, app)).status).toBe(422);
    const found = await call(
      "GET",
      "/repos/acme/web/pulls?head=acme:trellis/1-login&state=open",
      undefined,
      app,
    );
    expect((found.body as unknown[]).length).toBe(1);
    events.length = 0;
    const merged = await call("PUT", "/repos/acme/web/pulls/2/merge", {});
    expect(merged.body).toMatchObject({ merged: true });
    expect(events.map((e) => `${e.name}.${e.action}`)).toEqual(["pull_request.closed", "issues.closed"]);
    expect((events[0]?.fields["pull_request"] as { merged: boolean }).merged).toBe(true);
    // One node id for the PR, in the REST answers and in the webhook (the App matches PR events by it).
    const nodeId = (pr.body as { node_id: string }).node_id;
    expect(nodeId).toMatch(/^PR_/);
    expect((found.body as { node_id: string }[])[0]?.node_id).toBe(nodeId);
    expect(((await call("GET", "/repos/acme/web/pulls/2")).body as { node_id: string }).node_id).toBe(nodeId);
    expect((events[0]?.fields["pull_request"] as { node_id: string }).node_id).toBe(nodeId);
    const main = await call("GET", "/repos/acme/web/contents/login.ts?ref=main");
    expect(Buffer.from((main.body as { content: string }).content, "base64").toString()).toBe("export {}");
  });
});

describe("merging closes the issues the PR says it closes (GitHub: Linking a pull request to an issue)", () => {
  /** Opens issues #1..#n, then a PR from a pushed branch into `base` with `body`; returns the PR's number. */
  async function prClosing(body: string, issues: number, base = "main"): Promise<number> {
    for (let i = 1; i <= issues; i++) await call("POST", "/repos/acme/web/issues", { title: `Issue ${i}` });
    const backend = state.repos.get("acme/web")?.backend as unknown as {
      commitFiles(b: string, f: Record<string, string>, m: string): string;
    };
    if (base !== "main") backend.commitFiles(base, { "base.txt": "x" }, "base");
    backend.commitFiles("feature", { "f.ts": "export {}" }, "feat");
    const pr = await call("POST", "/repos/acme/web/pulls", { head: "feature", base, title: "F", body });
    expect(pr.status).toBe(201);
    events.length = 0;
    return (pr.body as { number: number }).number;
  }
  const issueState = (n: number, repo = "acme/web") => {
    const i = state.repos.get(repo)?.issues.get(n);
    return `${i?.state}/${i?.stateReason}`;
  };

  it("knows every documented keyword, in any case, and leaves other words and PRs alone", async () => {
    const keywords = [
      "close",
      "CLOSES",
      "Closed",
      "fix",
      "Fixes",
      "fixed",
      "resolve",
      "Resolves",
      "RESOLVED",
    ];
    const body = [...keywords.map((k, i) => `${k} #${i + 1}`), "see #10", "unfixes #11", "closes #12"].join(
      "\n",
    );
    const pr = await prClosing(body, 11);
    expect(pr).toBe(12);
    await call("PUT", `/repos/acme/web/pulls/${pr}/merge`, {});
    for (let i = 1; i <= 9; i++) expect(issueState(i)).toBe("closed/completed");
    expect(issueState(10)).toBe("open/null");
    expect(issueState(11)).toBe("open/null");
    expect(
      events.filter((e) => e.name === "issues").map((e) => (e.fields["issue"] as { number: number }).number),
    ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const closed = events.find((e) => e.name === "issues");
    expect(closed?.fields["issue"]).toMatchObject({ state: "closed", state_reason: "completed" });
  });

  it("closes an issue of another repository named OWNER/REPOSITORY#N", async () => {
    addRepo(state, { owner: "acme", name: "api" });
    const other = state.repos.get("acme/api");
    if (!other) throw new Error("no repo");
    createIssueIn(state, other, { title: "API side", user: "alice" });
    const pr = await prClosing("Fixes acme/api#1, closes #1", 1);
    await call("PUT", `/repos/acme/web/pulls/${pr}/merge`, {});
    expect(issueState(1, "acme/api")).toBe("closed/completed");
    expect(issueState(1)).toBe("closed/completed");
  });

  it("ignores the keywords when the PR is merged into another branch than the default", async () => {
    const pr = await prClosing("Closes #1", 1, "release");
    const merged = await call("PUT", `/repos/acme/web/pulls/${pr}/merge`, {});
    expect(merged.status).toBe(200);
    expect(issueState(1)).toBe("open/null");
    expect(events.map((e) => `${e.name}.${e.action}`)).toEqual(["pull_request.closed"]);
  });

  it("sends the two deliveries in the order asked for, each seeing the whole merge", async () => {
    const seen: string[] = [];
    onStateEvent(state, (e) => {
      // What the App would read back while handling each delivery.
      const pr = state.repos.get("acme/web")?.issues.get(2);
      seen.push(`${e.name}.${e.action} pr=${pr?.state}/${pr?.pull?.merged} issue=${issueState(1)}`);
    });
    state.mergeDeliveryOrder = "issues_first";
    const pr = await prClosing("Closes #1", 1);
    seen.length = 0;
    await call("PUT", `/repos/acme/web/pulls/${pr}/merge`, {});
    expect(seen).toEqual([
      "issues.closed pr=closed/true issue=closed/completed",
      "pull_request.closed pr=closed/true issue=closed/completed",
    ]);
    expect((events[1]?.fields["pull_request"] as { merged: boolean }).merged).toBe(true);
  });

  it("defaults to the pull request first, and a merge call can choose its own order", async () => {
    expect(createGitHubState({ mergeDeliveryOrder: "issues_first" }).mergeDeliveryOrder).toBe("issues_first");
    const pr = await prClosing("Closes #1", 1);
    const repo = state.repos.get("acme/web");
    const issue = repo?.issues.get(pr);
    if (!repo || !issue) throw new Error("no PR");
    await mergePullRequest(state, repo, issue, "alice", undefined, "issues_first");
    expect(events.map((e) => `${e.name}.${e.action}`)).toEqual(["issues.closed", "pull_request.closed"]);
    expect(state.mergeDeliveryOrder).toBe("pull_request_first");
  });
});
