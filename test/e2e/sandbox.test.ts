/**
 * End to end in the offline sandbox: the real App (Probot server, PGlite) against the GitHub stand-in, workflows run
 * by the real Action bundle with the real Claude Code CLI against the scripted Messages API. One sandbox serves the
 * whole file; the scenarios work on different issues and run concurrently.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RunState } from "../../src/core/model.js";
import { startSandbox, type Sandbox } from "../../sandbox/src/sandbox.js";
import { repoFiles } from "../../sandbox/src/scenario.js";
import {
  addProjectItem,
  GITHUB_ACTIONS_APP,
  nodeId,
  setItemField,
  type Issue,
  type MergeDeliveryOrder,
} from "../../sandbox/src/github/index.js";
import { findRunsByIssue } from "../../src/store/runs.js";

const TIMEOUT = 240_000;
let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({
    repos: [
      { name: "tiny-shop", files: repoFiles({ board: true }) },
      // parallel_limit out of range on line 3: the App must say where.
      {
        name: "broken-shop",
        files: repoFiles({ files: { ".github/trellis.yml": "# broken\nbatch:\n  parallel_limit: 0\n" } }),
      },
    ],
  });
}, 120_000);

afterAll(async () => {
  await sb?.stop();
}, 60_000);

async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 180_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function latestRun(issue: number, repo = "octo-org/tiny-shop"): Promise<RunState | undefined> {
  return (await findRunsByIssue(sb.app.deps.db, repo, issue)).at(-1)?.state;
}

const waitRun = (issue: number, what: string, ok: (r: RunState) => boolean): Promise<RunState> =>
  until(`#${issue}: ${what}`, async () => {
    const run = await latestRun(issue);
    return run && ok(run) ? run : undefined;
  });

const prFor = (issue: number): Issue | undefined =>
  [...sb.repo().issues.values()].find(
    (i) => i.pull && new RegExp(`\\b(?:Closes|Fixes|Resolves) #${issue}\\b`, "i").test(i.body ?? ""),
  );

/**
 * Waits for the App's pull request for `issue`, merges it as a maintainer, returns it and when it was merged.
 * The merge closes the issue too (`Closes #N`); `order` says which of the two deliveries leaves first.
 */
async function mergeWhenOpen(
  issue: number,
  order?: MergeDeliveryOrder,
): Promise<{ pr: Issue; mergedAt: number }> {
  const pr = await sb.waitFor(`a pull request for #${issue}`, () => prFor(issue), 180_000);
  expect(pr.user).toBe("trellis[bot]");
  await sb.human.merge(pr.number, undefined, undefined, order);
  return { pr, mergedAt: Date.now() };
}

const botComments = (issue: number, repo?: string): string[] =>
  [...sb.repo(repo).comments.values()]
    .filter((c) => c.issueNumber === issue && c.user === "trellis[bot]")
    .map((c) => c.body);

const checkRunsOf = (runId: string) =>
  [...sb.repo().checkRuns.values()].filter((c) => c.externalId?.includes(runId));

describe.concurrent("Trellis in the sandbox", () => {
  test(
    "a single issue: label → real Action and CLI → check run → PR → merged (the issue's close delivered first) → done",
    async () => {
      const issue = sb.human.openIssue({ title: "Add a greeting helper", body: "Say hello to customers." });
      sb.human.label(issue.number, "agent:dev");
      const { pr } = await mergeWhenOpen(issue.number, "issues_first");
      const run = await waitRun(issue.number, "succeeded", (r) => r.status === "succeeded");

      expect(sb.repo().issues.get(issue.number)?.state).toBe("closed");
      expect(pr.pull?.merged).toBe(true);
      const attempt = run.stages["dev"]?.attempts[0];
      expect(attempt?.result?.status).toBe("succeeded");
      expect(attempt?.result?.filesChanged).toEqual([
        "src/add-a-greeting-helper.js",
        "test/add-a-greeting-helper.test.js",
      ]);
      // The agent's code is on main after the merge.
      const main = await sb.repo().backend.resolve("main");
      const file = await sb.repo().backend.read(main!, "src/add-a-greeting-helper.js");
      expect(file?.type === "file" && file.content.toString()).toContain(
        "export function addAGreetingHelper",
      );
      expect(checkRunsOf(run.id).every((c) => c.status === "completed" && c.conclusion === "success")).toBe(
        true,
      );
      await sb.waitFor(
        "the status comment says so",
        () => botComments(issue.number).some((b) => /Succeeded/.test(b)),
        90_000,
      );
      // The agent's job pushed nothing: the App committed its proposal (createCommitOnBranch) and opened the PR with
      // its own token, so the repository's CI ran on that commit twice, for the push and for the pull request.
      const head = pr.pull!.headSha;
      expect(attempt?.commit).toEqual({ branch: pr.pull!.head, headSha: head });
      const ciRuns = await sb.waitFor(
        "CI on the App's commit, for its push and its pull request",
        () => {
          // (The merge may fast-forward main to the same commit: main's own CI run is not counted here.)
          const runs = [...sb.repo().workflowRuns.values()].filter(
            (r) =>
              r.headSha === head &&
              r.status === "completed" &&
              (r.event === "pull_request" || (r.event === "push" && r.headBranch === pr.pull!.head)),
          );
          return runs.length === 2 ? runs : undefined;
        },
        90_000,
      );
      expect(ciRuns.map((r) => [r.event, r.conclusion]).sort()).toEqual([
        ["pull_request", "success"],
        ["push", "success"],
      ]);
      const ciChecks = [...sb.repo().checkRuns.values()].filter(
        (c) => c.headSha === head && c.appId === GITHUB_ACTIONS_APP.id,
      );
      expect(ciChecks.length).toBeGreaterThanOrEqual(2);
      expect(ciChecks.every((c) => c.name === "test" && c.conclusion === "success")).toBe(true);
      // The Action read the issue with the workflow's token.
      const byAction = sb.requests.filter((r) => r.by === "user:github-actions[bot]").map((r) => r.url);
      expect(byAction).toContain(`/api/v3/repos/octo-org/tiny-shop/issues/${issue.number}`);
    },
    TIMEOUT,
  );

  test(
    "a batch with dependencies: tickets refined, created and linked, a dependent starts only after its dependency merged",
    async () => {
      const tracking = sb.human.openIssue({
        title: "Menu milestone",
        body: "- [ ] [parse] Parse the menu est: 1\n- [ ] [price] Price the menu est: 1 depends on [parse]\n- [ ] [print] Print the menu est: 1\n",
      });
      sb.human.label(tracking.number, "trellis:batch");
      const tickets = await sb.waitFor(
        "three ticket issues",
        () => {
          const ids = sb.repo().issues.get(tracking.number)?.subIssues ?? [];
          const found = ids.map((id) => [...sb.repo().issues.values()].find((i) => i.id === id));
          return found.length === 3 && found.every((i) => i !== undefined) ? found : undefined;
        },
        120_000,
      );
      const [parse, price, print] = tickets as [Issue, Issue, Issue];
      // Each raw line was refined by the refine agent (the real CLI, scripted model) before its issue was created.
      expect(parse.title).toBe("Parse the menu (refined)");
      expect(parse.body).toContain("## Acceptance criteria\n\n- [ ] `src/` exports `parseTheMenu`");
      expect(parse.body).toContain(`Part of #${tracking.number}`);
      expect(parse.body).not.toMatch(/^est:|^labels:/m);
      expect(parse.labels).toEqual(expect.arrayContaining(["type:feature", "area:shop"]));
      const refines = sb.runner.jobs.filter((j) => j.issue === tracking.number && j.stage === "refine");
      expect(refines).toHaveLength(3);
      expect(refines.every((j) => j.resultStatus === "succeeded")).toBe(true);
      await sb.waitFor(
        "price blocked by parse",
        () => price.blockedBy.includes(parse.id) || undefined,
        90_000,
      );

      // GitHub fixes no order between a merge's two deliveries: one ticket each way.
      const merges = await Promise.all([
        mergeWhenOpen(parse.number, "issues_first"),
        mergeWhenOpen(print.number, "pull_request_first"),
      ]);
      await mergeWhenOpen(price.number);
      await sb.waitFor(
        "the batch finished",
        () => botComments(tracking.number).some((b) => /Batch finished/.test(b)),
        60_000,
      );
      const job = (n: number) => sb.runner.jobs.find((j) => j.issue === n)!;
      expect(job(price.number).startedAt).toBeGreaterThanOrEqual(merges[0].mergedAt);
      // parse and print ran side by side (parallel limit 2).
      expect(job(print.number).startedAt).toBeLessThan(job(parse.number).finishedAt!);
      for (const t of tickets) expect(sb.repo().issues.get(t!.number)?.state).toBe("closed");
      // Each ticket's run ended as merged, whichever of its merge's deliveries came first.
      for (const t of tickets) expect((await latestRun(t!.number))?.status).toBe("succeeded");
      const status = botComments(tracking.number).find((b) => b.includes("trellis:batch-status"));
      expect(status).toContain("flowchart");
    },
    TIMEOUT,
  );

  test(
    "a failed stage retried with the check run's Re-run",
    async () => {
      const issue = sb.human.openIssue({ title: "Flaky stock counter", body: "Count the stock." });
      sb.human.label(issue.number, "workflow:ship");
      const first = await waitRun(
        issue.number,
        "the first attempt failed",
        (r) => r.stages["dev"]?.attempts[0]?.result?.status === "failed",
      );
      const failed = await sb.waitFor(
        "a failed check run",
        () => checkRunsOf(first.id).find((c) => c.status === "completed" && c.conclusion === "failure"),
        90_000,
      );
      expect(first.stages["dev"]?.attempts[0]?.result?.reason).toMatch(/tests_pass/);
      sb.human.rerun(failed.id, "octocat");
      await mergeWhenOpen(issue.number);
      const run = await waitRun(issue.number, "succeeded", (r) => r.status === "succeeded");
      expect(run.stages["dev"]?.attempts.map((a) => a.result?.status)).toEqual(["failed", "succeeded"]);
    },
    TIMEOUT,
  );

  test(
    "an approval gate: a reader's /approve is refused, a maintainer's /approve lets the BDD stage open its PR",
    async () => {
      const issue = sb.human.openIssue({
        title: "Cart: adding apples",
        body: "Make the cart scenarios pass.",
      });
      sb.human.label(issue.number, "workflow:cart-bdd");
      const waiting = await waitRun(
        issue.number,
        "waiting for approval",
        (r) => r.stages["steps"]?.waitingFor === "approval",
      );
      const result = waiting.stages["steps"]?.attempts[0]?.result;
      expect(result?.scenarios?.map((s) => [s.name, s.status])).toEqual([["Adding apples", "passed"]]);
      expect(prFor(issue.number)).toBeUndefined();

      sb.human.comment(issue.number, "/approve", "mallory");
      await sb.waitFor(
        "the refusal",
        () => botComments(issue.number).some((b) => /only people with the/.test(b)),
        90_000,
      );
      expect((await latestRun(issue.number))?.stages["steps"]?.approvals).toEqual([]);

      sb.human.comment(issue.number, "/approve", "octocat");
      await mergeWhenOpen(issue.number);
      const run = await waitRun(issue.number, "succeeded", (r) => r.status === "succeeded");
      expect(run.stages["steps"]?.approvals).toEqual(["octocat"]);
    },
    TIMEOUT,
  );

  test(
    "a question answered with /answer: the next attempt sees the answer",
    async () => {
      const issue = sb.human.openIssue({ title: "Rounding question for totals", body: "Round the totals." });
      sb.human.label(issue.number, "agent:dev");
      await waitRun(issue.number, "waiting for an answer", (r) => r.stages["dev"]?.waitingFor === "answer");
      await sb.waitFor(
        "the question on the issue",
        () => botComments(issue.number).some((b) => b.includes("half-up or half-even")),
        90_000,
      );
      sb.human.comment(issue.number, "/answer half-even, like the bank", "octocat");
      await mergeWhenOpen(issue.number);
      const run = await waitRun(issue.number, "succeeded", (r) => r.status === "succeeded");
      expect(run.stages["dev"]?.attempts.map((a) => a.result?.status)).toEqual(["needs_input", "succeeded"]);
      const prompts = sb.anthropic.requests
        .filter((r) => r.agentTurn)
        .map((r) => JSON.stringify(r.body?.messages[0]));
      expect(prompts.some((p) => p.includes("half-even, like the bank"))).toBe(true);
    },
    TIMEOUT,
  );

  test(
    "moving a card to Ready on the Projects board starts the workflow, and the card ends in Done",
    async () => {
      // The App creates its "Trellis" project for the organisation on first use (the other scenarios use it).
      const project = await sb.waitFor(
        "the Trellis project with its Status options",
        () =>
          sb.state.projects.find(
            (p) => p.title === "Trellis" && p.fields.some((f) => f.options.some((o) => o.name === "Ready")),
          ),
        150_000,
      );
      const status = project.fields.find((f) => f.name === "Status")!;
      const option = (name: string) => status.options.find((o) => o.name === name)!.id;
      const issue = sb.human.openIssue({ title: "Show prices in euros", body: "€ please." });
      const item = addProjectItem(sb.state, project, nodeId("I", issue.id));
      setItemField(sb.state, project, item, status.id, { singleSelectOptionId: option("Ready") }, "octocat");

      await sb.waitFor(
        "the workflow to start",
        () => sb.runner.jobs.find((j) => j.issue === issue.number),
        120_000,
      );
      await mergeWhenOpen(issue.number);
      await waitRun(issue.number, "succeeded", (r) => r.status === "succeeded");
      await sb.waitFor(
        "the card in Done",
        () => {
          const v = item.values.get(status.id);
          return v !== undefined && "singleSelectOptionId" in v && v.singleSelectOptionId === option("Done");
        },
        60_000,
      );
    },
    TIMEOUT,
  );

  test(
    "a slash command from a user without permission is refused and nothing runs",
    async () => {
      const issue = sb.human.openIssue({ title: "Make it faster", body: "Please.", by: "mallory" });
      sb.human.comment(issue.number, "/run", "mallory");
      await sb.waitFor(
        "the refusal",
        () =>
          botComments(issue.number).some((b) => /only people with the admin, maintain, write role/.test(b)),
        60_000,
      );
      expect(await findRunsByIssue(sb.app.deps.db, "octo-org/tiny-shop", issue.number)).toHaveLength(0);
      expect(sb.runner.jobs.some((j) => j.issue === issue.number)).toBe(false);
    },
    TIMEOUT,
  );

  test(
    "a malformed config is reported with its location, and nothing runs",
    async () => {
      const issue = sb.human.openIssue({ title: "Anything", repo: "broken-shop" });
      sb.human.label(issue.number, "agent:dev", "octocat", "broken-shop");
      const reply = await sb.waitFor(
        "the config error",
        () => botComments(issue.number, "broken-shop").find((b) => /trellis\.yml/.test(b)),
        60_000,
      );
      expect(reply).toMatch(/\.github\/trellis\.yml:3:\d+: error/);
      expect(reply).toContain("npx trellis validate");
      expect(await findRunsByIssue(sb.app.deps.db, "octo-org/broken-shop", issue.number)).toHaveLength(0);
    },
    TIMEOUT,
  );
});

// GitHub's documents are the specification: every REST answer, GraphQL result and webhook the stand-in gave while
// the scenarios above ran fits GitHub's published schemas.
test("every answer and delivery of the stand-in fits GitHub's published schemas", () => {
  expect(sb.github.schemaProblems()).toEqual([]);
});
