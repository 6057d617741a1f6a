/**
 * Budgets across attempts in flight, through the real App: an attempt reserves what it was granted until its result
 * says what it spent, so two issues started together cannot both be granted the same month's last dollars.
 */
import { beforeEach, describe, expect, test } from "vitest";
import { findRunsByIssue } from "../../src/store/runs.js";
import { installation, useAppHarness } from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { fakeGitHub, OWNER } from "./batch-github.js";

describe.each(engineCases())("budget reservations ($title)", ({ engine, skip }) => {
  useGitHubNock();
  const app = useAppHarness(engine, skip);
  beforeEach(() => {
    if (skip) return;
    githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
  });

  test.skipIf(skip)(
    "a second attempt started together gets only what the first has not reserved",
    async () => {
      const gh = fakeGitHub({ config: "budgets:\n  per_run_usd: 3\n  monthly_usd: 5\n", tasks: "" });
      const h = await app.start();
      for (const issue of [
        { number: 7, title: "Fix the login bug" },
        { number: 8, title: "Fix the logout bug" },
        { number: 9, title: "Fix the signup bug" },
      ])
        await h.deliver(
          "issues",
          examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation, issue }),
        );
      await h.drain();
      // $3 for the first run (its cap), the $2 left of the month for the second, nothing for the third.
      expect(gh.dispatches.map((d) => [d.issue, JSON.parse(d.spec!).costCapUsd])).toEqual([
        ["7", 3],
        ["8", 2],
      ]);
      const [third] = await findRunsByIssue(app.db(), `${OWNER}/Hello-World`, 9);
      expect(third!.state.stages.dev!.status).toBe("waiting");
      expect(third!.state.stages.dev!.reason).toContain("reserved $5.00 for attempts in flight");
    },
  );
});
