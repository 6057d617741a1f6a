/**
 * A whole single-issue run through the real App: label → dispatch → workflow_run (started, then
 * completed with the Action's result artifact) → check run completed → PR opened → PR merged → done.
 * GitHub is nock (network disabled); every request is checked against GitHub's REST description.
 */
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { runName } from "../../src/core/dispatch.js";
import { resultArtifactName } from "../../src/core/result.js";
import { findRunsByIssue } from "../../src/store/runs.js";
import type { Db } from "../../src/store/db.js";
import { listAudit } from "../../src/store/audit.js";
import { agentResult, INSTALLATION_ID, startHarness, type Harness } from "../support/app-harness.js";
import { buildProposal, fakeCommits, OLD_BLOB, proposalZip } from "../support/app-commits.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload, examplePayloadAs } from "../support/webhooks.js";

const REPO = "/repos/Codertocat/Hello-World";
const BASE_SHA = "a".repeat(40);
const HEAD_SHA = "b".repeat(40);
/** The node id GitHub gives the App's pull request #2, in every answer and webhook about it. */
const PR_NODE_ID = "PR_kwDOABCD2";
const BOT = { login: "trellis[bot]", type: "Bot", id: 9 };

/** A small stateful slice of GitHub: what the App reads back (comments, check runs) follows what it wrote. */
function fakeGitHub(issue = 1) {
  const comments: { id: number; body: string; user: typeof BOT }[] = [];
  const checkRuns: {
    id: number;
    head_sha: string;
    external_id: string;
    name: string;
    status: string;
    conclusion: string | null;
  }[] = [];
  const writes: { method: string; path: string; body: Record<string, unknown> }[] = [];
  let nextWorkflowRun = 30433642;
  const pulls: { number: number; head: string; merged: boolean }[] = [];
  const api = githubApi().persist();
  api
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: "ghs_testtoken", expires_at: "2099-01-01T00:00:00Z" });
  api.get(/\/contents\//).reply(404, { message: "Not Found" });
  api
    .get(`${REPO}/collaborators/Codertocat/permission`)
    .reply(200, { permission: "admin", role_name: "admin", user: { login: "Codertocat" } });
  api
    .get(REPO)
    .reply(200, { id: 1, name: "Hello-World", full_name: "Codertocat/Hello-World", default_branch: "main" });
  api.get(`${REPO}/branches/main`).reply(200, { name: "main", commit: { sha: BASE_SHA } });
  api.get(/\/commits\/[0-9a-f]{40}\/check-runs/).reply((uri) => {
    const sha = /commits\/([0-9a-f]{40})/.exec(uri)?.[1];
    const runs = checkRuns.filter((r) => r.head_sha === sha);
    return [200, { total_count: runs.length, check_runs: runs }];
  });
  api.post(`${REPO}/check-runs`).reply((_uri, body) => {
    const b = body as Record<string, string>;
    writes.push({ method: "POST", path: "check-runs", body: b });
    const run = {
      id: 700 + checkRuns.length,
      head_sha: b.head_sha!,
      external_id: b.external_id!,
      name: b.name!,
      status: b.status ?? "queued",
      conclusion: b.conclusion ?? null,
    };
    checkRuns.push(run);
    return [201, run];
  });
  api.patch(/\/check-runs\/\d+$/).reply((uri, body) => {
    const b = body as Record<string, string>;
    const run = checkRuns.find((r) => uri.endsWith(`/${r.id}`))!;
    writes.push({ method: "PATCH", path: `check-runs/${run.id}`, body: b });
    Object.assign(run, { status: b.status ?? run.status, conclusion: b.conclusion ?? run.conclusion });
    return [200, run];
  });
  api
    .get(`${REPO}/issues/${issue}/comments`)
    .query(true)
    .reply(200, () => comments);
  api.post(`${REPO}/issues/${issue}/comments`).reply((_uri, body) => {
    const b = body as { body: string };
    writes.push({ method: "POST", path: "comments", body: b });
    const c = { id: 900 + comments.length, body: b.body, user: BOT };
    comments.push(c);
    return [201, c];
  });
  api.patch(/\/issues\/comments\/\d+$/).reply((uri, body) => {
    const b = body as { body: string };
    const c = comments.find((x) => uri.endsWith(`/${x.id}`))!;
    c.body = b.body;
    writes.push({ method: "PATCH", path: `comments/${c.id}`, body: b });
    return [200, c];
  });
  // GitHub names the new run when asked (return_run_details).
  api.post(`${REPO}/actions/workflows/trellis-agent.yml/dispatches`).reply((_uri, body) => {
    writes.push({ method: "POST", path: "dispatches", body: body as Record<string, unknown> });
    const id = nextWorkflowRun++;
    return [
      200,
      {
        workflow_run_id: id,
        run_url: `https://api.github.com${REPO}/actions/runs/${id}`,
        html_url: `https://github.com/Codertocat/Hello-World/actions/runs/${id}`,
      },
    ];
  });
  api.post(/\/actions\/runs\/\d+\/cancel$/).reply((uri) => {
    writes.push({ method: "POST", path: uri.replace(/^.*\/actions\//, "actions/"), body: {} });
    return [202, {}];
  });
  api
    .get(`${REPO}/pulls`)
    .query(true)
    .reply(200, () =>
      pulls.map((p) => ({
        number: p.number,
        html_url: `https://github.com/Codertocat/Hello-World/pull/${p.number}`,
        node_id: PR_NODE_ID,
        head: { ref: p.head },
      })),
    );
  api.post(`${REPO}/pulls`).reply((_uri, body) => {
    const b = body as { head: string };
    writes.push({ method: "POST", path: "pulls", body: body as Record<string, unknown> });
    pulls.push({ number: 2, head: b.head, merged: false });
    return [
      201,
      { number: 2, html_url: "https://github.com/Codertocat/Hello-World/pull/2", node_id: PR_NODE_ID },
    ];
  });
  // Read back when the issue is closed: was it the merge?
  api.get(`${REPO}/pulls/2`).reply(() => {
    const pr = pulls.find((p) => p.number === 2);
    if (!pr) return [404, { message: "Not Found" }];
    return [
      200,
      {
        number: 2,
        node_id: PR_NODE_ID,
        state: pr.merged ? "closed" : "open",
        merged: pr.merged,
        head: { ref: pr.head },
      },
    ];
  });
  return { comments, checkRuns, writes, pulls, api };
}

describe.each(engineCases())("a single-issue run ($title)", ({ engine, skip }) => {
  useGitHubNock();
  let db: Db;
  let h: Harness;
  beforeEach(async () => {
    if (skip) return;
    db = await engine.open();
  });
  afterEach(async () => {
    await db?.close();
  });

  // Merging a PR that says `Closes #1` closes issue #1 too, and GitHub delivers the two events in either order.
  test.skipIf(skip).each(["pull request", "issue"] as const)(
    "label → dispatch → result → check run → PR → merged → done (the %s's close delivered first)",
    async (first) => {
      githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
      const git = fakeCommits(REPO);
      git.headFiles.set("README.md", OLD_BLOB);
      const gh = fakeGitHub();
      h = await startHarness(db);
      const installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };

      // 1. A maintainer labels the issue.
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation }),
      );
      await h.drain();
      const dispatch = gh.writes.find((w) => w.path === "dispatches")!;
      expect(dispatch.body).toMatchObject({
        ref: "main",
        inputs: { issue: "1", stage: "dev", profile: "dev" },
        return_run_details: true,
      });
      const inputs = dispatch.body.inputs as Record<string, string>;
      const attemptId = inputs.attempt_id!;
      expect(JSON.parse(inputs.spec!)).toMatchObject({
        attemptId,
        issue: 1,
        branch: "trellis/1-spelling-error-in-the-readme-file",
        baseRef: "main",
      });
      expect(gh.checkRuns).toMatchObject([{ name: "Trellis / dev", status: "queued", head_sha: BASE_SHA }]);
      expect(gh.comments).toHaveLength(1);
      expect(gh.comments[0]!.body).toContain("<!-- trellis:status");

      // A redelivery of the same webhook changes nothing.
      const before = gh.writes.length;
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation }),
        "redelivered-label",
      );
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation }),
        "redelivered-label",
      );
      await h.drain();
      const runs = await findRunsByIssue(db, "Codertocat/Hello-World", 1);
      expect(runs).toHaveLength(1); // the second label event found the active run and only replied once

      // The run keeps the Actions run GitHub named in its answer.
      const [dispatched] = await findRunsByIssue(db, "Codertocat/Hello-World", 1);
      expect(dispatched!.state.stages.dev!.attempts[0]!.workflowRunId).toBe(30433642);

      // 2. GitHub creates the Actions run, which waits for a runner, then starts.
      const workflowRun = (action: "requested" | "in_progress" | "completed", conclusion: string | null) =>
        examplePayloadAs("workflow_run", action, action === "in_progress" ? "requested" : action, {
          installation,
          workflow_run: {
            event: "workflow_dispatch",
            path: ".github/workflows/trellis-agent.yml",
            id: 30433642,
            display_title: runName({ stage: "dev", issue: 1, attemptId }),
            status: action === "requested" ? "queued" : action,
            conclusion,
            html_url: "https://github.com/Codertocat/Hello-World/actions/runs/30433642",
            head_repository: { full_name: "Codertocat/Hello-World" },
            repository: { full_name: "Codertocat/Hello-World" },
          },
          repository: {
            full_name: "Codertocat/Hello-World",
            name: "Hello-World",
            owner: { login: "Codertocat" },
          },
        });
      await h.deliver("workflow_run", workflowRun("requested", null));
      await h.drain();
      expect(gh.checkRuns[0]).toMatchObject({ status: "queued" });
      await h.deliver("workflow_run", workflowRun("in_progress", null));
      await h.drain();
      expect(gh.checkRuns[0]).toMatchObject({ status: "in_progress" });

      // 3. It completes; the App reads the result artifact, then verifies the proposal and commits it itself.
      const built = buildProposal(BASE_SHA, { "README.md": { content: "Hello World\n", modified: true } });
      // The job's claims of a branch and a head (HEAD_SHA) are ignored: the App names the branch and makes the commit.
      const result = agentResult(attemptId, { proposal: built.proposal });
      githubApi()
        .get("/repos/Codertocat/Hello-World/actions/runs/30433642/artifacts")
        .times(2)
        .query(true)
        .reply(200, {
          total_count: 1,
          artifacts: [{ id: 55, name: resultArtifactName(attemptId), size_in_bytes: 600, expired: false }],
        });
      githubApi()
        .get("/repos/Codertocat/Hello-World/actions/artifacts/55/zip")
        .times(2)
        .reply(302, "", { location: "https://blob.example.test/artifact.zip" });
      githubApi("https://blob.example.test")
        .get("/artifact.zip")
        .times(2)
        .reply(200, proposalZip(result, built), { "content-type": "application/zip" });
      await h.deliver("workflow_run", workflowRun("completed", "success"));
      await h.drain();

      // The App's own commit, on a branch it created from the base.
      expect(git.refs).toEqual([
        { ref: "refs/heads/trellis/1-spelling-error-in-the-readme-file", sha: BASE_SHA },
      ]);
      expect(git.commits).toMatchObject([
        {
          branch: "trellis/1-spelling-error-in-the-readme-file",
          expectedHeadOid: BASE_SHA,
          additions: [{ path: "README.md", contents: Buffer.from("Hello World\n").toString("base64") }],
          deletions: [],
        },
      ]);
      expect(git.commits[0]!.body).toContain(`Trellis-Attempt: ${attemptId}`);
      const base = gh.checkRuns.find((r) => r.head_sha === BASE_SHA)!;
      const head = gh.checkRuns.find((r) => r.head_sha === git.commits[0]!.oid)!;
      expect(gh.checkRuns.some((r) => r.head_sha === HEAD_SHA)).toBe(false);
      expect(base).toMatchObject({ status: "completed", conclusion: "success" });
      expect(head).toMatchObject({
        status: "completed",
        conclusion: "success",
        external_id: base.external_id,
      });
      const pr = gh.writes.find((w) => w.path === "pulls")!;
      expect(pr.body).toMatchObject({ head: "trellis/1-spelling-error-in-the-readme-file", base: "main" });
      expect(String(pr.body.body)).toContain("Closes #1");

      // 4. A human merges the PR, which closes the issue: the run is done, whichever delivery comes first.
      gh.pulls[0]!.merged = true;
      const prClosed = () =>
        h.deliver(
          "pull_request",
          examplePayload("pull_request", "closed", {
            installation,
            pull_request: {
              number: 2,
              node_id: PR_NODE_ID,
              merged: true,
              body: String(pr.body.body),
              head: { ref: "trellis/1-spelling-error-in-the-readme-file" },
            },
          }),
        );
      const issueClosed = () =>
        h.deliver(
          "issues",
          examplePayloadAs("issues", "closed", "reopened", {
            installation,
            issue: { number: 1, state: "closed", state_reason: "completed" },
          }),
        );
      for (const deliver of first === "issue" ? [issueClosed, prClosed] : [prClosed, issueClosed]) {
        await deliver();
        await h.drain();
        const [now] = await findRunsByIssue(db, "Codertocat/Hello-World", 1);
        expect(now!.state.status).toBe("succeeded");
      }
      const [done] = await findRunsByIssue(db, "Codertocat/Hello-World", 1);
      expect(done!.state.status).toBe("succeeded");
      expect(done!.state.costUsd).toBeCloseTo(0.42);
      expect(gh.comments).toHaveLength(1 + 1); // the status comment, edited in place, plus one reply to the second label
      expect(gh.comments[0]!.body).toMatch(/succeeded|Done|✅/i);
      expect(gh.writes.length).toBeGreaterThan(before);
      const audit = await listAudit(db, { repo: "Codertocat/Hello-World" });
      expect(audit.map((a) => a.action)).toEqual(
        expect.arrayContaining(["run_started", "dispatch", "pr_merged", "run_succeeded"]),
      );
      expect(audit.map((a) => a.action)).not.toContain("abort");
      await h.close();
      // The persistent fake routes may be left unused by design; only one-off mocks must be consumed.
      nock.cleanAll();
    },
  );
  test.skipIf(skip)("/abort cancels the attempt's Actions run on GitHub", async () => {
    githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
    const issue = { number: 5, title: "Stop me" };
    const gh = fakeGitHub(issue.number);
    h = await startHarness(db);
    const installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation, issue }),
    );
    await h.drain();
    const [run] = await findRunsByIssue(db, "Codertocat/Hello-World", issue.number);
    const workflowRunId = run!.state.stages.dev!.attempts[0]!.workflowRunId!;
    expect(workflowRunId).toBeGreaterThan(0);
    expect(gh.writes.filter((w) => w.path.endsWith("/cancel"))).toEqual([]);

    await h.deliver(
      "issue_comment",
      examplePayload("issue_comment", "created", { installation, issue, comment: { body: "/abort" } }),
    );
    await h.drain();
    const [aborted] = await findRunsByIssue(db, "Codertocat/Hello-World", issue.number);
    expect(aborted!.state.status).toBe("aborted");
    expect(gh.writes.filter((w) => w.path.endsWith("/cancel"))).toEqual([
      { method: "POST", path: `actions/runs/${workflowRunId}/cancel`, body: {} },
    ]);
    await h.close();
    nock.cleanAll();
  });
});
