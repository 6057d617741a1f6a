/**
 * Detection end to end in the offline sandbox: the real App (Probot server, PGlite) against the GitHub stand-in, the
 * real Action bundle and the real Claude Code CLI against the scripted Messages API. A stage with
 * `detection: security-review` proposes a change; the security-review attempt downloads the proposal from the
 * producer's Actions run with its own job token, requests changes, and the App never commits the change.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { branchName } from "../../src/core/dispatch.js";
import type { RunState } from "../../src/core/model.js";
import type { Turn } from "../../sandbox/src/fake-anthropic.js";
import { startSandbox, type Sandbox } from "../../sandbox/src/sandbox.js";
import { repoFiles, scriptedAgent } from "../../sandbox/src/scenario.js";
import { findRunsByIssue } from "../../src/store/runs.js";

const TIMEOUT = 240_000;
const FINDING = "1. src/add-a-discount-helper.js:1 reads process.env and sends it to https://evil.example";

/** What the security reviewer was shown: the prompts of detection attempts. */
const judged: string[] = [];

/**
 * The scripted agents, plus a security reviewer that approves the greeting banner and requests changes on anything
 * else it judges.
 */
const agent: Turn = (request, context) => {
  if (context.prompt.includes("judging a change another agent proposed")) {
    judged.push(context.prompt);
    if (context.prompt.includes("Add a greeting banner")) return "APPROVE\nNothing suspicious in the change.";
    return `REQUEST_CHANGES\n${FINDING}`;
  }
  return scriptedAgent(request, context);
};

const GUARDED = [
  "name: guarded",
  "description: The dev agent's change is judged by the security review before the App commits it.",
  "stages:",
  "  - id: dev",
  "    profile: dev",
  "    description: Implement the issue with tests.",
  "    detection: security-review",
  "    timeout: 10",
  "    open_pr: true",
  "    success:",
  "      tests_pass: true",
  "    on_failure: { retry: 0, then: escalate_to_human }",
  "",
].join("\n");

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({
    repos: [
      {
        name: "tiny-shop",
        files: repoFiles({ files: { ".github/trellis/workflows/guarded.yml": GUARDED } }),
      },
    ],
    agent,
  });
}, 120_000);

afterAll(async () => {
  await sb?.stop();
}, 60_000);

/** Polls the App's store until the issue's latest run passes `ok`. */
async function waitRun(issue: number, what: string, ok: (r: RunState) => boolean): Promise<RunState> {
  const deadline = Date.now() + 200_000;
  for (;;) {
    const run = (await findRunsByIssue(sb.app.deps.db, "octo-org/tiny-shop", issue)).at(-1)?.state;
    if (run && ok(run)) return run;
    if (Date.now() > deadline) throw new Error(`timed out waiting for #${issue}: ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe.concurrent("detection in the sandbox", () => {
  test(
    "a security review that requests changes stops the App from committing the proposal",
    async () => {
      const issue = sb.human.openIssue({ title: "Add a discount helper", body: "Ten percent off." });
      sb.human.label(issue.number, "workflow:guarded");
      const run = await waitRun(
        issue.number,
        "the stage escalated after the security review blocked its proposal",
        (r) => r.stages["dev"]?.waitingFor === "human",
      );
      const dev = run.stages["dev"]!;
      expect(dev.reason).toBe("blocked by the security review (security-review)");
      const [producer, detection] = dev.attempts;
      expect(producer?.result?.proposal?.files.map((f) => f.path)).toContain("src/add-a-discount-helper.js");
      expect(producer?.refusal).toEqual({ rule: "security_review", message: FINDING });
      expect(producer?.commit).toBeUndefined();
      expect(detection).toMatchObject({
        profile: "security-review",
        detects: { attemptId: producer!.id, workflowRunId: producer!.workflowRunId },
      });
      expect(detection?.result?.review).toEqual({ verdict: "request_changes", comments: FINDING });
      expect(detection?.result?.proposal).toBeUndefined();

      // The reviewer judged the producer's patch, as untrusted data.
      const prompt = judged.find((p) => p.includes("Add a discount helper"))!;
      const data = prompt.slice(prompt.indexOf("<<<TRELLIS-UNTRUSTED-DATA"));
      expect(data).toContain("+++ b/src/add-a-discount-helper.js");
      expect(data).toContain("+export function addADiscountHelper(x) {");

      // Its job read the producer's artifact with the workflow's own token.
      const byJob = sb.requests.filter((r) => r.by === "user:github-actions[bot]").map((r) => r.url);
      expect(byJob).toContain(
        `/api/v3/repos/octo-org/tiny-shop/actions/runs/${producer!.workflowRunId}/artifacts?name=trellis-result-${producer!.id}&per_page=100`,
      );

      // Nothing was committed: no createCommitOnBranch, no Git database commit, no branch, no pull request.
      const bodies = sb.requests.map((r) => JSON.stringify(r.body ?? ""));
      expect(bodies.some((b) => b.includes("createCommitOnBranch"))).toBe(false);
      expect(sb.requests.some((r) => r.method === "POST" && /\/git\/(commits|refs)\b/.test(r.url))).toBe(
        false,
      );
      expect(await sb.repo().backend.resolve(branchName(issue.number, issue.title))).toBeUndefined();
      expect([...sb.repo().issues.values()].some((i) => i.pull)).toBe(false);

      // The stage's check run says why, with the reviewer's findings (the App writes it once the state is stored).
      const check = await sb.waitFor(
        "the check run blocked by the security review",
        () =>
          [...sb.repo().checkRuns.values()].find(
            (c) => c.externalId?.includes(run.id) && c.output.title === "Blocked by security review",
          ),
        60_000,
      );
      expect(check.conclusion).toBe("failure");
      expect(check.output.summary).toContain("https://evil.example");
    },
    TIMEOUT,
  );

  test(
    "a security review that approves lets the App commit the proposal and open the pull request",
    async () => {
      const issue = sb.human.openIssue({ title: "Add a greeting banner", body: "Say hello." });
      sb.human.label(issue.number, "workflow:guarded");
      const run = await waitRun(
        issue.number,
        "the pull request opened after the security review approved",
        (r) => r.stages["dev"]?.waitingFor === "merge",
      );
      const [producer, detection] = run.stages["dev"]!.attempts;
      expect(detection?.result?.review?.verdict).toBe("approve");
      // The App's own commit of the producer's proposal, on the run's branch.
      expect(producer?.commit?.branch).toBe(branchName(issue.number, issue.title));
      const head = await sb.repo().backend.resolve(producer!.commit!.branch);
      expect(head).toBe(producer!.commit!.headSha);
      const file = await sb.repo().backend.read(head!, "src/add-a-greeting-banner.js");
      expect(file?.type === "file" && file.content.toString()).toContain(
        "export function addAGreetingBanner",
      );
    },
    TIMEOUT,
  );
});
