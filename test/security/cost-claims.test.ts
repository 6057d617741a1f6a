/**
 * Hostile: the cost in an attempt's result is the job's claim, and the job runs a model outsiders can steer. A forged
 * result claiming a huge cost must charge the run and the repository's month no more than the budget the dispatch
 * granted the attempt. Real Probot, real payloads, GitHub as nock.
 */
import { describe, expect, test } from "vitest";
import { listAudit } from "../../src/store/audit.js";
import { monthlyCost, yearMonthOf } from "../../src/store/costs.js";
import { findRunsByIssue } from "../../src/store/runs.js";
import { agentRunPayload, fakeGitHub, OWNER } from "../app/batch-github.js";
import { agentResult, type Harness, installation, resultZip, useAppHarness } from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";

const ISSUE = { number: 7, title: "Fix the login bug" };
const REPO_NAME = `${OWNER}/Hello-World`;

describe.each(engineCases())("an attempt's claimed cost ($title)", ({ engine, skip }) => {
  useGitHubNock();
  const app = useAppHarness(engine, skip);
  let h: Harness | undefined;

  test.skipIf(skip)("is charged at most the budget its dispatch granted", async () => {
    githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
    const gh = fakeGitHub({ config: "budgets:\n  per_run_usd: 3\n", tasks: "" });
    h = await app.start();
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, issue: ISSUE, installation }),
    );
    await h.drain();
    const inputs = gh.dispatches.find((d) => Number(d.issue) === ISSUE.number)!;
    const attemptId = inputs.attempt_id!;
    expect(JSON.parse(inputs.spec!)).toMatchObject({ costCapUsd: 3 });
    const [queued] = await findRunsByIssue(app.db(), REPO_NAME, ISSUE.number);
    expect(queued!.state.stages.dev!.attempts[0]).toMatchObject({ id: attemptId, costCapUsd: 3 });

    // The job's result claims $5,000.
    const runId = gh.workflowRuns.get(attemptId)!;
    gh.artifacts.set(runId, { attemptId, zip: resultZip(agentResult(attemptId, { costUsd: 5_000 })) });
    await h.deliver(
      "workflow_run",
      agentRunPayload("completed", { stage: "dev", issue: ISSUE.number, attemptId, runId }),
    );
    await h.drain();

    const [run] = await findRunsByIssue(app.db(), REPO_NAME, ISSUE.number);
    expect(run!.state.costUsd).toBe(3);
    expect(await monthlyCost(app.db(), REPO_NAME, yearMonthOf(h.app.deps.now()))).toBeCloseTo(3);
    const capped = (await listAudit(app.db(), { repo: REPO_NAME })).find((a) => a.action === "cost_capped");
    expect(capped?.detail).toMatchObject({ claimedUsd: 5_000, grantedUsd: 3, chargedUsd: 3 });
    const summary = gh.checkRuns.find((r) => r.status === "completed")?.output?.summary ?? "";
    expect(summary).toContain("**Cost:** $3.00 (the agent reported $5000.00, more than it was granted)");
  });
});
