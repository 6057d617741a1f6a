/**
 * The App commits an agent's proposal, through the real App (Probot, store, worker) against a nock GitHub: the
 * commit with createCommitOnBranch on the branch the App names (created from the base), the refusals that fail the
 * stage with a check run naming the rule and the path, a branch that moved, and a retry after a crash.
 */
import { describe, expect, test } from "vitest";
import { findRunsByIssue } from "../../src/store/runs.js";
import { buildProposal, OLD_BLOB, proposalZip, type ProposedFile } from "../support/app-commits.js";
import { agentResult, type Harness, installation, useAppHarness } from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { agentRunPayload, BASE_SHA, fakeGitHub, OWNER } from "./batch-github.js";

const CONFIG = "protected_paths:\n  - infra/**\n";
const ISSUE = { number: 7, title: "Fix the login bug" };
const BRANCH = "trellis/7-fix-the-login-bug";

describe.each(engineCases())("the App commits an agent's proposal ($title)", ({ engine, skip }) => {
  useGitHubNock();
  const app = useAppHarness(engine, skip);
  let h: Harness | undefined;

  /** Label issue #7, let its dev attempt finish with a proposal of `changes`, and hand back what happened. */
  async function proposeAndFinish(
    changes: Record<string, ProposedFile>,
    before?: (gh: ReturnType<typeof fakeGitHub>, attemptId: string) => void,
  ) {
    githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
    const gh = fakeGitHub({ config: CONFIG, tasks: "" });
    // The default branch as the agent's base had it: the files it modifies or deletes.
    for (const [path, change] of Object.entries(changes))
      if (change === null || (typeof change === "object" && change.modified))
        gh.git.headFiles.set(path, OLD_BLOB);
    h = await app.start();
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, issue: ISSUE, installation }),
    );
    await h.drain();
    const inputs = gh.dispatches.find((d) => Number(d.issue) === ISSUE.number)!;
    const attemptId = inputs.attempt_id!;
    const runId = gh.workflowRuns.get(attemptId)!;
    const built = buildProposal(BASE_SHA, changes);
    gh.artifacts.set(runId, {
      attemptId,
      // The job's claims of a branch and head are ignored.
      zip: proposalZip(
        agentResult(attemptId, { proposal: built.proposal, branch: "main", headSha: "e".repeat(40) }),
        built,
      ),
    });
    before?.(gh, attemptId);
    await h.deliver(
      "workflow_run",
      agentRunPayload("completed", { stage: "dev", issue: ISSUE.number, attemptId, runId }),
    );
    await h.drain();
    const [run] = await findRunsByIssue(app.db(), `${OWNER}/Hello-World`, ISSUE.number);
    const attempt = run!.state.stages.dev!.attempts[0]!;
    return { gh, attemptId, attempt, stage: run!.state.stages.dev! };
  }

  test.skipIf(skip)(
    "an accepted proposal: branch created from the base, one commit, the PR from it",
    async () => {
      const { gh, attemptId, attempt } = await proposeAndFinish({
        "src/login.ts": "export const login = () => true;\n",
        "README.md": { content: "Login works.\n", modified: true },
        "old.txt": null,
      });
      expect(gh.git.refs).toEqual([{ ref: `refs/heads/${BRANCH}`, sha: BASE_SHA }]);
      expect(gh.git.commits).toHaveLength(1);
      const [commit] = gh.git.commits;
      expect(commit).toMatchObject({
        branch: BRANCH,
        expectedHeadOid: BASE_SHA,
        additions: [
          { path: "README.md", contents: Buffer.from("Login works.\n").toString("base64") },
          {
            path: "src/login.ts",
            contents: Buffer.from("export const login = () => true;\n").toString("base64"),
          },
        ],
        deletions: [{ path: "old.txt" }],
      });
      expect(commit!.body).toContain(`Trellis-Attempt: ${attemptId}`);
      expect(attempt.commit).toEqual({ branch: BRANCH, headSha: commit!.oid });
      expect(gh.pulls.map((p) => p.head)).toEqual([BRANCH]);
      // The result's check run also sits on the App's commit, not on the head the job claimed.
      expect(gh.checkRuns.some((r) => r.head_sha === commit!.oid && r.conclusion === "success")).toBe(true);
      expect(gh.checkRuns.some((r) => r.head_sha === "e".repeat(40))).toBe(false);
    },
  );

  test.skipIf(skip).each([
    ["a workflow", { ".github/workflows/ci.yml": "on: push\n" }, "workflow_file", ".github/workflows/ci.yml"],
    ["a protected path", { "infra/main.tf": "resource {}\n" }, "protected_path", "infra/main.tf"],
    ["a symlink", { secrets: { content: "/etc/passwd", mode: "120000" } }, "symlink", "secrets"],
    ["a new executable", { "run.sh": { content: "#!/bin/sh\n", mode: "100755" } }, "file_mode", "run.sh"],
  ] as const)(
    "%s is refused: nothing committed, the stage fails naming the rule and path",
    async (_what, changes, rule, path) => {
      const { gh, attempt, stage } = await proposeAndFinish({ "ok.txt": "fine\n", ...changes });
      expect(gh.git.commits).toEqual([]);
      expect(gh.git.refs).toEqual([]);
      expect(gh.pulls).toEqual([]);
      expect(attempt.refusal).toMatchObject({ rule, path });
      expect(attempt.commit).toBeUndefined();
      expect(stage.feedback.at(-1)).toContain(`rule ${rule} on ${path}`);
      const failed = gh.checkRuns.find((r) => r.conclusion === "failure")!;
      expect(failed.output?.title).toBe(`Refused: ${rule} (${path})`);
      expect(failed.output?.summary).toContain("The App refused the proposed change");
      expect(failed.output?.summary).toContain(rule.replace("_", "\\_"));
    },
  );

  test.skipIf(skip)(
    "a file that changed on the branch since the agent's base is refused as stale",
    async () => {
      const { gh, attempt } = await proposeAndFinish(
        { "a.txt": { content: "a\n", modified: true } },
        (gh) => {
          gh.git.branches.set(BRANCH, { sha: "f".repeat(40), message: "someone else's push" });
          gh.git.headFiles.set("a.txt", "2".repeat(40));
        },
      );
      expect(gh.git.commits).toEqual([]);
      expect(attempt.refusal).toMatchObject({ rule: "stale_base", path: "a.txt" });
    },
  );

  test.skipIf(skip)(
    "a branch that moved elsewhere: the commit goes on its head, never on the job's base",
    async () => {
      const moved = "f".repeat(40);
      const { gh, attempt } = await proposeAndFinish({ "a.txt": "a\n" }, (gh) =>
        gh.git.branches.set(BRANCH, { sha: moved, message: "a human's fix on the PR branch" }),
      );
      expect(gh.git.refs).toEqual([]);
      expect(gh.git.commits).toMatchObject([{ branch: BRANCH, expectedHeadOid: moved }]);
      expect(attempt.commit?.headSha).toBe(gh.git.commits[0]!.oid);
    },
  );

  test.skipIf(skip)(
    "a retry after a crash finds its own commit on the branch head and commits nothing again",
    async () => {
      const own = "c".repeat(40);
      const { gh, attempt } = await proposeAndFinish({ "a.txt": "a\n" }, (gh, attemptId) =>
        gh.git.branches.set(BRANCH, { sha: own, message: `Fix (#7, dev)\n\nTrellis-Attempt: ${attemptId}` }),
      );
      expect(gh.git.commits).toEqual([]);
      expect(gh.git.graphqlRequests).toBe(0);
      expect(attempt.commit).toEqual({ branch: BRANCH, headSha: own });
      expect(gh.pulls.map((p) => p.head)).toEqual([BRANCH]);
    },
  );

  test.skipIf(skip)(
    "a commit GitHub keeps failing is given up after the worker's retries: the stage fails, it does not wait",
    async () => {
      const { gh, attemptId } = await proposeAndFinish(
        { "a.txt": "a\n" },
        (gh) => (gh.git.state.outage = true),
      );
      for (let round = 0; round < 30; round++) {
        h!.clock.now += 10 * 60_000; // past the longest backoff (5 minutes)
        await h!.drain();
      }
      expect(gh.git.commits).toEqual([]);
      // Retried for an hour (src/store/backoff.ts attemptsWithin), then given up.
      expect(gh.git.graphqlRequests).toBe(24);
      const [run] = await findRunsByIssue(app.db(), `${OWNER}/Hello-World`, ISSUE.number);
      const attempt = run!.state.stages.dev!.attempts.find((a) => a.id === attemptId)!;
      expect(attempt.refusal).toMatchObject({ rule: "commit_failed" });
      // The stage's retry policy takes over: the next attempt is dispatched with the reason as feedback.
      expect(run!.state.stages.dev!.attempts.length).toBeGreaterThanOrEqual(2);
      expect(run!.state.stages.dev!.feedback[0]).toContain("commit_failed");
    },
  );

  test.skipIf(skip)(
    "a step GitHub refuses for good becomes a dead letter, told on the issue with the way to run it again",
    async () => {
      const { gh } = await proposeAndFinish({ "a.txt": "a\n" }, (gh) => {
        gh.faults.pulls = { status: 422, message: "Validation Failed: a pull request already exists" };
      });
      expect(gh.git.commits).toHaveLength(1);
      const notice = (gh.comments.get(ISSUE.number) ?? []).find((c) =>
        c.body.includes("could not open the pull request"),
      );
      expect(notice?.body).toMatch(/Validation Failed: a pull request already exists \(1 try\)/);
      const [dead] = (await app.db().query<{ id: number }>("SELECT id FROM outbox WHERE status = 'failed'"))
        .rows;
      expect(notice?.body).toContain(`trellis dead-letters --retry ${dead!.id}`);
    },
  );
});
