/**
 * Hostile: closing an issue is a steering command. Anyone may close an issue they opened (GitHub Docs, "Repository
 * roles for an organization"), so an outsider's close must stop nothing: not the issue's run, not a batch tracked
 * by it. A maintainer's close still aborts. Real Probot, real payloads, GitHub as nock.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { BatchState } from "../../src/core/batch/machine.js";
import { findBatchByTrackingIssue } from "../../src/store/batches.js";
import type { Db } from "../../src/store/db.js";
import { findRunsByIssue } from "../../src/store/runs.js";
import { fakeGitHub, OWNER, REPO } from "../app/batch-github.js";
import { type Harness, installation, startHarness } from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload, examplePayloadAs } from "../support/webhooks.js";

const CONFIG = "batch:\n  parallel_limit: 2\n  refine: false\n";
const TASKS = "- [ ] [a] Alpha\n- [ ] [b] Beta";
const MALLORY = { login: "mallory", id: 6660666, node_id: "U_mallory", type: "User" };

describe.each(engineCases())("closing an issue ($title)", ({ engine, skip }) => {
  useGitHubNock();
  let db: Db;
  let h: Harness;
  beforeAll(async () => {
    if (skip) return;
    db = await engine.open();
  });
  afterAll(async () => {
    await db?.close();
  });

  async function start(): Promise<ReturnType<typeof fakeGitHub>> {
    githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
    const gh = fakeGitHub({ config: CONFIG, tasks: TASKS, firstIssue: 20 });
    // On a public repository everyone can read: GitHub reports "read" for a user who is no collaborator.
    githubApi()
      .persist()
      .get(`${REPO}/collaborators/mallory/permission`)
      .optionally()
      .reply(200, { permission: "read", role_name: "read", user: MALLORY });
    h = await startHarness(db);
    return gh;
  }
  const close = (issue: { number: number; title: string }, sender?: typeof MALLORY) =>
    h.deliver(
      "issues",
      examplePayloadAs("issues", "closed", "reopened", {
        issue: { ...issue, id: 5000 + issue.number, node_id: `I_${issue.number}`, state: "closed" },
        installation,
        ...(sender ? { sender } : {}),
      }),
    );

  test.skipIf(skip)("an outsider's close aborts nothing and is answered; a maintainer's aborts", async () => {
    const gh = await start();
    const issue = { number: 7, title: "Fix the login bug" };
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, issue, installation }),
    );
    await h.drain();
    const status = async () => (await findRunsByIssue(db, `${OWNER}/Hello-World`, 7))[0]!.state.status;
    expect(await status()).toBe("active");

    await close(issue, MALLORY);
    await h.drain();
    expect(await status()).toBe("active");
    const replies = gh.comments.get(7)!.filter((c) => c.body.includes("@mallory closed this issue"));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body).toMatch(
      /does not stop Trellis: only people with the admin, maintain, write role/,
    );

    await close(issue); // the example's sender, Codertocat, is an admin
    await h.drain();
    expect(await status()).toBe("aborted");
    await h.close();
  });

  test.skipIf(skip)("an outsider's close of a tracking issue leaves the batch running", async () => {
    const gh = await start();
    const issue = { number: 1, title: "Ship the API", body: TASKS };
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "trellis:batch" }, issue, installation }),
    );
    await h.drain();
    const batch = () => findBatchByTrackingIssue<BatchState>(db, `${OWNER}/Hello-World`, 1);
    expect((await batch())!.status).toBe("active");
    expect(gh.dispatches).toHaveLength(2);

    await close(issue, MALLORY);
    await h.drain();
    expect((await batch())!.status).toBe("active");
    expect(gh.comments.get(1)!.filter((c) => c.body.includes("@mallory closed this issue"))).toHaveLength(1);

    await close(issue);
    await h.drain();
    expect((await batch())!.status).toBe("aborted");
    await h.close();
  });
});
