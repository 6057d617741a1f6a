/** Sandbox REST: issues, labels, comments, sub-issues and pagination. */
import { describe, expect, it } from "vitest";
import { parseNodeId } from "../../src/github/index.js";
import { call, events, freshStatePerTest, installationToken, state } from "./rest-support.js";

freshStatePerTest();

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
