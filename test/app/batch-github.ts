/**
 * A stateful slice of GitHub for the batch App tests (nock, network disabled): issues, comments, sub-issues,
 * dependencies, check runs, dispatches, PRs, result artifacts. Every request is checked against GitHub's REST description.
 */
import { runName } from "../../src/core/dispatch.js";
import { resultArtifactName } from "../../src/core/result.js";
import { installation, INSTALLATION_ID } from "../support/app-harness.js";
import { githubApi } from "../support/github-routes.js";
import { fakeCommits } from "../support/app-commits.js";
import { examplePayload } from "../support/webhooks.js";

export const OWNER = "Codertocat";
export const REPO = `/repos/${OWNER}/Hello-World`;
export const BASE_SHA = "a".repeat(40);
const BOT = { login: "trellis[bot]", type: "Bot", id: 9 };

interface FakeIssue {
  number: number;
  id: number;
  title: string;
  body: string;
  labels: { name: string }[];
  /** The author (default Codertocat): an issue made with the App's installation token is its bot user's, "via" it. */
  user?: { login: string; type: string; id: number };
  performed_via_github_app?: { id: number; slug: string } | null;
}

const CODERTOCAT = { login: OWNER, type: "User", id: 1 };

/** The node id of pull request `number`, the same in every answer and webhook (as on GitHub). */
export const prNodeId = (number: number): string => `PR_kwDO${number}`;
const APP = { id: 123, slug: "trellis" };

export interface FakeGitHubOptions {
  /** `.github/trellis.yml`. */
  config: string;
  /** The tracking issue #1's body. */
  tasks: string;
  /** The number of the first issue it creates (tests sharing a database keep theirs apart). */
  firstIssue?: number;
}

export type FakeGitHub = ReturnType<typeof fakeGitHub>;

export function fakeGitHub({ config: CONFIG, tasks: TASKS, firstIssue = 10 }: FakeGitHubOptions) {
  const issues = new Map<number, FakeIssue>();
  const add = (number: number, title: string, body = "", user = CODERTOCAT) =>
    issues.set(number, {
      number,
      id: 5000 + number,
      title,
      body,
      labels: [],
      user,
      performed_via_github_app: null,
    });
  add(1, "Ship the API", TASKS);
  add(7, "Fix the login bug");
  let nextIssue = firstIssue;
  let nextComment = 900;
  let nextPr = 100;
  const comments = new Map<number, { id: number; body: string; user: typeof BOT }[]>();
  const subIssues = new Map<number, number[]>();
  const blockedBy = new Map<number, number[]>();
  const dispatches: Record<string, string>[] = [];
  /** The Actions run GitHub created for each dispatch, by the attempt id in its inputs. */
  const workflowRuns = new Map<string, number>();
  // Apart per scenario (tests sharing a database see earlier scenarios' runs time out and cancelled).
  let nextWorkflowRun = 80_000 + firstIssue * 1_000;
  /** Actions runs the App asked GitHub to cancel, in order. */
  const cancelled: number[] = [];
  const created: { title: string; body: string; labels?: string[] }[] = [];
  const pulls: { number: number; head: string; body: string; merged?: boolean }[] = [];
  const checkRuns: {
    id: number;
    head_sha: string;
    external_id: string;
    name: string;
    status: string;
    conclusion?: string;
    output?: { title: string; summary: string };
  }[] = [];
  const artifacts = new Map<number, { attemptId: string; zip: Buffer }>();
  // GitHub's `author_association`: the repository's owner, or (the App's bot, anyone else here) NONE.
  const authored = (i: FakeIssue) => {
    const issue = { user: CODERTOCAT, performed_via_github_app: null, ...i };
    return { ...issue, author_association: issue.user.login === OWNER ? "OWNER" : "NONE" };
  };
  const byId = (id: number) => [...issues.values()].find((i) => i.id === id)!;
  const issueOf = (uri: string) => Number(/\/issues\/(\d+)/.exec(uri)![1]);
  // A model of GitHub, not a list of expectations: each route answers whenever a scenario asks, and a
  // scenario may never ask some (so they are optional, and a test needs no nock.cleanAll() to end).
  // The App's own commits of the tickets' proposals (first: its contents route answers only the files it knows).
  const git = fakeCommits(REPO);
  /** Answers GitHub gives instead of the model's: a route refusing everything it is asked. */
  const faults: {
    pulls?: { status: number; message: string };
    /** The next dispatch / comment is made, but its answer is lost on the way back (a 502 instead). */
    dispatchAnswerLost?: boolean;
    commentAnswerLost?: boolean;
  } = {};
  const scope = githubApi().persist();
  type Uri = Parameters<typeof scope.get>[0];
  const api = {
    get: (uri: Uri) => scope.get(uri).optionally(),
    post: (uri: Uri) => scope.post(uri).optionally(),
    patch: (uri: Uri) => scope.patch(uri).optionally(),
  };
  api
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: "ghs_testtoken", expires_at: "2099-01-01T00:00:00Z" });
  api.get(/\/contents\/\.github(\/|%2F)trellis\.yml/).reply(200, {
    type: "file",
    name: "trellis.yml",
    path: ".github/trellis.yml",
    size: CONFIG.length,
    encoding: "base64",
    content: Buffer.from(CONFIG).toString("base64"),
  });
  api.get(/\/contents\//).reply(404, { message: "Not Found" });
  api
    .get(`${REPO}/collaborators/Codertocat/permission`)
    .reply(200, { permission: "admin", role_name: "admin", user: { login: "Codertocat" } });
  api
    .get(REPO)
    .reply(200, { id: 1, name: "Hello-World", full_name: `${OWNER}/Hello-World`, default_branch: "main" });
  api.get(`${REPO}/branches/main`).reply(200, { name: "main", commit: { sha: BASE_SHA } });
  // Issues: the marker scan (newest first), creation, lookup.
  api
    .get(`${REPO}/issues`)
    .query(true)
    .reply(200, () => [...issues.values()].map(authored).sort((a, b) => b.number - a.number));
  api.post(`${REPO}/issues`).reply((_uri, body) => {
    const b = body as { title: string; body: string; labels?: string[] };
    created.push(b);
    const number = nextIssue++;
    issues.set(number, {
      number,
      id: 5000 + number,
      title: b.title,
      body: b.body,
      labels: [],
      user: BOT,
      performed_via_github_app: APP,
    });
    return [
      201,
      { ...issues.get(number), node_id: `I_${number}`, html_url: `https://github.com/x/${number}` },
    ];
  });
  api.get(/\/issues\/\d+$/).reply((uri) => {
    const issue = issues.get(issueOf(uri));
    return issue
      ? [200, { ...authored(issue), node_id: `I_${issue.number}` }]
      : [404, { message: "Not Found" }];
  });
  // Comments.
  api.get(/\/issues\/\d+\/comments/).reply((uri) => [200, comments.get(issueOf(uri)) ?? []]);
  api.post(/\/issues\/\d+\/comments$/).reply((uri, body) => {
    const list = comments.get(issueOf(uri)) ?? [];
    const c = { id: nextComment++, body: (body as { body: string }).body, user: BOT };
    list.push(c);
    comments.set(issueOf(uri), list);
    if (faults.commentAnswerLost) {
      faults.commentAnswerLost = false;
      return [502, { message: "Server Error" }];
    }
    return [201, c];
  });
  api.patch(/\/issues\/comments\/\d+$/).reply((uri, body) => {
    const c = [...comments.values()].flat().find((x) => uri.endsWith(`/${x.id}`))!;
    c.body = (body as { body: string }).body;
    return [200, c];
  });
  api.post(/\/issues\/comments\/\d+\/reactions$/).reply(201, { id: 1, content: "eyes" });
  // Sub-issues and dependencies (REST ids in, issues out).
  api.get(/\/issues\/\d+\/sub_issues/).reply((uri) => [200, (subIssues.get(issueOf(uri)) ?? []).map(byId)]);
  api.post(/\/issues\/\d+\/sub_issues$/).reply((uri, body) => {
    const list = subIssues.get(issueOf(uri)) ?? [];
    // GitHub Docs, "Adding sub-issues": at most 100 sub-issues per parent issue.
    if (list.length >= 100)
      return [
        422,
        {
          message: "Validation Failed",
          errors: [
            {
              resource: "Issue",
              field: "sub_issue_id",
              code: "custom",
              message: "Parent issue cannot have more than 100 sub-issues",
            },
          ],
        },
      ];
    list.push((body as { sub_issue_id: number }).sub_issue_id);
    subIssues.set(issueOf(uri), list);
    return [201, issues.get(issueOf(uri))];
  });
  api
    .get(/\/issues\/\d+\/dependencies\/blocked_by/)
    .reply((uri) => [200, (blockedBy.get(issueOf(uri)) ?? []).map(byId)]);
  api.post(/\/issues\/\d+\/dependencies\/blocked_by$/).reply((uri, body) => {
    const list = blockedBy.get(issueOf(uri)) ?? [];
    list.push((body as { issue_id: number }).issue_id);
    blockedBy.set(issueOf(uri), list);
    return [201, issues.get(issueOf(uri))];
  });
  // Check runs.
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
      ...(b.conclusion ? { conclusion: b.conclusion } : {}),
      ...(b.output ? { output: b.output as unknown as { title: string; summary: string } } : {}),
    };
    checkRuns.push(run);
    return [201, run];
  });
  api.patch(/\/check-runs\/\d+$/).reply((uri, body) => {
    const run = checkRuns.find((r) => uri.endsWith(`/${r.id}`))!;
    const b = body as { status?: string; conclusion?: string; output?: { title: string; summary: string } };
    run.status = b.status ?? run.status;
    if (b.conclusion) run.conclusion = b.conclusion;
    if (b.output) run.output = b.output;
    return [200, run];
  });
  // Dispatches, pull requests, result artifacts.
  // "Create a workflow dispatch event" (https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event;
  // https://github.blog/changelog/2026-02-19-workflow-dispatch-api-now-returns-run-ids): 204 No Content, or with
  // `return_run_details: true` 200 with the new run's id and URLs.
  api.post(`${REPO}/actions/workflows/trellis-agent.yml/dispatches`).reply((_uri, body) => {
    const b = body as { inputs: Record<string, string>; return_run_details?: boolean };
    dispatches.push(b.inputs);
    if (b.return_run_details !== true) return [204];
    const id = nextWorkflowRun++;
    if (b.inputs.attempt_id) workflowRuns.set(b.inputs.attempt_id, id);
    if (faults.dispatchAnswerLost) {
      faults.dispatchAnswerLost = false;
      return [502, { message: "Server Error" }];
    }
    return [
      200,
      {
        workflow_run_id: id,
        run_url: `https://api.github.com${REPO}/actions/runs/${id}`,
        html_url: `https://github.com/${OWNER}/Hello-World/actions/runs/${id}`,
      },
    ];
  });
  // "List workflow runs for a workflow": the dispatched runs, newest first, named by the agent workflow's run-name.
  api
    .get(`${REPO}/actions/workflows/trellis-agent.yml/runs`)
    .query(true)
    .reply(() => {
      const runs = [...workflowRuns].reverse().map(([attemptId, id]) => {
        const inputs = dispatches.find((d) => d.attempt_id === attemptId)!;
        return {
          id,
          display_title: runName({ stage: inputs.stage!, issue: Number(inputs.issue), attemptId }),
          html_url: `https://github.com/${OWNER}/Hello-World/actions/runs/${id}`,
        };
      });
      return [200, { total_count: runs.length, workflow_runs: runs }];
    });
  // "Cancel a workflow run" (https://docs.github.com/rest/actions/workflow-runs#cancel-a-workflow-run): 202 Accepted.
  // Every request is recorded, so a test sees a repeated cancel.
  api.post(/\/actions\/runs\/\d+\/cancel$/).reply((uri) => {
    const id = Number(/runs\/(\d+)\/cancel/.exec(uri)![1]);
    cancelled.push(id);
    return [202, {}];
  });
  api
    .get(`${REPO}/pulls`)
    .query(true)
    .reply(200, (uri) => {
      const head = new URL(uri, "https://api.github.com").searchParams.get("head")?.split(":").at(-1);
      return pulls
        .filter((p) => head === undefined || p.head === head)
        .map((p) => ({
          number: p.number,
          html_url: `https://github.com/x/pull/${p.number}`,
          node_id: prNodeId(p.number),
          head: { ref: p.head },
        }));
    });
  api.post(`${REPO}/pulls`).reply((_uri, body) => {
    if (faults.pulls) return [faults.pulls.status, { message: faults.pulls.message }];
    const b = body as { head: string; body: string };
    const number = nextPr++;
    pulls.push({ number, head: b.head, body: b.body });
    return [201, { number, html_url: `https://github.com/x/pull/${number}`, node_id: prNodeId(number) }];
  });
  // One PR, read back when its issue is closed (was it the merge?).
  api.get(/\/pulls\/\d+$/).reply((uri) => {
    const pr = pulls.find((p) => uri.endsWith(`/pulls/${p.number}`));
    if (!pr) return [404, { message: "Not Found" }];
    const state = pr.merged ? "closed" : "open";
    return [
      200,
      {
        number: pr.number,
        node_id: prNodeId(pr.number),
        state,
        merged: pr.merged === true,
        head: { ref: pr.head },
      },
    ];
  });
  api.get(/\/actions\/runs\/\d+\/artifacts/).reply((uri) => {
    const id = Number(/runs\/(\d+)/.exec(uri)![1]);
    return [
      200,
      {
        total_count: 1,
        artifacts: [
          {
            id,
            name: resultArtifactName(artifacts.get(id)?.attemptId ?? "none"),
            size_in_bytes: 600,
            expired: false,
          },
        ],
      },
    ];
  });
  api.get(/\/actions\/artifacts\/\d+\/zip/).reply((uri) => {
    const id = /artifacts\/(\d+)/.exec(uri)![1];
    return [302, "", { location: `https://blob.example.test/artifact-${id}.zip` }];
  });
  githubApi("https://blob.example.test")
    .persist()
    .get(/\/artifact-\d+\.zip/)
    .optionally()
    .reply((uri) => [
      200,
      artifacts.get(Number(/artifact-(\d+)/.exec(uri)![1]))?.zip,
      { "content-type": "application/zip" },
    ]);
  /** An issue someone else opens (by hand, not through the App). */
  const plant = (title: string, body: string, user: FakeIssue["user"]): number => {
    const number = nextIssue++;
    add(number, title, body, user);
    return number;
  };
  return {
    git,
    faults,
    checkRuns,
    issues,
    comments,
    subIssues,
    blockedBy,
    dispatches,
    workflowRuns,
    cancelled,
    created,
    pulls,
    artifacts,
    plant,
  };
}

/**
 * GitHub's `workflow_run` webhook (the example payload) for the agent workflow's Actions run `runId` of an attempt,
 * in this fake's repository: named as the installed workflow names it, dispatched, `success` once completed.
 */
export function agentRunPayload(
  action: "requested" | "completed",
  run: { stage: string; issue: number; attemptId: string; runId: number; conclusion?: "success" | "failure" },
) {
  const done = action === "completed";
  return examplePayload("workflow_run", action, {
    installation,
    workflow_run: {
      event: "workflow_dispatch",
      path: ".github/workflows/trellis-agent.yml",
      id: run.runId,
      display_title: runName({ stage: run.stage, issue: run.issue, attemptId: run.attemptId }),
      status: done ? "completed" : "queued",
      conclusion: done ? (run.conclusion ?? "success") : null,
      html_url: `https://github.com/${OWNER}/Hello-World/actions/runs/${run.runId}`,
      head_repository: { full_name: `${OWNER}/Hello-World` },
      repository: { full_name: `${OWNER}/Hello-World` },
    },
    repository: { full_name: `${OWNER}/Hello-World`, name: "Hello-World", owner: { login: OWNER } },
  });
}
