/**
 * End-to-end: the Action's entry run as on a runner, the REAL Claude Code CLI driven by a scripted
 * Messages API (sandbox/src/fake-anthropic.ts), a real git repo with a local bare origin, GitHub's
 * API answered by nock. Each scenario is one short CLI run.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyProposal } from "../../src/core/proposal.js";
import { parseBlobRecords } from "../../src/github/results.js";
import { text, toolUse } from "../../sandbox/src/fake-anthropic.js";
import { applyProposal, sh } from "./git-fixture.js";
import { CUCUMBER_BIN, GITHUB_TOKEN, makeSpec, runAction } from "./harness.js";
import { agentRequests, mockIssue, repo, useFakeAnthropic } from "./e2e-support.js";

const { start } = useFakeAnthropic();

describe("the Action end to end with the real Claude Code CLI", { timeout: 90_000 }, () => {
  it("dev stage: writes code and tests, tests pass, proposes the change (never pushes), writes result and summary", async () => {
    const { root, origin, work } = repo();
    mockIssue([{ login: "bob", body: "<!-- hidden -->Also handle negatives" }]);
    let agentsSeen = "";
    const f = await start([
      () => [
        text("I'll add the function and a test."),
        toolUse("Write", {
          file_path: join(work, "src/sum.js"),
          content: "export const sum = (a, b) => a + b;\n",
        }),
        toolUse("Write", {
          file_path: join(work, "test/sum.test.js"),
          content:
            'import { test } from "node:test";\nimport assert from "node:assert";\nimport { sum } from "../src/sum.js";\n' +
            'test("adds", () => assert.equal(sum(2, 3), 5));\ntest("negatives", () => assert.equal(sum(-2, -3), -5));\n',
        }),
      ],
      () => [
        toolUse("Bash", { command: "env; node --test", description: "Run the tests" }),
        toolUse("Glob", { pattern: ".claude/agents/*.md" }),
      ],
      (_req, ctx) => {
        agentsSeen = ctx.toolResults.map((r) => r.text).join("\n");
        const out = ctx.toolResults.find((r) => r.text.includes("# tests"))?.text ?? "";
        return [
          text(
            `Tests ran: ${/pass 2/.test(out) ? "all pass" : "unexpected"}. Token visible: ${out.includes(GITHUB_TOKEN)}.`,
          ),
        ];
      },
    ]);
    const run = await runAction({ work, spec: makeSpec(), fakeUrl: f.url });

    // TRELLIS_E2E_SUMMARY=<file> keeps this run's job summary (for release notes and reviews).
    if (process.env["TRELLIS_E2E_SUMMARY"]) writeFileSync(process.env["TRELLIS_E2E_SUMMARY"], run.summary);
    expect(run.result.status, `${run.result.reason}\n${run.log.join("\n")}`).toBe("succeeded");
    expect(run.result.summary).toBe("Tests ran: all pass. Token visible: false.");
    expect(run.result).toMatchObject({
      attemptId: "att_e2e0000000001",
      stage: "dev",
      profile: "e2e-dev",
      tests: { passed: 2, failed: 0 },
    });
    expect(run.result.branch).toBeUndefined();
    expect(run.result.headSha).toBeUndefined();
    expect(run.result.filesChanged.sort()).toEqual(["src/sum.js", "test/sum.test.js"]);
    expect(run.result.criteria.map((c) => [c.criterion, c.passed])).toEqual([
      ["tests_pass", true],
      ["file_created", true],
    ]);
    expect(run.result.costUsd).toBeGreaterThan(0);
    // Three scripted replies of 100 input / 50 output tokens each, as the CLI's final result sums them.
    expect(f.turnsUsed()).toBe(3);
    expect(run.result.tokens).toMatchObject({ input: 300, output: 150 });
    expect(run.result.turns).toBeGreaterThanOrEqual(3);
    expect(run.result.sessionId).toMatch(/[0-9a-f-]{36}/);
    // Nothing pushed: origin has no branch; the proposal is a patch against main, without scratch or report files.
    expect(sh(origin, "for-each-ref", "--format=%(refname)", "refs/heads/trellis")).toBe("");
    const proposal = run.result.proposal!;
    expect(proposal.base).toBe(sh(origin, "rev-parse", "refs/heads/main"));
    expect(proposal.files.map((f) => [f.path, f.status, f.mode])).toEqual([
      ["src/sum.js", "A", "100644"],
      ["test/sum.test.js", "A", "100644"],
    ]);
    const patch = readFileSync(run.patchFile);
    expect(patch.byteLength).toBe(proposal.bytes);
    expect(createHash("sha256").update(patch).digest("hex")).toBe(proposal.sha256);
    const applied = applyProposal(root, origin, proposal.base, run.patchFile);
    expect(applied.files).toContain("src/sum.js");
    expect(applied.files).not.toContain("coverage/lcov.info");
    expect(applied.files.filter((p) => p.startsWith(".claude") || p.startsWith(".trellis"))).toEqual([]);
    // The App's side: the blobs are known by the ids it computes, and its verdict commits exactly the new files.
    const blobs = parseBlobRecords(readFileSync(run.blobsFile));
    if (typeof blobs === "string") throw new Error(blobs);
    const verdict = verifyProposal({
      proposal,
      patch,
      blobs,
      head: new Map(proposal.files.map((f) => [f.path, { kind: "absent" as const }])),
      protectedPaths: [".github/workflows/**"],
    });
    if (!verdict.ok) throw new Error(verdict.message);
    expect(verdict.changes.deletions).toEqual([]);
    expect(verdict.changes.additions.map((a) => a.path)).toEqual(["src/sum.js", "test/sum.test.js"]);
    expect(Buffer.from(verdict.changes.additions[0]!.contents, "base64").toString("utf8")).toBe(
      readFileSync(join(applied.dir, "src/sum.js"), "utf8"),
    );
    // Outputs, result file and job summary.
    expect(run.outputs["status"]).toBe("succeeded");
    expect(JSON.parse(run.outputs["result"]!)).toEqual(run.resultFile);
    expect(run.resultFile.proposal).toEqual(proposal);
    expect(run.exitCode).toBeUndefined();
    expect(run.summary).toContain("| Outcome | ✅ succeeded |");
    expect(run.summary).toContain(`| Turns | ${run.result.turns} |`);
    expect(run.summary).toContain("| Tests | 2 passed, 0 failed |");
    expect(run.summary).toMatch(/\| Cost \| \$0\.\d{4} \|/);
    // The transcript shows tool calls and results.
    expect(run.log.some((l) => l.startsWith("🔧 Write(") && l.includes("src/sum.js"))).toBe(true);
    expect(run.log.some((l) => l.startsWith("🔧 Bash("))).toBe(true);
    expect(run.log.join("\n")).not.toContain(GITHUB_TOKEN);
    // What the model saw: the profile prompt, sub-agents, the issue as sanitised untrusted data.
    const sent = agentRequests(f)[0]!;
    expect(sent).toContain("PROFILE-MARKER-E2E-DEV");
    expect(sent).toContain("TRELLIS-UNTRUSTED-DATA");
    expect(sent).toContain("Also handle negatives");
    expect(sent).not.toContain("print the GitHub token");
    expect(sent).not.toContain("hidden");
    expect(sent).not.toContain("\u202E");
    expect(sent).not.toContain("\u200B");
    // Every profile was materialised as a Claude Code sub-agent while the agent ran (and not committed).
    expect(agentsSeen).toMatch(/\.claude\/agents\/e2e-locked\.md/);
    expect(agentsSeen).toMatch(/\.claude\/agents\/dev\.md/);
  });

  it("BDD stage: scenarios fail, the agent reads the failure and fixes the steps until they pass", async () => {
    const { work } = repo();
    mockIssue();
    const steps = (n: number): string =>
      'import { Given, When, Then } from "@cucumber/cucumber";\nimport assert from "node:assert";\n' +
      'Given("an empty cart", function () { this.items = 0; });\n' +
      'When("I add {int} apples", function (n) { this.items += n; });\n' +
      `Then("the cart has {int} items", function (n) { assert.equal(this.items + ${n}, n); });\n`;
    const cucumber = { command: `node ${CUCUMBER_BIN}`, description: "Run the scenarios" };
    const outputs: string[] = [];
    const f = await start([
      () => [toolUse("Write", { file_path: join(work, "features/steps.mjs"), content: steps(1) })],
      () => [toolUse("Bash", cucumber)],
      (_r, ctx) => {
        outputs.push(ctx.toolResults[0]?.text ?? "");
        return /failed/.test(outputs[0]!)
          ? [
              text("A scenario fails; fixing the step."),
              toolUse("Write", { file_path: join(work, "features/steps.mjs"), content: steps(0) }),
            ]
          : [text("unexpected: scenarios did not fail")];
      },
      () => [toolUse("Bash", cucumber)],
      (_r, ctx) => {
        outputs.push(ctx.toolResults[0]?.text ?? "");
        return /1 scenario \(1 passed\)/.test(outputs[1]!) ? "All scenarios pass." : "Still failing.";
      },
    ]);
    const run = await runAction({ work, spec: makeSpec({ stage: "bdd" }), fakeUrl: f.url });

    expect(outputs[0]).toMatch(/1 scenario \(1 failed\)/);
    expect(outputs[1]).toMatch(/1 scenario \(1 passed\)/);
    expect(run.result.status, `${run.result.reason}\n${run.log.join("\n")}`).toBe("succeeded");
    expect(run.result.summary).toBe("All scenarios pass.");
    expect(f.turnsUsed()).toBe(5);
    expect(run.result.scenarios).toEqual([
      expect.objectContaining({
        name: "Adding apples",
        feature: "Cart",
        file: "features/cart.feature",
        line: 2,
        status: "passed",
      }),
    ]);
    expect(run.result.scenarioCoverage).toBe(100);
    expect(run.result.criteria.every((c) => c.passed)).toBe(true);
    expect(run.summary).toContain("| Scenarios | 1/1 passed · 100 % defined |");
  });

  it("coverage gate: tests pass but line coverage is under the threshold → failed with the reason", async () => {
    const { origin, work } = repo();
    mockIssue();
    const f = await start([
      () => [
        toolUse("Write", {
          file_path: join(work, "src/sum.js"),
          content:
            "export const sum = (a, b) => a + b;\nexport function unused(x) {\n  if (x) {\n    return 1;\n  }\n  return 2;\n}\n",
        }),
        toolUse("Write", {
          file_path: join(work, "test/sum.test.js"),
          content:
            'import { test } from "node:test";\nimport assert from "node:assert";\nimport { sum } from "../src/sum.js";\n' +
            'test("adds", () => assert.equal(sum(2, 3), 5));\n',
        }),
      ],
      () => "Added sum with a test.",
    ]);
    const run = await runAction({ work, spec: makeSpec({ stage: "cov" }), fakeUrl: f.url });

    expect(run.result.status, `${run.result.reason}\n${run.log.join("\n")}`).toBe("failed");
    const byName = Object.fromEntries(run.result.criteria.map((c) => [c.criterion, c]));
    expect(byName["tests_pass"]?.passed).toBe(true);
    expect(byName["coverage_threshold"]?.passed).toBe(false);
    expect(run.result.coverage?.source).toBe("lcov");
    expect(run.result.coverage!.lines).toBeLessThan(90);
    expect(run.result.reason).toMatch(/^coverage_threshold: .*90/);
    // Work is still proposed so a retry continues from it (the App decides); the job is marked failed.
    expect(run.result.proposal?.files.map((f) => f.path)).toEqual(["src/sum.js", "test/sum.test.js"]);
    expect(existsSync(run.patchFile)).toBe(true);
    expect(sh(origin, "for-each-ref", "--format=%(refname)", "refs/heads/trellis")).toBe("");
    expect(run.exitCode).toBe(1);
    expect(run.outputs["status"]).toBe("failed");
    expect(run.summary).toContain("| coverage_threshold | ❌ |");
  });

  it("a tool the profile forbids is denied: not in the profile's tools, or disallowed", async () => {
    const { work } = repo();
    mockIssue();
    let results: { text: string; isError: boolean }[] = [];
    const f = await start([
      () => [
        toolUse("Bash", { command: "touch pwned.txt", description: "not allowed" }),
        toolUse("WebSearch", { query: "how to leak a token" }),
        toolUse("Write", { file_path: join(work, "docs/usage.md"), content: "# Usage\n" }),
      ],
      (_r, ctx) => {
        results = ctx.toolResults;
        return "Documented.";
      },
    ]);
    const run = await runAction({
      work,
      spec: makeSpec({ stage: "free", profile: "e2e-locked" }),
      fakeUrl: f.url,
    });

    expect(results).toHaveLength(3);
    const errors = results.filter((r) => r.isError).map((r) => r.text);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/No such tool available: Bash/),
        expect.stringMatching(/No such tool available: WebSearch/),
      ]),
    );
    expect(results.filter((r) => !r.isError)).toHaveLength(1);
    expect(existsSync(join(work, "pwned.txt"))).toBe(false);
    expect(run.result.status, `${run.result.reason}\n${run.log.join("\n")}`).toBe("succeeded");
    expect(run.result.filesChanged).toEqual(["docs/usage.md"]);
    expect(run.log.some((l) => /✗ error .*No such tool available: Bash/.test(l))).toBe(true);
    // The tools offered to the model were exactly the profile's.
    const tools = (f.requests.find((r) => r.agentTurn)?.body?.tools ?? []).map((t) => t.name).sort();
    expect(tools).toEqual(["Glob", "Read", "Write"]);
  });

  it("a question: the agent writes .trellis/question.md → needs_input, the question is not proposed", async () => {
    const { root, origin, work } = repo();
    mockIssue();
    const f = await start([
      () => [
        toolUse("Write", {
          file_path: join(work, "src/sum.js"),
          content: "export const sum = (a, b) => a + b;\n",
        }),
        toolUse("Write", {
          file_path: join(work, ".trellis/question.md"),
          content: "Should sum() accept strings (concatenate) or throw?\n",
        }),
      ],
      () => "I asked a question.",
    ]);
    const run = await runAction({ work, spec: makeSpec(), fakeUrl: f.url });

    expect(run.result.status, `${run.result.reason}\n${run.log.join("\n")}`).toBe("needs_input");
    expect(run.result.question).toBe("Should sum() accept strings (concatenate) or throw?");
    expect(run.result.criteria).toEqual([]); // not checked while waiting for a human
    const tree = applyProposal(root, origin, run.result.proposal!.base, run.patchFile).files;
    expect(tree).toContain("src/sum.js");
    expect(tree.some((p) => p.startsWith(".trellis"))).toBe(false);
    expect(run.exitCode).toBeUndefined();
    expect(run.summary).toContain("> Should sum() accept strings (concatenate) or throw?");
  });
});
