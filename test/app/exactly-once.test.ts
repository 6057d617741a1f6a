/**
 * Exactly once where GitHub can tell, through the real App against a stateful nock GitHub: GitHub does the work but
 * its answer is lost (a 502 after the dispatch or the comment was made). The retry asks GitHub what the earlier try
 * did — the run named by the attempt id, the comment carrying the reply's hidden marker — and does nothing twice.
 */
import { beforeEach, describe, expect, test } from "vitest";
import { findRunsByIssue } from "../../src/store/runs.js";
import { type Harness, installation, useAppHarness } from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { fakeGitHub, OWNER } from "./batch-github.js";

const ISSUE = { number: 7, title: "Fix the login bug" };

describe.each(engineCases())("exactly once ($title)", ({ engine, skip }) => {
  useGitHubNock();
  const app = useAppHarness(engine, skip);
  beforeEach(() => {
    if (skip) return;
    githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
  });

  /** Drains until nothing is due, moving the App's clock past each retry's backoff. */
  async function settle(h: Harness, rounds = 5) {
    for (let i = 0; i < rounds; i++) {
      await h.drain();
      h.clock.now += 60_000;
    }
  }

  test.skipIf(skip)("a dispatch whose answer was lost is found by its run name, not sent again", async () => {
    const gh = fakeGitHub({ config: "", tasks: "" });
    gh.faults.dispatchAnswerLost = true;
    const h = await app.start();
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation, issue: ISSUE }),
    );
    await settle(h);
    expect(gh.dispatches).toHaveLength(1);
    const attemptId = gh.dispatches[0]!.attempt_id!;
    const [run] = await findRunsByIssue(app.db(), `${OWNER}/Hello-World`, ISSUE.number);
    expect(run!.state.stages.dev!.attempts).toHaveLength(1);
    expect(run!.state.stages.dev!.attempts[0]!.workflowRunId).toBe(gh.workflowRuns.get(attemptId));
  });

  test.skipIf(skip)(
    "a reply whose answer was lost is found by its hidden marker, not posted again",
    async () => {
      const gh = fakeGitHub({ config: "", tasks: "" });
      gh.faults.commentAnswerLost = true;
      const h = await app.start();
      await h.deliver(
        "issue_comment",
        examplePayload("issue_comment", "created", {
          comment: { body: "/help" },
          installation,
          issue: ISSUE,
        }),
      );
      await settle(h);
      const helps = (gh.comments.get(ISSUE.number) ?? []).filter((c) => c.body.includes("/approve"));
      expect(helps).toHaveLength(1);
      expect(helps[0]!.body).toMatch(/<!-- trellis:reply=\w+ -->$/);
    },
  );
});
