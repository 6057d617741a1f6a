/**
 * run() with a stand-in CLI (no model): the parts of the pipeline around the agent — the review
 * verdict, the environment the agent gets, the issue as read from GitHub, and early errors.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { agentEnv } from "../../action/src/env.js";
import { fetchIssue } from "../../action/src/github.js";
import { parseSpec } from "../../action/src/inputs.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { makeRepo } from "./git-fixture.js";
import { GITHUB_TOKEN, makeSpec, runAction } from "./harness.js";

useGitHubNock();

function standInCli(script: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "trellis-cli-")), "claude");
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
  return file;
}

const RESULT_EVENT =
  '{"type":"result","subtype":"success","is_error":false,"num_turns":2,"total_cost_usd":0.5,"session_id":"s-9","result":"Reviewed.","usage":{"input_tokens":10,"output_tokens":5}}';

function mockIssue(): void {
  githubApi()
    .get("/repos/acme/shop/issues/7")
    .reply(200, { number: 7, title: "Review", body: "Please review", user: { login: "alice", type: "User" } })
    .get("/repos/acme/shop/issues/7/comments")
    .query({ per_page: 100 })
    .reply(200, [
      { id: 1, body: "<!-- trellis:status -->\nStatus table", user: { login: "trellis[bot]", type: "Bot" } },
      { id: 2, body: "Looks risky", user: { login: "bob", type: "User" } },
    ]);
}

describe("run() around the agent (stand-in CLI)", () => {
  it("reads a reviewer's verdict from .trellis/review.md and passes the agent a scrubbed environment", async () => {
    const { work } = makeRepo({ "README.md": "# shop\n" });
    const envDump = join(mkdtempSync(join(tmpdir(), "trellis-env-")), "env");
    const cli = standInCli(
      `env > "${envDump}"\nmkdir -p .trellis && printf 'REQUEST_CHANGES\\nAdd tests for the empty cart.\\n' > .trellis/review.md\necho '${RESULT_EVENT}'`,
    );
    mockIssue();
    const run = await runAction({
      work,
      spec: makeSpec({ workflow: "none", stage: "review", profile: "review" }),
      fakeUrl: "http://127.0.0.1:9",
      env: { CLAUDE_PATH: cli, SOME_OTHER_SECRET: "xyz" },
    });
    expect(run.result).toMatchObject({
      status: "succeeded",
      review: { verdict: "request_changes", comments: "Add tests for the empty cart." },
      summary: "Reviewed.",
      costUsd: 0.5,
      turns: 2,
      sessionId: "s-9",
      filesChanged: [],
    });
    const env = readFileSync(envDump, "utf8");
    expect(env).not.toContain(GITHUB_TOKEN);
    expect(env).not.toMatch(/^INPUT_/m);
    expect(env).not.toContain("SOME_OTHER_SECRET");
    expect(env).toMatch(/^ANTHROPIC_API_KEY=test$/m);
    expect(env).toMatch(/^CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1$/m);
    // The unknown workflow is a warning, not a failure: the stage runs without criteria.
    expect(run.result.criteria).toEqual([]);
  });

  it("collects questions written in sub-agent worktrees (several profiles in one job)", async () => {
    const { work } = makeRepo({ "README.md": "# shop\n" });
    const cli = standInCli(
      `mkdir -p .trellis && printf 'Which database?\\n' > .trellis/question.md\necho "x" > "notes-$$.md"\necho '${RESULT_EVENT}'`,
    );
    mockIssue();
    const run = await runAction({
      work,
      spec: makeSpec({ workflow: "none", stage: "build", profile: "dev+docs" }),
      fakeUrl: "http://127.0.0.1:9",
      env: { CLAUDE_PATH: cli },
    });
    expect(run.result.status).toBe("needs_input");
    expect(run.result.question).toBe("dev: Which database?\n\ndocs: Which database?");
    expect(run.result.filesChanged).toHaveLength(2);
    expect(run.result.costUsd).toBe(1);
  });

  it("turns a missing issue into an error result naming the issue", async () => {
    const { work } = makeRepo({ "README.md": "# shop\n" });
    githubApi().get("/repos/acme/shop/issues/7").reply(404, { message: "Not Found" });
    githubApi()
      .get("/repos/acme/shop/issues/7/comments")
      .query({ per_page: 100 })
      .reply(404, { message: "Not Found" });
    const run = await runAction({
      work,
      spec: makeSpec({ profile: "dev", workflow: "feature" }),
      fakeUrl: "http://127.0.0.1:9",
      env: { CLAUDE_PATH: "/bin/false" },
    });
    expect(run.result.status).toBe("error");
    expect(run.result.reason).toMatch(/^could not read issue #7: Not Found/);
    expect(run.exitCode).toBe(1);
  });

  it("refuses an unknown profile with the known ones listed", async () => {
    const { work } = makeRepo({ "README.md": "# shop\n" });
    githubApi().get("/repos/acme/shop/issues/7").optionally().reply(200, {});
    githubApi()
      .get("/repos/acme/shop/issues/7/comments")
      .query({ per_page: 100 })
      .optionally()
      .reply(200, []);
    const run = await runAction({
      work,
      spec: makeSpec({ profile: "wizard" }),
      fakeUrl: "http://127.0.0.1:9",
      env: { CLAUDE_PATH: "/bin/false" },
    });
    expect(run.result.status).toBe("error");
    expect(run.result.reason).toMatch(/unknown agent profile "wizard"; known profiles: .*dev/);
  });
});

describe("pieces of run()", () => {
  it("fetchIssue drops Trellis's own status comments and keeps people's", async () => {
    mockIssue();
    const issue = await fetchIssue(makeSpec(), GITHUB_TOKEN);
    expect(issue).toEqual({
      number: 7,
      title: "Review",
      body: "Please review",
      author: "alice",
      comments: [{ author: "bob", body: "Looks risky" }],
    });
  });

  it("agentEnv passes only what the agent needs", () => {
    const env = agentEnv(
      {
        PATH: "/bin",
        HOME: "/h",
        GITHUB_TOKEN: "t",
        INPUT_GITHUB_TOKEN: "t",
        ACTIONS_RUNTIME_TOKEN: "r",
        CI: "true",
        DISABLE_TELEMETRY: "0",
      },
      "sk",
    );
    expect(env).toEqual({
      PATH: "/bin",
      HOME: "/h",
      CI: "true",
      DISABLE_TELEMETRY: "0",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
      DISABLE_ERROR_REPORTING: "1",
      ANTHROPIC_API_KEY: "sk",
    });
  });

  it("parseSpec checks the JSON, the contract and the other inputs", () => {
    const raw = {
      spec: "",
      attemptId: "",
      issue: "",
      stage: "",
      profile: "",
      githubToken: "",
      anthropicKey: "",
      claudeArgs: "",
    };
    expect(() => parseSpec(raw)).toThrow(/input `spec` is empty/);
    expect(() => parseSpec({ ...raw, spec: "{" })).toThrow(/not valid JSON/);
    const spec = makeSpec();
    expect(parseSpec({ ...raw, spec: JSON.stringify(spec) })).toEqual(spec);
    expect(() => parseSpec({ ...raw, spec: JSON.stringify(spec), issue: "8", stage: "qa" })).toThrow(
      "inputs disagree with the spec: issue 8 ≠ 7, stage qa ≠ dev",
    );
  });
});
