/**
 * A repository in dry run through the real App: the stage's dispatch is admitted by the core, which answers
 * instead of dispatching; the answer is an effect of its own in the outbox, posted once.
 */
import nock from "nock";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { executeEffect } from "../../src/app/effects.js";
import type { OutboxPayload } from "../../src/app/runtime.js";
import { listEffects } from "../../src/store/outbox.js";
import { installation, INSTALLATION_ID, startHarness } from "../support/app-harness.js";
import { engineCases, truncateAll, type TestDb } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";

const REPO = "/repos/Codertocat/Hello-World";
const CONFIG = "dry_run: true\n";

function fakeGitHub() {
  const comments: { issue: string; body: string }[] = [];
  const dispatches: unknown[] = [];
  const api = githubApi().persist();
  api.get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
  api
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: "ghs_testtoken", expires_at: "2099-01-01T00:00:00Z" });
  api.get(/\/contents\/\.github(%2F|\/)trellis\.yml/).reply(200, {
    type: "file",
    path: ".github/trellis.yml",
    name: "trellis.yml",
    size: CONFIG.length,
    encoding: "base64",
    content: Buffer.from(CONFIG).toString("base64"),
  });
  api.get(/\/contents\//).reply(404, { message: "Not Found" });
  api
    .get(/\/collaborators\/[^/]+\/permission$/)
    .reply(200, { permission: "admin", role_name: "admin", user: { login: "someone" } });
  api
    .get(REPO)
    .reply(200, { id: 1, name: "Hello-World", full_name: "Codertocat/Hello-World", default_branch: "main" });
  api.get(`${REPO}/branches/main`).reply(200, { name: "main", commit: { sha: "a".repeat(40) } });
  api.get(/\/check-runs/).reply(200, { total_count: 0, check_runs: [] });
  api.post(`${REPO}/check-runs`).reply(201, { id: 700 });
  api.patch(/\/check-runs\/\d+$/).reply(200, { id: 700 });
  api.get(/\/issues\/\d+\/comments/).reply(200, []);
  api.post(/\/issues\/\d+\/comments$/).reply((uri, body) => {
    comments.push({ issue: /\/issues\/(\d+)\//.exec(uri)![1]!, body: (body as { body: string }).body });
    return [201, { id: 900 + comments.length, body: "" }];
  });
  api.patch(/\/issues\/comments\/\d+$/).reply(200, { id: 900, body: "" });
  api.post(`${REPO}/actions/workflows/trellis-agent.yml/dispatches`).reply((_uri, body) => {
    dispatches.push(body);
    return [204];
  });
  return { comments, dispatches };
}

describe.each(engineCases())("a dry run ($title)", ({ engine, skip }) => {
  useGitHubNock();
  let db: TestDb;
  beforeAll(async () => {
    if (!skip) db = await engine.open();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    if (!skip) await truncateAll(db);
  });

  test.skipIf(skip)("answers on the issue through the outbox, once, and dispatches nothing", async () => {
    const gh = fakeGitHub();
    const h = await startHarness(db);
    try {
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation }),
      );
      await h.drain();
      const answer =
        "Dry run: Trellis would now dispatch `trellis-agent.yml` for stage `dev` (profile `dev`). Set `dry_run: false` to run agents.";
      expect(gh.dispatches).toEqual([]);
      // With the hidden marker a retried reply is found by (src/core/markers.ts replyMarker).
      expect(gh.comments.filter((c) => c.body.startsWith("Dry run:"))).toEqual([
        {
          issue: "1",
          body: expect.stringMatching(/^Dry run: .* to run agents\.\n\n<!-- trellis:reply=\w+ -->$/),
        },
      ]);
      expect(gh.comments.find((c) => c.body.startsWith("Dry run:"))?.body.startsWith(answer)).toBe(true);
      const rows = await listEffects(db);
      const reply = rows.find((r) => r.key.startsWith("dry-run:"));
      expect(reply).toMatchObject({ type: "reply", status: "done" });

      // The dispatch carried out again (a retry after a crash) stores no second answer.
      const dispatch = rows.find((r) => r.type === "dispatch")!;
      const { target, effect } = dispatch.payload as Extract<OutboxPayload, { kind: "effect" }>;
      await executeEffect(h.app.deps, target, effect);
      await h.drain();
      expect(gh.comments.filter((c) => c.body.startsWith("Dry run:"))).toHaveLength(1);
      expect((await listEffects(db)).filter((r) => r.key.startsWith("dry-run:"))).toHaveLength(1);
    } finally {
      await h.close();
      nock.cleanAll(); // persistent routes may stay unused by design
    }
  });
});
