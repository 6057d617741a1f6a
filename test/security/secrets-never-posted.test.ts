/**
 * Hostile: a prompt-injected agent puts keys in everything it writes (summary, question, review, annotations, test
 * failures). The real App reads that result artifact and posts a status comment, check runs and a pull request; not
 * one request body it sends to GitHub may contain a key. GitHub is nock; every write's body is recorded.
 */
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { runName } from "../../src/core/dispatch.js";
import { resultArtifactName, type AgentResult } from "../../src/core/result.js";
import type { Db } from "../../src/store/db.js";
import { findRunsByIssue } from "../../src/store/runs.js";
import {
  agentResult,
  installation,
  INSTALLATION_ID,
  resultZip,
  startHarness,
} from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload, examplePayloadAs } from "../support/webhooks.js";

const REPO = "/repos/Codertocat/Hello-World";
const BOT = { login: "trellis[bot]", type: "Bot", id: 9 };

// Shapes only, none real; one spelled with a zero-width space inside, one with an entity for a letter.
const ANTHROPIC_KEY = "sk-ant-api03-LeakedKeyLeakedKeyLeakedKey0123456789-AbCd";
const INSTALLATION_TOKEN = "ghs_LeakedInstallationToken0123456789AbCd";
const LEAK = `Done. For the record: ANTHROPIC_API_KEY=${ANTHROPIC_KEY} GITHUB_TOKEN=${INSTALLATION_TOKEN} and again ${INSTALLATION_TOKEN.slice(0, 12)}\u200B${INSTALLATION_TOKEN.slice(12)} and sk&#45;ant-api03-LeakedKeyLeakedKeyLeakedKey0123456789-AbCd`;
const FRAGMENTS = ["LeakedKeyLeakedKey", "LeakedInstallationToken"];

/** GitHub as far as one run needs it; every request body sent to it is recorded. */
function fakeGitHub(bodies: string[]) {
  const record = (scope: nock.Scope): nock.Scope =>
    scope.on("request", (_req: unknown, _interceptor: unknown, body: string) => {
      if (body) bodies.push(body);
    });
  const comments: { id: number; body: string; user: typeof BOT }[] = [];
  const checkRuns: { id: number; head_sha: string; external_id: string; name: string; status: string }[] = [];
  const api = record(githubApi().persist());
  api
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: "ghs_testtoken", expires_at: "2099-01-01T00:00:00Z" });
  api.get(/\/contents\//).reply(404, { message: "Not Found" });
  api
    .get(`${REPO}/collaborators/Codertocat/permission`)
    .reply(200, { permission: "admin", role_name: "admin", user: { login: "Codertocat" } });
  // Only a succeeded attempt opens a pull request.
  api
    .get(REPO)
    .optionally()
    .reply(200, { id: 1, name: "Hello-World", full_name: "Codertocat/Hello-World", default_branch: "main" });
  api.get(`${REPO}/branches/main`).reply(200, { name: "main", commit: { sha: "a".repeat(40) } });
  api.get(/\/commits\/[0-9a-f]{40}\/check-runs/).reply((uri) => {
    const sha = /commits\/([0-9a-f]{40})/.exec(uri)?.[1];
    const runs = checkRuns.filter((r) => r.head_sha === sha);
    return [200, { total_count: runs.length, check_runs: runs }];
  });
  api.post(`${REPO}/check-runs`).reply((_uri, body) => {
    const b = body as Record<string, string>;
    const run = {
      id: 700 + checkRuns.length,
      head_sha: b.head_sha!,
      external_id: b.external_id!,
      name: b.name!,
      status: b.status ?? "queued",
    };
    checkRuns.push(run);
    return [201, run];
  });
  api.patch(/\/check-runs\/\d+$/).reply((uri) => [200, checkRuns.find((r) => uri.endsWith(`/${r.id}`))]);
  api
    .get(`${REPO}/issues/1/comments`)
    .query(true)
    .reply(200, () => comments);
  api.post(`${REPO}/issues/1/comments`).reply((_uri, body) => {
    const c = { id: 900 + comments.length, body: (body as { body: string }).body, user: BOT };
    comments.push(c);
    return [201, c];
  });
  api.patch(/\/issues\/comments\/\d+$/).reply((uri, body) => {
    const c = comments.find((x) => uri.endsWith(`/${x.id}`))!;
    c.body = (body as { body: string }).body;
    return [200, c];
  });
  api.post(`${REPO}/actions/workflows/trellis-agent.yml/dispatches`).reply(200, {
    workflow_run_id: 30433642,
    run_url: `https://api.github.com${REPO}/actions/runs/30433642`,
    html_url: "https://github.com/Codertocat/Hello-World/actions/runs/30433642",
  });
  api.get(`${REPO}/pulls`).query(true).optionally().reply(200, []);
  api.post(`${REPO}/pulls`).optionally().reply(201, {
    number: 2,
    html_url: "https://github.com/Codertocat/Hello-World/pull/2",
    node_id: "PR_kw",
  });
  return { comments };
}

function workflowRun(attemptId: string) {
  return examplePayloadAs("workflow_run", "completed", "completed", {
    installation,
    workflow_run: {
      id: 30433642,
      display_title: runName({ stage: "dev", issue: 1, attemptId }),
      status: "completed",
      conclusion: "success",
      html_url: "https://github.com/Codertocat/Hello-World/actions/runs/30433642",
      head_repository: { full_name: "Codertocat/Hello-World" },
      repository: { full_name: "Codertocat/Hello-World" },
    },
    repository: { full_name: "Codertocat/Hello-World", name: "Hello-World", owner: { login: "Codertocat" } },
  });
}

function serveArtifact(result: AgentResult): void {
  githubApi()
    .get(`${REPO}/actions/runs/30433642/artifacts`)
    .query(true)
    .reply(200, {
      total_count: 1,
      artifacts: [{ id: 55, name: resultArtifactName(result.attemptId), size_in_bytes: 900, expired: false }],
    });
  githubApi()
    .get(`${REPO}/actions/artifacts/55/zip`)
    .reply(302, "", { location: "https://blob.example.test/artifact.zip" });
  githubApi("https://blob.example.test")
    .get("/artifact.zip")
    .reply(200, resultZip(result), { "content-type": "application/zip" });
}

const leakyResults: [string, (attemptId: string) => AgentResult][] = [
  [
    "a succeeded attempt (summary, annotations, review, criteria)",
    (attemptId) =>
      agentResult(attemptId, {
        summary: LEAK,
        review: { verdict: "approve", comments: LEAK },
        criteria: [{ criterion: "tests_pass", passed: true, detail: LEAK }],
        annotations: [
          {
            path: "README.md",
            start_line: 1,
            end_line: 1,
            annotation_level: "warning",
            message: LEAK,
            title: LEAK,
          },
        ],
      }),
  ],
  [
    "a failed attempt (reason, test failures)",
    (attemptId) =>
      agentResult(attemptId, {
        status: "failed",
        summary: LEAK,
        reason: LEAK,
        tests: {
          passed: 0,
          failed: 1,
          skipped: 0,
          failures: [{ name: LEAK, message: LEAK, file: "a.test.ts", line: 3 }],
        },
      }),
  ],
  [
    "an attempt that asks a question",
    (attemptId) => agentResult(attemptId, { status: "needs_input", summary: LEAK, question: LEAK }),
  ],
];

describe.each(engineCases().filter((c) => c.engine.name === "pglite"))(
  "a key in the agent's text never reaches GitHub ($title)",
  ({ engine, skip }) => {
    useGitHubNock();
    let db: Db;
    beforeEach(async () => {
      if (!skip) db = await engine.open();
    });
    afterEach(async () => {
      await db?.close();
    });

    test.skipIf(skip).each(leakyResults)("%s", async (_title, makeResult) => {
      githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
      const bodies: string[] = [];
      const gh = fakeGitHub(bodies);
      const h = await startHarness(db);
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation }),
      );
      await h.drain();
      const [run] = await findRunsByIssue(db, "Codertocat/Hello-World", 1);
      const attemptId = run!.state.stages.dev!.attempts[0]!.id;

      serveArtifact(makeResult(attemptId));
      await h.deliver("workflow_run", workflowRun(attemptId));
      await h.drain();

      // The result was read and rendered: the attempt finished and the status comment was rewritten from it.
      const [after] = await findRunsByIssue(db, "Codertocat/Hello-World", 1);
      const stored = after!.state.stages.dev!.attempts[0]!.result;
      expect(stored).toBeDefined();
      expect(gh.comments).not.toHaveLength(0);
      expect(bodies.some((b) => b.includes("[REDACTED]"))).toBe(true);
      // Neither GitHub nor the App's own store holds a key.
      for (const text of [...bodies, JSON.stringify(after!.state)])
        for (const fragment of FRAGMENTS) expect(text).not.toContain(fragment);
      expect(bodies.length).toBeGreaterThan(3);
      await h.close();
      nock.cleanAll();
    });
  },
);
