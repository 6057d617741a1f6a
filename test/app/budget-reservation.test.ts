/**
 * Budgets across attempts in flight, through the real App: an attempt reserves what it was granted until its result
 * says what it spent, so two issues started together cannot both be granted the same month's last dollars.
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

describe.each(engineCases())("budget reservations ($title)", ({ engine, skip }) => {
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

  test.skipIf(skip)(
    "a second attempt started together gets only what the first has not reserved",
    async () => {
      const gh = fakeGitHub({ config: "budgets:\n  per_run_usd: 3\n  monthly_usd: 5\n", tasks: "" });
      h = await startHarness(db);
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
      const [third] = await findRunsByIssue(db, `${OWNER}/Hello-World`, 9);
      expect(third!.state.stages.dev!.status).toBe("waiting");
      expect(third!.state.stages.dev!.reason).toContain("reserved $5.00 for attempts in flight");
    },
  );
});
