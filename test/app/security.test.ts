/**
 * The App's security edges, end to end through Probot: forged webhooks are refused, a broken
 * `.github/trellis.yml` is answered with its located errors (and nothing runs), and people without
 * the configured role cannot start agents.
 */
import nock from "nock";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { openDb, type Db } from "../../src/store/db.js";
import { findRunsByIssue } from "../../src/store/runs.js";
import { type Harness, installation, INSTALLATION_ID, startHarness } from "../support/app-harness.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";

const REPO = "/repos/Codertocat/Hello-World";

describe("security", () => {
  useGitHubNock();
  let db: Db;
  let h: Harness;
  beforeAll(async () => {
    db = await openDb({ dataDir: "memory://" });
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await db.query("TRUNCATE runs, inbox, outbox, audit_log CASCADE");
    githubApi().get("/app").reply(200, { id: 123, slug: "trellis" });
    h = await startHarness(db);
    githubApi()
      .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
      .reply(201, { token: "ghs_x", expires_at: "2099-01-01T00:00:00Z" });
  });

  test("a webhook with a forged signature is rejected and nothing is recorded", async () => {
    const payload = examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation });
    await expect(
      h.probot.webhooks.verifyAndReceive({
        id: "forged-1",
        name: "issues",
        payload: JSON.stringify(payload),
        signature: "sha256=" + "0".repeat(64),
      }),
    ).rejects.toThrow(/signature does not match/i);
    expect((await db.query("SELECT * FROM inbox")).rows).toHaveLength(0);
    nock.cleanAll();
    await h.close();
  });

  test("a malformed config is answered with located errors where the user looks, and nothing runs", async () => {
    const broken = "labels:\n  agent_prefix: [unclosed\nbudgets:\n  per_run_usd: -5\n";
    const api = githubApi();
    api.get(`${REPO}/contents/.github%2Ftrellis.yml`).reply(200, {
      type: "file",
      name: "trellis.yml",
      path: ".github/trellis.yml",
      size: broken.length,
      encoding: "base64",
      content: Buffer.from(broken).toString("base64"),
    });
    api
      .get(/\/contents\/\.github%2Ftrellis%2F(agents|workflows)/)
      .times(2)
      .reply(404, { message: "Not Found" });
    let replied = "";
    api.post(`${REPO}/issues/1/comments`).reply((_uri, body) => {
      replied = (body as { body: string }).body;
      return [201, { id: 1, body: replied }];
    });
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation }),
    );
    await h.drain();
    expect(replied).toMatch(/\.github\/trellis\.yml:\d+:\d+: error/);
    expect(replied).toContain("npx trellis validate");
    expect(await findRunsByIssue(db, "Codertocat/Hello-World", 1)).toHaveLength(0);
    await h.close();
  });

  test("a user without write access cannot start an agent", async () => {
    const api = githubApi();
    api
      .get(/\/contents\//)
      .times(3)
      .reply(404, { message: "Not Found" });
    api
      .get(`${REPO}/collaborators/Codertocat/permission`)
      .reply(200, { permission: "read", role_name: "read", user: { login: "Codertocat" } });
    let replied = "";
    api.post(`${REPO}/issues/1/comments`).reply((_uri, body) => {
      replied = (body as { body: string }).body;
      return [201, { id: 2, body: replied }];
    });
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation }),
    );
    await h.drain();
    expect(replied).toMatch(/only people with the admin, maintain, write role/);
    expect(await findRunsByIssue(db, "Codertocat/Hello-World", 1)).toHaveLength(0);
    const audit = await db.query<{ action: string }>("SELECT action FROM audit_log");
    expect(audit.rows.map((r) => r.action)).toContain("refused");
    await h.close();
  });

  test("a flood of refused labels gets one refusal per issue per hour, not one per label", async () => {
    const api = githubApi();
    api
      .get(/\/contents\//)
      .times(6) // the definitions, read again once their cache has expired
      .reply(404, { message: "Not Found" });
    api
      .get(`${REPO}/collaborators/Codertocat/permission`)
      .times(2)
      .optionally() // the role is remembered for a while
      .reply(200, { permission: "read", role_name: "read", user: { login: "Codertocat" } });
    const replies: string[] = [];
    api
      .post(`${REPO}/issues/1/comments`)
      .times(2)
      .reply((_uri, body) => {
        replies.push((body as { body: string }).body);
        return [201, { id: replies.length, body: "" }];
      });
    const label = async (name: string) => {
      await h.deliver("issues", examplePayload("issues", "labeled", { label: { name }, installation }));
      await h.drain();
    };
    for (const name of ["agent:dev", "agent:qa", "agent:docs", "agent:review"]) await label(name);
    expect(replies).toHaveLength(1);
    const audit = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'refused'",
    );
    expect(audit.rows[0]!.n).toBe(4);
    // An hour on, the next refusal is answered again.
    h.clock.now += 61 * 60_000;
    await label("agent:dev");
    expect(replies).toHaveLength(2);
    await h.close();
  });
});
