/**
 * The worker's slots: a slow GitHub call holds up only its own row. With two slots and one reply that takes GitHub
 * a second and a half, the other replies are posted meanwhile, not after it (no round waits for its slowest row).
 */
import { describe, expect, test } from "vitest";
import { createWorker } from "../../src/app/worker.js";
import { enqueueEffects } from "../../src/store/outbox.js";
import { INSTALLATION_ID, useAppHarness } from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";

const REPO = "/repos/Codertocat/Hello-World";

describe.each(engineCases())("the worker's slots ($title)", ({ engine, skip }) => {
  useGitHubNock();
  const app = useAppHarness(engine, skip);

  test.skipIf(skip)("a slow row does not hold up the others", async () => {
    const api = githubApi().persist();
    api.get("/app").optionally().reply(200, { id: 123, slug: "trellis" });
    api
      .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
      .reply(201, { token: "ghs_testtoken", expires_at: "2099-01-01T00:00:00Z" });
    const posted: number[] = [];
    api.post(/\/issues\/\d+\/comments$/).reply((uri) => {
      const issue = Number(/issues\/(\d+)\//.exec(uri)![1]);
      const answer = (): [number, object] => {
        posted.push(issue);
        return [201, { id: issue, body: "" }];
      };
      if (issue !== 1) return answer();
      return new Promise((resolve) => setTimeout(() => resolve(answer()), 1_500)) as never;
    });
    const h = await app.start();
    for (const issue of [1, 2, 3, 4]) {
      const target = {
        installationId: INSTALLATION_ID,
        repo: { owner: "Codertocat", name: "Hello-World" },
        issue,
      };
      await enqueueEffects(app.db(), `issue:${REPO}#${issue}`, [
        {
          key: `reply:${issue}`,
          type: "reply",
          payload: {
            kind: "effect",
            target,
            effect: { type: "reply", key: `reply:${issue}`, body: `hello ${issue}` },
          },
        },
      ]);
    }
    const worker = createWorker(h.app.deps, { concurrency: 2, yieldMs: 0, idleMs: 20 });
    worker.start();
    try {
      const until = Date.now() + 10_000;
      while (posted.length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await worker.stop();
    }
    // 2, 3 and 4 went through the second slot while the first waited on GitHub for issue 1.
    expect(posted).toEqual([2, 3, 4, 1]);
  });

  test.skipIf(skip)("stopping past its grace hands the rows under way back, as retries", async () => {
    const api = githubApi().persist();
    api.get("/app").optionally().reply(200, { id: 123, slug: "trellis" });
    api
      .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
      .reply(201, { token: "ghs_testtoken", expires_at: "2099-01-01T00:00:00Z" });
    // GitHub takes its time: longer than the worker's grace.
    api
      .post(/\/issues\/\d+\/comments$/)
      .optionally()
      .reply(
        () => new Promise((resolve) => setTimeout(() => resolve([201, { id: 1, body: "" }]), 3_000)) as never,
      );
    const h = await app.start();
    const target = {
      installationId: INSTALLATION_ID,
      repo: { owner: "Codertocat", name: "Hello-World" },
      issue: 1,
    };
    await enqueueEffects(app.db(), `issue:${REPO}#1`, [
      {
        key: "reply:slow",
        type: "reply",
        payload: { kind: "effect", target, effect: { type: "reply", key: "reply:slow", body: "slow" } },
      },
    ]);
    const worker = createWorker(h.app.deps, { yieldMs: 0, idleMs: 20, stopGraceMs: 200 });
    worker.start();
    while ((await app.db().query("SELECT 1 FROM outbox WHERE status = 'running'")).rows.length === 0)
      await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await worker.stop();
    expect(Date.now() - t0).toBeLessThan(2_000);
    const rows = await app
      .db()
      .query<{ status: string; locked_by: string | null; attempts: number }>(
        "SELECT status, locked_by, attempts FROM outbox WHERE key = 'reply:slow'",
      );
    expect(rows.rows).toEqual([{ status: "pending", locked_by: null, attempts: 1 }]);
  });
});
