import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Octokit } from "@octokit/rest";
import { Webhooks } from "@octokit/webhooks";
import { strToU8, zipSync } from "fflate";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RESULT_FILE, RESULT_VERSION, resultArtifactName } from "../../../src/core/result.js";
import { upsertCheckRun } from "../../../src/github/check-runs.js";
import type { GitHub } from "../../../src/github/client.js";
import { addReaction, upsertMarkedComment } from "../../../src/github/comments.js";
import { dispatchWorkflow } from "../../../src/github/dispatch.js";
import { addBlockedBy, addSubIssue, createIssue } from "../../../src/github/issues.js";
import { createPermissionChecker } from "../../../src/github/permissions.js";
import { openPullRequest } from "../../../src/github/pull-requests.js";
import { loadRepoFiles } from "../../../src/github/repo-files.js";
import { defaultBranch } from "../../../src/github/repos.js";
import { readAttemptResult } from "../../../src/github/results.js";
import type { GitHubServer, GitHubState, RequestLogEntry, WorkflowRun } from "../../src/github/index.js";
import {
  addComment,
  createGitHubServer,
  createGitHubState,
  createIssue as seedIssue,
} from "../../src/github/index.js";

const SECRET = "webhook-secret";
interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let state: GitHubState;
let github: GitHubServer;
let received: Received[];
let log: RequestLogEntry[];
let receiver: ReturnType<typeof createServer>;

beforeEach(async () => {
  received = [];
  log = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  const port = (receiver.address() as AddressInfo).port;
  state = createGitHubState({
    users: [{ login: "acme", type: "Organization" }, "alice"],
    repos: [
      {
        owner: "acme",
        name: "web",
        files: {
          ".github/trellis.yml": "parallel: 2\n",
          ".github/trellis/agents/dev.md": "---\nname: dev\n---\n",
        },
        collaborators: { alice: "maintain" },
        workflows: [
          {
            path: ".github/workflows/trellis-agent.yml",
            runName: "Trellis ${{ inputs.stage }} [trellis:${{ inputs.attempt_id }}]",
          },
        ],
      },
    ],
  });
  github = await createGitHubServer(state, {
    webhook: { url: `http://127.0.0.1:${port}/api/github/webhooks`, secret: SECRET },
    onRequest: (entry) => log.push(entry),
  });
});

afterEach(async () => {
  // Whatever a test did, the stand-in answered and delivered as GitHub's published schemas describe.
  expect(github.schemaProblems()).toEqual([]);
  await github.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

function installationOctokit(): GitHub {
  const [installation] = [...state.installations.values()];
  state.tokens.set("ghs_test", { kind: "installation", installationId: installation?.id ?? 0 });
  return new Octokit({ auth: "ghs_test", baseUrl: github.apiUrl }) as unknown as GitHub;
}

describe("webhooks", () => {
  it("sends deliveries GitHub-style, signed so that @octokit/webhooks verifies them", async () => {
    const repo = state.repos.get("acme/web");
    if (!repo) throw new Error("no repo");
    const issue = seedIssue(state, repo, { title: "Login", user: "alice", labels: ["agent:dev"] });
    addComment(state, repo, issue, "/run", "alice");
    await github.idle();
    expect(received.map((r) => `${String(r.headers["x-github-event"])}`)).toEqual([
      "issues",
      "issues",
      "issue_comment",
    ]);
    const webhooks = new Webhooks({ secret: SECRET });
    for (const r of received) {
      expect(await webhooks.verify(r.body, String(r.headers["x-hub-signature-256"]))).toBe(true);
      expect(r.headers["x-github-delivery"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.headers["user-agent"]).toMatch(/^GitHub-Hookshot\//);
    }
    const labeled = JSON.parse(received[1]?.body ?? "{}") as Record<string, Record<string, unknown>>;
    expect(labeled["action"]).toBe("labeled");
    expect(labeled["label"]).toMatchObject({ name: "agent:dev" });
    expect(labeled["issue"]).toMatchObject({ number: 1, title: "Login" });
    expect(labeled["repository"]).toMatchObject({ full_name: "acme/web" });
    expect(labeled["organization"]).toMatchObject({ login: "acme" });
    expect(labeled["sender"]).toMatchObject({ login: "alice" });
    expect(labeled["installation"]).toMatchObject({ id: [...state.installations.keys()][0] });
    expect(await webhooks.verify(received[0]?.body ?? "", "sha256=" + "0".repeat(64))).toBe(false);
  });

  it("emits a check_run rerequested when a human presses Re-run", async () => {
    const octokit = installationOctokit();
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/branches/{branch}", {
      owner: "acme",
      repo: "web",
      branch: "main",
    });
    const run = await upsertCheckRun(
      octokit,
      { owner: "acme", name: "web" },
      { name: "Trellis / dev", headSha: data.commit.sha, externalId: "r:dev", status: "queued" },
    );
    // Only a completed check run has a Re-run button.
    expect(() => github.rerequestCheckRun(run.id, "alice")).toThrow(/not rerequestable/);
    await upsertCheckRun(
      octokit,
      { owner: "acme", name: "web" },
      { name: "Trellis / dev", headSha: data.commit.sha, externalId: "r:dev", conclusion: "failure" },
    );
    github.rerequestCheckRun(run.id, "alice");
    await github.idle();
    const events = received.map((r) => JSON.parse(r.body) as { action: string; check_run: { id: number } });
    expect(events.map((e) => e.action)).toEqual(["created", "completed", "rerequested"]);
    expect(events[1]?.check_run.id).toBe(run.id);
  });
});

describe("H8's executors against the sandbox through a real Octokit", () => {
  it("creates issues, sub-issues, dependencies, comments, reactions, check runs, dispatches, results and PRs", async () => {
    const octokit = installationOctokit();
    const repo = { owner: "acme", name: "web" };

    expect(await defaultBranch(octokit, repo)).toBe("main");
    const files = await loadRepoFiles(octokit, repo, "main");
    expect([...files.keys()].sort()).toEqual([".github/trellis.yml", ".github/trellis/agents/dev.md"]);
    expect(await createPermissionChecker(1000)(octokit, repo, "alice")).toBe("maintain");
    expect(await createPermissionChecker(1000)(octokit, repo, "nobody")).toBe("none");

    const tracking = await createIssue(octokit, repo, { title: "Batch", body: "- [ ] a\n- [ ] b" });
    const a = await createIssue(octokit, repo, {
      title: "A",
      body: "a",
      marker: "<!-- trellis:ticket=a -->",
    });
    const again = await createIssue(octokit, repo, {
      title: "A",
      body: "a",
      marker: "<!-- trellis:ticket=a -->",
    });
    expect(again).toMatchObject({ number: a.number, created: false });
    const b = await createIssue(octokit, repo, { title: "B", body: "b", labels: ["agent:dev"] });
    expect(await addSubIssue(octokit, repo, tracking.number, a.id)).toEqual({ added: true });
    expect(await addSubIssue(octokit, repo, tracking.number, a.id)).toEqual({ added: false });
    expect(await addBlockedBy(octokit, repo, b.number, a.id)).toEqual({ added: true });
    expect(await addBlockedBy(octokit, repo, b.number, a.id)).toEqual({ added: false });

    const first = await upsertMarkedComment(octokit, repo, b.number, "<!-- trellis:status -->", "queued", {
      login: "trellis[bot]",
    });
    const second = await upsertMarkedComment(octokit, repo, b.number, "<!-- trellis:status -->", "running", {
      login: "trellis[bot]",
    });
    const third = await upsertMarkedComment(octokit, repo, b.number, "<!-- trellis:status -->", "running", {
      login: "trellis[bot]",
    });
    expect([first.action, second.action, third.action]).toEqual(["created", "updated", "unchanged"]);
    expect(second.id).toBe(first.id);
    await addReaction(octokit, repo, first.id, "eyes");
    await addReaction(octokit, repo, first.id, "eyes");

    const branch = await octokit.request("GET /repos/{owner}/{repo}/branches/{branch}", {
      owner: "acme",
      repo: "web",
      branch: "main",
    });
    const annotations = Array.from({ length: 60 }, (_, i) => ({
      path: "src/a.ts",
      start_line: i + 1,
      end_line: i + 1,
      annotation_level: "failure" as const,
      message: `m${i}`,
    }));
    const created = await upsertCheckRun(octokit, repo, {
      name: "Trellis / dev",
      headSha: branch.data.commit.sha,
      externalId: "run:dev",
      status: "in_progress",
    });
    const updated = await upsertCheckRun(octokit, repo, {
      name: "Trellis / dev",
      headSha: branch.data.commit.sha,
      externalId: "run:dev",
      conclusion: "failure",
      output: { title: "failed", summary: "2 failing", annotations },
    });
    expect(updated.id).toBe(created.id);
    expect(updated).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(state.repos.get("acme/web")?.checkRuns.get(created.id)?.annotations.length).toBe(60);

    // The stand-in runs nothing: the test plays the Action and reports a result artifact.
    const attemptId = "att_0123456789abc";
    const dispatched: WorkflowRun[] = [];
    github.onWorkflowDispatch((run) => dispatched.push(run));
    await dispatchWorkflow(octokit, repo, {
      workflowFile: "trellis-agent.yml",
      ref: "main",
      inputs: { attempt_id: attemptId, issue: String(b.number), stage: "dev", profile: "dev", spec: "{}" },
    });
    expect(dispatched[0]?.displayTitle).toBe(`Trellis dev [trellis:${attemptId}]`);
    const result = {
      version: RESULT_VERSION,
      attemptId,
      stage: "dev",
      profile: "dev",
      status: "succeeded",
      summary: "done",
    };
    github.completeWorkflowRun(dispatched[0]?.id ?? 0, {
      conclusion: "success",
      artifacts: [
        {
          name: resultArtifactName(attemptId),
          zip: zipSync({ [RESULT_FILE]: strToU8(JSON.stringify(result)) }),
        },
      ],
    });
    const read = await readAttemptResult(octokit, repo, dispatched[0]?.id ?? 0, attemptId);
    expect(read).toMatchObject({ ok: true, result: { status: "succeeded", summary: "done" } });

    const backend = state.repos.get("acme/web")?.backend as unknown as {
      commitFiles(b: string, f: Record<string, string>, m: string): string;
    };
    backend.commitFiles("trellis/3-b", { "b.ts": "export const b = 1;\n" }, "feat: b");
    const spec = {
      head: "trellis/3-b",
      base: "main",
      title: "B",
      body: "Adds b",
      issue: b.number,
      runId: "run_1",
    };
    const pr = await openPullRequest(octokit, repo, spec);
    expect(pr.created).toBe(true);
    expect((await openPullRequest(octokit, repo, spec)).number).toBe(pr.number);

    await github.idle();
    const routes = log.map((e) => `${e.method} ${e.url.replace(/\?.*$/, "")} ${e.status}`);
    expect(routes).toContain(`POST /api/v3/repos/acme/web/issues/${tracking.number}/sub_issues 201`);
    expect(log.every((e) => e.status < 500)).toBe(true);
    const events = received.map(
      (r) => `${String(r.headers["x-github-event"])}.${(JSON.parse(r.body) as { action: string }).action}`,
    );
    expect(events).toEqual(
      expect.arrayContaining([
        "issues.opened",
        "issue_comment.created",
        "workflow_run.requested",
        "workflow_run.completed",
        "pull_request.opened",
      ]),
    );
  });

  it("answers refused requests as GitHub would, through Octokit errors", async () => {
    const octokit = installationOctokit();
    await expect(
      octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/sub_issues", {
        owner: "acme",
        repo: "web",
        issue_number: 99,
        sub_issue_id: 1,
      }),
    ).rejects.toMatchObject({ status: 404 });
    await expect(
      octokit.request("POST /repos/{owner}/{repo}/issues", {
        owner: "acme",
        repo: "web",
        title: "x",
        colour: "red",
      } as never),
    ).rejects.toMatchObject({ status: 422, message: expect.stringMatching(/unknown body field "colour"/) });
    const body = { query: "{ viewer { login nope } }" };
    const gql = await fetch(`${github.url}/api/graphql`, {
      method: "POST",
      headers: { authorization: "token ghs_test" },
      body: JSON.stringify(body),
    });
    expect(((await gql.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
      "Field 'nope' doesn't exist on type 'User'",
    );
  });
});
