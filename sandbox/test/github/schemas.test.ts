import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GitHubServer, GitHubState, WorkflowRun } from "../../src/github/index.js";
import {
  addComment,
  addLabels,
  addProjectItem,
  createGitHubServer,
  createGitHubState,
  createIssue,
  createProject,
  graphqlProblems,
  handleGraphQL,
  installApp,
  mergePullRequest,
  nodeId,
  responseProblems,
  setItemField,
  webhookProblems,
} from "../../src/github/index.js";
import { examplePayload } from "../../../test/support/webhooks.js";

describe("the validators catch shapes GitHub's schemas refuse", () => {
  it("a REST answer with a field of the wrong type or a required field missing", () => {
    const issue = examplePayload("issues", "opened")["issue"] as Record<string, unknown>;
    expect(responseProblems("GET", "/repos/o/r/issues/1", 200, issue)).toEqual([]);
    const wrong: Record<string, unknown> = { ...issue, number: "1" };
    delete wrong["title"];
    expect(responseProblems("GET", "/api/v3/repos/o/r/issues/1?x=1", 200, wrong)).toEqual([
      "GET /repos/o/r/issues/1 → 200 (issues/get): (root) must have required property 'title'",
      "GET /repos/o/r/issues/1 → 200 (issues/get): /number must be integer",
    ]);
  });

  it("a status GitHub does not document for the operation, and a body where GitHub documents none", () => {
    expect(responseProblems("POST", "/repos/o/r/issues", 200, {})[0]).toMatch(
      /answered 200, which GitHub does not document for it \(documented: 201/,
    );
    expect(
      responseProblems("POST", "/repos/o/r/actions/workflows/w.yml/dispatches", 204, { ok: true }),
    ).toEqual([
      "POST /repos/o/r/actions/workflows/w.yml/dispatches → 204 (actions/create-workflow-dispatch) has a body, but GitHub documents none",
    ]);
    // An error GitHub does not list for an operation still has GitHub's error body.
    expect(responseProblems("GET", "/repos/o/r", 401, { message: "Bad credentials" })).toEqual([]);
    expect(responseProblems("GET", "/repos/o/r", 401, { message: 401 })).toEqual([
      "GET /repos/o/r → 401 (repos/get): /message must be string",
    ]);
  });

  it("a webhook payload that departs from @octokit/webhooks-schemas", () => {
    const payload = examplePayload("issues", "labeled");
    expect(webhookProblems("issues", payload)).toEqual([]);
    const issue = { ...(payload["issue"] as Record<string, unknown>), state: "merged" };
    expect(webhookProblems("issues", { ...payload, issue })).toContain(
      'webhook issues.labeled: /issue/state must be one of ["open","closed"]',
    );
    // GitHub's own webhook description has sub_issues_summary, which @octokit/webhooks-schemas lags behind; only
    // that exact field is exempt.
    const summary = { total: 0, completed: 0, percent_completed: 0 };
    const withSummary = { ...(payload["issue"] as Record<string, unknown>), sub_issues_summary: summary };
    expect(webhookProblems("issues", { ...payload, issue: withSummary })).toEqual([]);
    expect(webhookProblems("issues", { ...payload, issue: { ...withSummary, sparkles: 1 } })).toEqual([
      'webhook issues.labeled: /issue has "sparkles", which the schema does not allow',
    ]);
    expect(webhookProblems("no_such_event", {})).toEqual([
      "webhook no_such_event is not an event of @octokit/webhooks-schemas",
    ]);
  });

  it("a GraphQL result the stand-in could not complete under GitHub's schema", () => {
    const state = createGitHubState({ users: [{ login: "acme", type: "Organization" }] });
    const project = createProject(state, "acme", "Board");
    // A field type GitHub's ProjectV2FieldType enum does not have.
    (project.fields[0] as { dataType: string }).dataType = "SPARKLES";
    const answer = handleGraphQL(
      state,
      {
        query:
          '{ organization(login: "acme") { projectV2(number: 1) { fields(first: 5) { nodes { ... on ProjectV2FieldCommon { dataType } } } } } }',
      },
      "acme",
    );
    expect(graphqlProblems(answer)).toEqual([
      expect.stringMatching(
        /^GraphQL query at organization\.projectV2\.fields\.nodes\.0\.dataType: Enum "ProjectV2FieldType" cannot represent value: "SPARKLES"/,
      ),
    ]);
    // A custom scalar out of GitHub's documented format.
    project.createdAt = "yesterday";
    const dated = handleGraphQL(
      state,
      { query: '{ organization(login: "acme") { projectV2(number: 1) { createdAt } } }' },
      "acme",
    );
    expect(graphqlProblems(dated)).toEqual([
      'GraphQL query at organization.projectV2.createdAt: DateTime cannot represent value: "yesterday"',
    ]);
  });
});

describe("the stand-in speaks as GitHub documents", () => {
  let state: GitHubState;
  let github: GitHubServer;
  let receiver: ReturnType<typeof createServer>;

  beforeEach(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(202).end());
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    const port = (receiver.address() as AddressInfo).port;
    state = createGitHubState({
      users: [{ login: "acme", type: "Organization" }, "alice", "mallory"],
      installations: [],
      repos: [
        {
          owner: "acme",
          name: "web",
          files: { "README.md": "# web\n", ".github/trellis/agents/dev.md": "x" },
          collaborators: { alice: "maintain", mallory: "read" },
          workflows: [{ path: ".github/workflows/trellis-agent.yml", name: "Trellis agent" }],
        },
      ],
      userTokens: { "actions-token": "github-actions[bot]" },
    });
    github = await createGitHubServer(state, {
      webhook: { url: `http://127.0.0.1:${port}/api/github/webhooks`, secret: "s" },
    });
  });

  afterEach(async () => {
    await github.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  async function api(method: string, path: string, token: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${github.apiUrl}${path}`, {
      method,
      headers: { authorization: token, "content-type": "application/json" },
      redirect: "manual",
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
    return text && res.headers.get("content-type")?.includes("json") ? (JSON.parse(text) as unknown) : text;
  }

  it("in every answer and delivery of the traffic the App and the Action make (the e2e scenarios' routes)", async () => {
    const repo = state.repos.get("acme/web")!;
    const installation = installApp(state, "acme", [repo], "alice");
    const jwt = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln";
    await api("GET", "/app", jwt);
    const { token } = (await api("POST", `/app/installations/${installation.id}/access_tokens`, jwt)) as {
      token: string;
    };
    const app = `token ${token}`;
    const actions = "token actions-token";

    await api("GET", "/repos/acme/web", app);
    const branch = (await api("GET", "/repos/acme/web/branches/main", app)) as { commit: { sha: string } };
    await api("GET", "/repos/acme/web/contents/README.md?ref=main", app);
    await api("GET", "/repos/acme/web/contents/.github/trellis/agents?ref=main", app);
    await api("GET", "/repos/acme/web/collaborators/alice/permission", app);

    // A person opens and labels an issue and comments; the App answers.
    const issue = createIssue(state, repo, { title: "Login", body: "Please.", labels: [], user: "alice" });
    addLabels(state, repo, issue, ["agent:dev"], "alice");
    addComment(state, repo, issue, "/run", "alice");
    await api("GET", `/repos/acme/web/issues/${issue.number}`, actions);
    await api("GET", "/repos/acme/web/issues?state=all&labels=agent:dev", app);
    const comment = (await api("POST", `/repos/acme/web/issues/${issue.number}/comments`, app, {
      body: "<!-- trellis:status -->\nqueued",
    })) as { id: number };
    await api("PATCH", `/repos/acme/web/issues/comments/${comment.id}`, app, { body: "running" });
    await api("GET", `/repos/acme/web/issues/${issue.number}/comments?per_page=100`, app);
    await api("POST", `/repos/acme/web/issues/comments/${comment.id}/reactions`, app, { content: "eyes" });

    // A batch: tickets as sub-issues, one blocked by another.
    const child = (await api("POST", "/repos/acme/web/issues", app, { title: "A", body: "a" })) as {
      id: number;
      number: number;
    };
    const other = (await api("POST", "/repos/acme/web/issues", app, { title: "B", body: "b" })) as {
      number: number;
    };
    await api("POST", `/repos/acme/web/issues/${issue.number}/sub_issues`, app, { sub_issue_id: child.id });
    await api("GET", `/repos/acme/web/issues/${issue.number}/sub_issues`, app);
    await api("POST", `/repos/acme/web/issues/${other.number}/dependencies/blocked_by`, app, {
      issue_id: child.id,
    });
    await api("GET", `/repos/acme/web/issues/${other.number}/dependencies/blocked_by`, app);

    // A check run, a dispatched workflow whose run reports an artifact, re-run by a person.
    const check = (await api("POST", "/repos/acme/web/check-runs", app, {
      name: "Trellis / dev",
      head_sha: branch.commit.sha,
      external_id: "run:dev",
      status: "in_progress",
    })) as { id: number };
    const dispatched: WorkflowRun[] = [];
    github.onWorkflowDispatch((run) => dispatched.push(run));
    await api("POST", "/repos/acme/web/actions/workflows/trellis-agent.yml/dispatches", app, {
      ref: "main",
      inputs: { issue: String(issue.number) },
    });
    const run = dispatched[0]!;
    github.startWorkflowRun(run.id);
    github.completeWorkflowRun(run.id, {
      conclusion: "success",
      artifacts: [{ name: "result", zip: new Uint8Array([80, 75, 5, 6]) }],
    });
    const { artifacts } = (await api("GET", `/repos/acme/web/actions/runs/${run.id}/artifacts`, app)) as {
      artifacts: { id: number }[];
    };
    await api("GET", `/repos/acme/web/actions/artifacts/${artifacts[0]!.id}/zip`, app);
    await api("PATCH", `/repos/acme/web/check-runs/${check.id}`, app, {
      conclusion: "failure",
      output: {
        title: "failed",
        summary: "1 failing",
        annotations: [
          { path: "a.ts", start_line: 1, end_line: 1, annotation_level: "failure", message: "m" },
        ],
      },
    });
    await api("GET", `/repos/acme/web/commits/${branch.commit.sha}/check-runs?filter=all`, app);
    github.rerequestCheckRun(check.id, "alice");

    // The App's pull request, merged by a person, closes the issue.
    const backend = repo.backend as unknown as {
      commitFiles(b: string, f: Record<string, string>, m: string): string;
    };
    backend.commitFiles("trellis/1-login", { "login.ts": "export {}\n" }, "feat: login");
    await api("POST", "/repos/acme/web/pulls", app, {
      head: "trellis/1-login",
      base: "main",
      title: "Login",
      body: `Closes #${issue.number}`,
    });
    const [pr] = (await api("GET", "/repos/acme/web/pulls?head=acme:trellis/1-login&state=all", app)) as {
      number: number;
    }[];
    await mergePullRequest(state, repo, repo.issues.get(pr!.number)!, "alice");

    // A card moved on the organization's board.
    const project = createProject(state, "acme", "Trellis");
    const status = project.fields.find((f) => f.name === "Status")!;
    const item = addProjectItem(state, project, nodeId("I", issue.id));
    setItemField(state, project, item, status.id, { singleSelectOptionId: status.options[0]!.id }, "alice");
    await api("POST", "/graphql", app, {
      query: `query($n: Int!) { organization(login: "acme") { projectV2(number: $n) { id title
        fields(first: 20) { nodes { ... on ProjectV2FieldCommon { id name dataType }
          ... on ProjectV2SingleSelectField { options { id name } } } }
        items(first: 50) { nodes { id content { ... on Issue { number } }
          fieldValueByName(name: "Status") { ... on ProjectV2ItemFieldSingleSelectValue { optionId name } } } } } } }`,
      variables: { n: project.number },
    });

    await github.idle();
    expect(github.deliveries.length).toBeGreaterThan(15);
    expect(github.schemaProblems()).toEqual([]);
  });
});
