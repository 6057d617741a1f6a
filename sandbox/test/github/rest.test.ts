import { beforeEach, describe, expect, it } from "vitest";
import type { GitHubState, StateEvent } from "../../src/github/index.js";
import {
  addRepo,
  createGitHubState,
  createIssue as createIssueIn,
  handleRequest,
  mergePullRequest,
  onStateEvent,
  parseNodeId,
} from "../../src/github/index.js";

const T0 = new Date("2025-01-02T03:04:05Z");
let state: GitHubState;
let events: StateEvent[];
const USER = { authorization: "token user-token", host: "127.0.0.1:9" };
const OUTSIDER = { authorization: "token outsider-token", host: "127.0.0.1:9" };

function seed(): GitHubState {
  return createGitHubState({
    clock: () => T0,
    users: [{ login: "acme", type: "Organization" }, "alice", "mallory"],
    repos: [
      {
        owner: "acme",
        name: "web",
        files: {
          "README.md": "# web\n",
          ".github/trellis.yml": "parallel: 2\n",
          ".github/trellis/agents/dev.md": "x",
        },
        collaborators: { alice: "write", mallory: "read" },
        labels: ["bug"],
        workflows: [
          {
            path: ".github/workflows/trellis-agent.yml",
            name: "Trellis agent",
            runName: "Trellis ${{ inputs.stage }} #${{ inputs.issue }} [trellis:${{ inputs.attempt_id }}]",
          },
        ],
      },
    ],
    userTokens: { "user-token": "alice", "outsider-token": "mallory" },
  });
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = USER) {
  return handleRequest(state, { method, path, headers, body });
}

async function installationToken(): Promise<Record<string, string>> {
  const [installation] = [...state.installations.values()];
  const res = await call("POST", `/app/installations/${installation?.id}/access_tokens`, undefined, {
    authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln",
    host: "h",
  });
  expect(res.status).toBe(201);
  return { authorization: `token ${(res.body as { token: string }).token}`, host: "127.0.0.1:9" };
}

beforeEach(() => {
  state = seed();
  events = [];
  onStateEvent(state, (e) => events.push(e));
});

describe("issues, labels and comments", () => {
  it("creates an issue with GitHub's shape, announces opened and labeled, and lists it", async () => {
    const res = await call("POST", "/repos/acme/web/issues", {
      title: "Login",
      body: "b",
      labels: ["bug", "agent:dev"],
    });
    expect(res.status).toBe(201);
    const issue = res.body as Record<string, unknown>;
    expect(issue).toMatchObject({
      number: 1,
      title: "Login",
      state: "open",
      user: { login: "alice", type: "User" },
      html_url: "https://github.com/acme/web/issues/1",
      created_at: "2025-01-02T03:04:05Z",
    });
    expect((issue["labels"] as { name: string }[]).map((l) => l.name)).toEqual(["bug", "agent:dev"]);
    expect(parseNodeId(String(issue["node_id"]))).toEqual({ prefix: "I", id: issue["id"] });
    expect(events.map((e) => `${e.name}.${e.action}`)).toEqual([
      "issues.opened",
      "issues.labeled",
      "issues.labeled",
    ]);

    const list = await call("GET", "/repos/acme/web/issues?labels=agent:dev&state=open");
    expect((list.body as unknown[]).length).toBe(1);
  });

  it("adds and removes labels with labeled/unlabeled events, closes with issues.closed", async () => {
    await call("POST", "/repos/acme/web/issues", { title: "A" });
    events.length = 0;
    const added = await call("POST", "/repos/acme/web/issues/1/labels", { labels: ["trellis:batch"] });
    expect(added.status).toBe(200);
    const removed = await call("DELETE", "/repos/acme/web/issues/1/labels/trellis%3Abatch");
    expect(removed.body).toEqual([]);
    expect((await call("DELETE", "/repos/acme/web/issues/1/labels/nope")).status).toBe(404);
    const closed = await call("PATCH", "/repos/acme/web/issues/1", {
      state: "closed",
      state_reason: "not_planned",
    });
    expect(closed.body).toMatchObject({
      state: "closed",
      state_reason: "not_planned",
      closed_at: "2025-01-02T03:04:05Z",
    });
    expect(events.map((e) => `${e.name}.${e.action}`)).toEqual([
      "issues.labeled",
      "issues.unlabeled",
      "issues.closed",
    ]);
    const labeled = events[0]?.fields["label"] as { name: string };
    expect(labeled.name).toBe("trellis:batch");
  });

  it("creates, lists, edits comments and refuses invalid bodies with 422", async () => {
    await call("POST", "/repos/acme/web/issues", { title: "A" });
    const app = await installationToken();
    const c = await call("POST", "/repos/acme/web/issues/1/comments", { body: "hello" }, app);
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({
      body: "hello",
      user: { login: "trellis[bot]", type: "Bot" },
      performed_via_github_app: { id: state.app.id, slug: "trellis" },
    });
    const id = (c.body as { id: number }).id;
    await call("PATCH", `/repos/acme/web/issues/comments/${id}`, { body: "edited" }, app);
    const list = await call("GET", "/repos/acme/web/issues/1/comments");
    expect((list.body as { body: string }[]).map((x) => x.body)).toEqual(["edited"]);
    expect(events.filter((e) => e.name === "issue_comment").map((e) => e.action)).toEqual([
      "created",
      "edited",
    ]);

    const bad = await call("POST", "/repos/acme/web/issues/1/comments", { text: "x" });
    expect(bad.status).toBe(422);
    expect((bad.body as { message: string }).message).toMatch(/unknown body field "text"/);
    const tooLong = await call("POST", "/repos/acme/web/issues/1/comments", { body: "x".repeat(70_000) });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body).toMatchObject({
      message: "Validation Failed",
      errors: [{ resource: "IssueComment", field: "data" }], // GitHub names the field "data" here (see rest.ts)
    });
  });

  it("answers 201 for a new reaction and 200 for a repeated one", async () => {
    await call("POST", "/repos/acme/web/issues", { title: "A" });
    const c = await call("POST", "/repos/acme/web/issues/1/comments", { body: "/run" });
    const id = (c.body as { id: number }).id;
    const first = await call("POST", `/repos/acme/web/issues/comments/${id}/reactions`, { content: "eyes" });
    const again = await call("POST", `/repos/acme/web/issues/comments/${id}/reactions`, { content: "eyes" });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect((again.body as { id: number }).id).toBe((first.body as { id: number }).id);
    expect(
      (await call("POST", `/repos/acme/web/issues/comments/${id}/reactions`, { content: "party" })).status,
    ).toBe(422);
    const comment = await call("GET", `/repos/acme/web/issues/comments/${id}`);
    expect(comment.body).toMatchObject({ reactions: { total_count: 1, eyes: 1 } });
  });
});

describe("sub-issues and blocked-by take REST ids", () => {
  it("links children by id, lists them, and refuses numbers that are not ids", async () => {
    for (const title of ["Tracking", "A", "B"]) await call("POST", "/repos/acme/web/issues", { title });
    const a = state.repos.get("acme/web")?.issues.get(2);
    const b = state.repos.get("acme/web")?.issues.get(3);
    expect((await call("POST", "/repos/acme/web/issues/1/sub_issues", { sub_issue_id: a?.id })).status).toBe(
      201,
    );
    expect((await call("POST", "/repos/acme/web/issues/1/sub_issues", { sub_issue_id: b?.id })).status).toBe(
      201,
    );
    expect((await call("POST", "/repos/acme/web/issues/1/sub_issues", { sub_issue_id: 2 })).status).toBe(422);
    expect((await call("POST", "/repos/acme/web/issues/1/sub_issues", { sub_issue_id: a?.id })).status).toBe(
      422,
    );
    const subs = await call("GET", "/repos/acme/web/issues/1/sub_issues");
    expect((subs.body as { number: number }[]).map((i) => i.number)).toEqual([2, 3]);
    const parent = await call("GET", "/repos/acme/web/issues/2/parent");
    expect(parent.body).toMatchObject({ number: 1, sub_issues_summary: { total: 2, completed: 0 } });
  });

  it("refuses the 101st sub-issue of a parent, closed ones counted (GitHub Docs, Adding sub-issues)", async () => {
    for (let n = 1; n <= 102; n++) await call("POST", "/repos/acme/web/issues", { title: `Issue ${n}` });
    const issue = (n: number) => state.repos.get("acme/web")!.issues.get(n)!;
    await call("PATCH", "/repos/acme/web/issues/2", { state: "closed" });
    for (let n = 2; n <= 101; n++) {
      const res = await call("POST", "/repos/acme/web/issues/1/sub_issues", { sub_issue_id: issue(n).id });
      expect(res.status).toBe(201);
    }
    const refused = await call("POST", "/repos/acme/web/issues/1/sub_issues", {
      sub_issue_id: issue(102).id,
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({
      message: "Validation Failed",
      errors: [
        {
          resource: "Issue",
          field: "sub_issue_id",
          code: "custom",
          message: "Parent issue cannot have more than 100 sub-issues",
        },
      ],
    });
    expect(issue(1).subIssues).toHaveLength(100);
    expect(issue(102).parentId).toBeNull();
    // Removing one makes room again.
    await call("DELETE", "/repos/acme/web/issues/1/sub_issue", { sub_issue_id: issue(2).id });
    const res = await call("POST", "/repos/acme/web/issues/1/sub_issues", { sub_issue_id: issue(102).id });
    expect(res.status).toBe(201);
  });

  it("refuses a ninth level of nested sub-issues", async () => {
    for (let n = 1; n <= 10; n++) await call("POST", "/repos/acme/web/issues", { title: `Level ${n}` });
    const issue = (n: number) => state.repos.get("acme/web")!.issues.get(n)!;
    // 1 ← 2 ← … ← 9: eight levels below the top-level issue #1.
    for (let n = 2; n <= 9; n++) {
      const res = await call("POST", `/repos/acme/web/issues/${n - 1}/sub_issues`, {
        sub_issue_id: issue(n).id,
      });
      expect(res.status).toBe(201);
    }
    const refused = await call("POST", "/repos/acme/web/issues/9/sub_issues", { sub_issue_id: issue(10).id });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({
      errors: [{ message: "Sub-issues cannot be nested more than 8 levels deep" }],
    });
    // A subtree's own levels count: #9 moved under the top-level #10, then #10 under #8 (level 7) would put #9 at 9.
    expect(
      (
        await call("POST", "/repos/acme/web/issues/10/sub_issues", {
          sub_issue_id: issue(9).id,
          replace_parent: true,
        })
      ).status,
    ).toBe(201);
    const deep = await call("POST", "/repos/acme/web/issues/8/sub_issues", { sub_issue_id: issue(10).id });
    expect(deep.status).toBe(422);
  });

  it("records blocked-by, lists both directions, and refuses a cycle", async () => {
    for (const title of ["A", "B"]) await call("POST", "/repos/acme/web/issues", { title });
    const [a, b] = [1, 2].map((n) => state.repos.get("acme/web")?.issues.get(n));
    expect(
      (await call("POST", "/repos/acme/web/issues/2/dependencies/blocked_by", { issue_id: a?.id })).status,
    ).toBe(201);
    const blockedBy = await call("GET", "/repos/acme/web/issues/2/dependencies/blocked_by");
    expect((blockedBy.body as { number: number }[]).map((i) => i.number)).toEqual([1]);
    const blocking = await call("GET", "/repos/acme/web/issues/1/dependencies/blocking");
    expect((blocking.body as { number: number }[]).map((i) => i.number)).toEqual([2]);
    const cycle = await call("POST", "/repos/acme/web/issues/1/dependencies/blocked_by", { issue_id: b?.id });
    expect(cycle.status).toBe(422);
    expect((cycle.body as { message: string }).message).toMatch(/circular/);
    // The old, wrong route is not GitHub's.
    expect((await call("POST", "/repos/acme/web/issues/2/blocked_by", { issue_id: a?.id })).status).toBe(404);
  });
});

describe("pagination", () => {
  it("pages with per_page/page and GitHub's Link header", async () => {
    for (let i = 0; i < 5; i++) await call("POST", "/repos/acme/web/issues", { title: `T${i}` });
    const first = await call("GET", "/api/v3/repos/acme/web/issues?per_page=2&direction=asc");
    expect((first.body as { number: number }[]).map((i) => i.number)).toEqual([1, 2]);
    expect(first.headers["link"]).toBe(
      '<http://127.0.0.1:9/api/v3/repos/acme/web/issues?per_page=2&direction=asc&page=2>; rel="next", ' +
        '<http://127.0.0.1:9/api/v3/repos/acme/web/issues?per_page=2&direction=asc&page=3>; rel="last"',
    );
    const last = await call("GET", "/repos/acme/web/issues?per_page=2&direction=asc&page=3");
    expect((last.body as { number: number }[]).map((i) => i.number)).toEqual([5]);
    expect(last.headers["link"]).toContain('rel="prev"');
    expect(last.headers["link"]).not.toContain('rel="next"');
  });
});

describe("check runs", () => {
  it("creates, updates (appending annotations) and lists by ref with external ids; only the App may write", async () => {
    const app = await installationToken();
    const branch = await call("GET", "/repos/acme/web/branches/main", undefined, app);
    const sha = (branch.body as { commit: { sha: string } }).commit.sha;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    const created = await call(
      "POST",
      "/repos/acme/web/check-runs",
      { name: "Trellis / dev", head_sha: sha, external_id: "run-1:dev", status: "queued" },
      app,
    );
    expect(created.status).toBe(201);
    const id = (created.body as { id: number }).id;
    const annotation = {
      path: "a.ts",
      start_line: 1,
      end_line: 1,
      annotation_level: "failure",
      message: "boom",
    };
    const done = await call(
      "PATCH",
      `/repos/acme/web/check-runs/${id}`,
      { conclusion: "failure", output: { title: "t", summary: "s", annotations: [annotation] } },
      app,
    );
    expect(done.body).toMatchObject({
      status: "completed",
      conclusion: "failure",
      output: { annotations_count: 1 },
    });
    await call(
      "PATCH",
      `/repos/acme/web/check-runs/${id}`,
      { output: { title: "t", summary: "s", annotations: [annotation] } },
      app,
    );
    const annotations = await call("GET", `/repos/acme/web/check-runs/${id}/annotations`, undefined, app);
    expect((annotations.body as unknown[]).length).toBe(2);
    const listed = await call(
      "GET",
      `/repos/acme/web/commits/${sha}/check-runs?check_name=${encodeURIComponent("Trellis / dev")}&filter=all`,
      undefined,
      app,
    );
    expect(listed.body).toMatchObject({ total_count: 1, check_runs: [{ id, external_id: "run-1:dev" }] });
    expect(events.filter((e) => e.name === "check_run").map((e) => e.action)).toEqual([
      "created",
      "completed",
    ]);

    expect((await call("POST", "/repos/acme/web/check-runs", { name: "x", head_sha: sha })).status).toBe(403);
    const badSha = await call(
      "POST",
      "/repos/acme/web/check-runs",
      { name: "x", head_sha: "f".repeat(40) },
      app,
    );
    expect(badSha.status).toBe(422);
    const badStatus = await call(
      "POST",
      "/repos/acme/web/check-runs",
      { name: "x", head_sha: sha, status: "done" },
      app,
    );
    expect(badStatus.status).toBe(422);
  });
});

describe("GitHub's text limits", () => {
  it("takes a comment body of 65,536 characters (code points) and refuses one more, as GitHub answers", async () => {
    await call("POST", "/repos/acme/web/issues", { title: "T" });
    const at = await call("POST", "/repos/acme/web/issues/1/comments", { body: "x".repeat(65_536) });
    expect(at.status).toBe(201);
    // An emoji is two UTF-16 units but one character: 65,536 of them still fit.
    const emoji = await call("POST", "/repos/acme/web/issues/1/comments", { body: "🌱".repeat(65_536) });
    expect(emoji.status).toBe(201);
    const over = await call("POST", "/repos/acme/web/issues/1/comments", { body: "x".repeat(65_537) });
    expect(over.status).toBe(422);
    expect(over.body).toMatchObject({
      message: "Validation Failed",
      errors: [
        {
          resource: "IssueComment",
          code: "unprocessable",
          field: "data",
          message: "Body is too long (maximum is 65536 characters)",
        },
      ],
    });
    const id = (at.body as { id: number }).id;
    const edit = await call("PATCH", `/repos/acme/web/issues/comments/${id}`, { body: "y".repeat(65_537) });
    expect(edit.status).toBe(422);
    // An issue's body has the same limit, on creation and on edit.
    expect(
      (await call("POST", "/repos/acme/web/issues", { title: "U", body: "x".repeat(65_537) })).status,
    ).toBe(422);
    expect((await call("PATCH", "/repos/acme/web/issues/1", { body: "x".repeat(65_537) })).status).toBe(422);
  });

  it("takes a check run summary and text of 65,535 characters and 50 annotations a request, no more", async () => {
    const app = await installationToken();
    const branch = await call("GET", "/repos/acme/web/branches/main", undefined, app);
    const sha = (branch.body as { commit: { sha: string } }).commit.sha;
    const annotation = {
      path: "a.ts",
      start_line: 1,
      end_line: 1,
      annotation_level: "warning",
      message: "m",
    };
    const create = (output: Record<string, unknown>) =>
      call("POST", "/repos/acme/web/check-runs", { name: "Trellis / dev", head_sha: sha, output }, app);
    const ok = await create({
      title: "t",
      summary: "s".repeat(65_535),
      text: "x".repeat(65_535),
      annotations: Array(50).fill(annotation),
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ output: { annotations_count: 50 } });
    expect((await create({ title: "t", summary: "s".repeat(65_536) })).body).toMatchObject({
      errors: [{ field: "output.summary", message: "summary is too long (maximum is 65535 characters)" }],
    });
    expect((await create({ title: "t", summary: "s", text: "x".repeat(65_536) })).status).toBe(422);
    const tooMany = await create({ title: "t", summary: "s", annotations: Array(51).fill(annotation) });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body).toMatchObject({
      errors: [{ message: "Only 50 annotations are allowed per request" }],
    });
    // An update is held to the same limits; further annotations come in further updates.
    const id = (ok.body as { id: number }).id;
    const update = (output: Record<string, unknown>) =>
      call("PATCH", `/repos/acme/web/check-runs/${id}`, { output }, app);
    expect((await update({ title: "t", summary: "s", annotations: Array(51).fill(annotation) })).status).toBe(
      422,
    );
    expect((await update({ title: "t", summary: "s", annotations: Array(50).fill(annotation) })).status).toBe(
      200,
    );
    const all = await call(
      "GET",
      `/repos/acme/web/check-runs/${id}/annotations?per_page=100`,
      undefined,
      app,
    );
    expect((all.body as unknown[]).length).toBe(100);
  });
});

describe("workflow dispatch, runs and artifacts", () => {
  it("renders run-name from the inputs, and serves artifacts through a redirect", async () => {
    const app = await installationToken();
    const dispatched: number[] = [];
    state.dispatchHandlers.add((run) => dispatched.push(run.id));
    const res = await call(
      "POST",
      "/repos/acme/web/actions/workflows/trellis-agent.yml/dispatches",
      { ref: "main", inputs: { stage: "dev", issue: "7", attempt_id: "att_0123456789" } },
      app,
    );
    expect(res.status).toBe(204);
    expect(dispatched.length).toBe(1);
    const runId = dispatched[0] as number;
    const run = await call("GET", `/repos/acme/web/actions/runs/${runId}`, undefined, app);
    expect(run.body).toMatchObject({
      display_title: "Trellis dev #7 [trellis:att_0123456789]",
      event: "workflow_dispatch",
      status: "queued",
      head_branch: "main",
    });
    expect(events.map((e) => `${e.name}.${e.action}`)).toContain("workflow_run.requested");

    const { completeWorkflowRun } = await import("../../src/github/index.js");
    const repo = state.repos.get("acme/web");
    if (!repo) throw new Error("no repo");
    completeWorkflowRun(state, repo, runId, {
      conclusion: "success",
      artifacts: [{ name: "trellis-result-att_0123456789", zip: new Uint8Array([80, 75, 5, 6]) }],
    });
    expect(events.filter((e) => e.name === "workflow_run").map((e) => e.action)).toEqual([
      "requested",
      "in_progress",
      "completed",
    ]);
    const artifacts = await call(
      "GET",
      `/repos/acme/web/actions/runs/${runId}/artifacts?name=trellis-result-att_0123456789`,
      undefined,
      app,
    );
    const artifact = (artifacts.body as { artifacts: { id: number; size_in_bytes: number }[] }).artifacts[0];
    expect(artifact?.size_in_bytes).toBe(4);
    const download = await call(
      "GET",
      `/api/v3/repos/acme/web/actions/artifacts/${artifact?.id}/zip`,
      undefined,
      app,
    );
    expect(download.status).toBe(302);
    expect(download.headers["location"]).toBe(`http://127.0.0.1:9/_sandbox/artifacts/${artifact?.id}.zip`);
    const blob = await call("GET", `/_sandbox/artifacts/${artifact?.id}.zip`, undefined, {});
    expect(blob.body).toEqual(new Uint8Array([80, 75, 5, 6]));

    expect(
      (await call("POST", "/repos/acme/web/actions/workflows/nope.yml/dispatches", { ref: "main" }, app))
        .status,
    ).toBe(404);
    expect(
      (
        await call(
          "POST",
          "/repos/acme/web/actions/workflows/trellis-agent.yml/dispatches",
          { ref: "nope" },
          app,
        )
      ).status,
    ).toBe(422);
  });
});

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

describe("repositories, contents, permissions, the App", () => {
  it("serves the repo, file and directory contents", async () => {
    expect((await call("GET", "/repos/acme/web")).body).toMatchObject({
      full_name: "acme/web",
      default_branch: "main",
    });
    const file = await call("GET", "/repos/acme/web/contents/.github%2Ftrellis.yml?ref=main");
    expect(Buffer.from((file.body as { content: string }).content, "base64").toString()).toBe(
      "parallel: 2\n",
    );
    const dir = await call("GET", "/repos/acme/web/contents/.github/trellis/agents");
    expect(dir.body).toMatchObject([{ name: "dev.md", type: "file", path: ".github/trellis/agents/dev.md" }]);
    expect((await call("GET", "/repos/acme/web/contents/missing.txt")).body).toEqual({
      message: "Not Found",
      documentation_url: "https://docs.github.com/rest",
      status: "404",
    });
  });

  it("reports collaborator roles and 404s non-collaborators", async () => {
    const perm = await call("GET", "/repos/acme/web/collaborators/alice/permission");
    expect(perm.body).toMatchObject({ permission: "write", role_name: "write", user: { login: "alice" } });
    const read = await call("GET", "/repos/acme/web/collaborators/mallory/permission", undefined, OUTSIDER);
    expect(read.body).toMatchObject({ permission: "read", role_name: "read" });
    state.users.set("eve", { id: 1, login: "eve", type: "User" });
    expect((await call("GET", "/repos/acme/web/collaborators/eve/permission")).status).toBe(404);
  });

  it("authenticates like GitHub: JWT only for /app, bad tokens 401, anonymous writes 401, unknown routes 404", async () => {
    const jwt = { authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln" };
    expect((await call("GET", "/app", undefined, jwt)).body).toMatchObject({ id: 4242, slug: "trellis" });
    expect((await call("GET", "/repos/acme/web", undefined, jwt)).status).toBe(401);
    expect((await call("GET", "/app", undefined, USER)).status).toBe(401);
    expect(
      (await call("GET", "/repos/acme/web", undefined, { authorization: "token nope" })).body,
    ).toMatchObject({
      message: "Bad credentials",
    });
    expect((await call("POST", "/repos/acme/web/issues", { title: "x" }, {})).status).toBe(401);
    expect((await call("GET", "/repos/acme/web/nonsense")).status).toBe(404);
    const unimplemented = await call("GET", "/repos/acme/web/releases");
    expect(unimplemented.status).toBe(404);
    expect((unimplemented.body as { message: string }).message).toMatch(
      /does not implement repos\/list-releases/,
    );
    const app = await installationToken();
    expect((await call("GET", "/repos/acme/web/installation", undefined, jwt)).body).toMatchObject({
      app_id: 4242,
    });
    expect((await call("GET", "/repos/acme/other", undefined, app)).status).toBe(404);
  });
});
