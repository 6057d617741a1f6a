/**
 * Exactly once where GitHub can tell, through the real App against a stateful nock GitHub: GitHub does the work but
 * its answer is lost (a 502 after the dispatch or the comment was made). The retry asks GitHub what the earlier try
 * did — the run named by the attempt id, the comment carrying the reply's hidden marker — and does nothing twice.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { Db } from "../../src/store/db.js";
import { findRunsByIssue } from "../../src/store/runs.js";
import { INSTALLATION_ID, startHarness, type Harness } from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { fakeGitHub, OWNER } from "./batch-github.js";

const installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
const ISSUE = { number: 7, title: "Fix the login bug" };

describe.each(engineCases())("exactly once ($title)", ({ engine, skip }) => {
  useGitHubNock();
  let db: Db;
  let h: Harness | undefined;
  beforeEach(async () => {
    if (skip) return;
    db = await engine.open();
    githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await db?.close();
  });

  /** Drains until nothing is due, moving the App's clock past each retry's backoff. */
  async function settle(rounds = 5) {
    for (let i = 0; i < rounds; i++) {
      await h!.drain();
      h!.clock.now += 60_000;
    }
  }

  test.skipIf(skip)("a dispatch whose answer was lost is found by its run name, not sent again", async () => {
    const gh = fakeGitHub({ config: "", tasks: "" });
    gh.faults.dispatchAnswerLost = true;
    h = await startHarness(db);
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation, issue: ISSUE }),
    );
    await settle();
    expect(gh.dispatches).toHaveLength(1);
    const attemptId = gh.dispatches[0]!.attempt_id!;
    const [run] = await findRunsByIssue(db, `${OWNER}/Hello-World`, ISSUE.number);
    expect(run!.state.stages.dev!.attempts).toHaveLength(1);
    expect(run!.state.stages.dev!.attempts[0]!.workflowRunId).toBe(gh.workflowRuns.get(attemptId));
  });

  test.skipIf(skip)(
    "a reply whose answer was lost is found by its hidden marker, not posted again",
    async () => {
      const gh = fakeGitHub({ config: "", tasks: "" });
      gh.faults.commentAnswerLost = true;
      h = await startHarness(db);
      await h.deliver(
        "issue_comment",
        examplePayload("issue_comment", "created", {
          comment: { body: "/help" },
          installation,
          issue: ISSUE,
        }),
      );
      await settle();
      const helps = (gh.comments.get(ISSUE.number) ?? []).filter((c) => c.body.includes("/approve"));
      expect(helps).toHaveLength(1);
      expect(helps[0]!.body).toMatch(/<!-- trellis:reply=\w+ -->$/);
    },
  );
});
