/**
 * Hostile: the cost in an attempt's result is the job's claim, and the job runs a model outsiders can steer. A forged
 * result claiming a huge cost must charge the run and the repository's month no more than the budget the dispatch
 * granted the attempt. Real Probot, real payloads, GitHub as nock.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { runName } from "../../src/core/dispatch.js";
import { listAudit } from "../../src/store/audit.js";
import { monthlyCost, yearMonthOf } from "../../src/store/costs.js";
import type { Db } from "../../src/store/db.js";
import { findRunsByIssue } from "../../src/store/runs.js";
import { fakeGitHub, OWNER } from "../app/batch-github.js";
import {
  agentResult,
  INSTALLATION_ID,
  resultZip,
  startHarness,
  type Harness,
} from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";

const installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
const ISSUE = { number: 7, title: "Fix the login bug" };
const REPO_NAME = `${OWNER}/Hello-World`;

describe.each(engineCases())("an attempt's claimed cost ($title)", ({ engine, skip }) => {
  useGitHubNock();
  let db: Db;
  let h: Harness | undefined;
  beforeEach(async () => {
    if (skip) return;
    db = await engine.open();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await db?.close();
  });

  test.skipIf(skip)("is charged at most the budget its dispatch granted", async () => {
    githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
    const gh = fakeGitHub({ config: "budgets:\n  per_run_usd: 3\n", tasks: "" });
    h = await startHarness(db);
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, issue: ISSUE, installation }),
    );
    await h.drain();
    const inputs = gh.dispatches.find((d) => Number(d.issue) === ISSUE.number)!;
    const attemptId = inputs.attempt_id!;
    expect(JSON.parse(inputs.spec!)).toMatchObject({ costCapUsd: 3 });
    const [queued] = await findRunsByIssue(db, REPO_NAME, ISSUE.number);
    expect(queued!.state.stages.dev!.attempts[0]).toMatchObject({ id: attemptId, costCapUsd: 3 });

    // The job's result claims $5,000.
    const runId = gh.workflowRuns.get(attemptId)!;
    gh.artifacts.set(runId, { attemptId, zip: resultZip(agentResult(attemptId, { costUsd: 5_000 })) });
    await h.deliver(
      "workflow_run",
      examplePayload("workflow_run", "completed", {
        installation,
        workflow_run: {
          event: "workflow_dispatch",
          path: ".github/workflows/trellis-agent.yml",
          id: runId,
          display_title: runName({ stage: "dev", issue: ISSUE.number, attemptId }),
          status: "completed",
          conclusion: "success",
          html_url: `https://github.com/${REPO_NAME}/actions/runs/${runId}`,
          head_repository: { full_name: REPO_NAME },
          repository: { full_name: REPO_NAME },
        },
        repository: { full_name: REPO_NAME, name: "Hello-World", owner: { login: OWNER } },
      }),
    );
    await h.drain();

    const [run] = await findRunsByIssue(db, REPO_NAME, ISSUE.number);
    expect(run!.state.costUsd).toBe(3);
    expect(await monthlyCost(db, REPO_NAME, yearMonthOf(h.app.deps.now()))).toBeCloseTo(3);
    const capped = (await listAudit(db, { repo: REPO_NAME })).find((a) => a.action === "cost_capped");
    expect(capped?.detail).toMatchObject({ claimedUsd: 5_000, grantedUsd: 3, chargedUsd: 3 });
    const summary = gh.checkRuns.find((r) => r.status === "completed")?.output?.summary ?? "";
    expect(summary).toContain("**Cost:** $3.00 (the agent reported $5000.00, more than it was granted)");
  });
});
