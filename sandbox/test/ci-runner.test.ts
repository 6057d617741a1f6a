import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ciRunner } from "../src/ci-runner.js";
import type { CheckRun, CiJob, Repository, WorkflowRun } from "../src/github/index.js";
import { createGitHubState, createRepoOnDisk, getRepo, parseWorkflowFile } from "../src/github/index.js";

let root: string;
let repo: Repository;
let sha: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sandbox-ci-runner-"));
  const backend = await createRepoOnDisk(join(root, "shop.git"), {
    files: {
      "check.js": "if (process.env.GITHUB_ACTIONS !== 'true') process.exit(3);\nconsole.log('ok');\n",
      "fail.js": "console.error('1 failing'); process.exit(1);\n",
    },
  });
  const state = createGitHubState({ repos: [{ owner: "acme", name: "shop", backend }] });
  repo = getRepo(state, "acme", "shop")!;
  sha = (await backend.resolve("main"))!;
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const job = (...runs: string[]): CiJob =>
  parseWorkflowFile(
    ".github/workflows/ci.yml",
    `on: push\njobs:\n  test:\n    steps:\n      - uses: actions/checkout@v4\n${runs.map((r) => `      - run: ${r}\n`).join("")}`,
  )!.jobs[0]!;

async function execute(j: CiJob, timeoutMs?: number) {
  const run = { id: 7, headSha: sha, headBranch: "main", event: "push" } as WorkflowRun;
  const runner = ciRunner({
    repoDir: () => join(root, "shop.git"),
    dir: root,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  return runner({
    repo,
    run,
    job: j,
    checkRun: {} as CheckRun,
    workflow: parseWorkflowFile("x.yml", "on: push")!,
  });
}

describe("the sandbox's CI runner", () => {
  it("runs the job's steps in a checkout of the head sha, with a runner's environment", async () => {
    expect(await execute(job("node check.js"))).toMatchObject({ conclusion: "success" });
    expect(await readFile(join(root, "ci", "7-test.log"), "utf8")).toContain("ok");
  });

  it("fails the job at the first failing step, and times it out past its limit", async () => {
    expect(await execute(job("node fail.js", "node check.js"))).toMatchObject({
      conclusion: "failure",
      summary: expect.stringMatching(/node fail\.js.*exit code 1/),
    });
    expect(await execute(job("sleep 5"), 300)).toMatchObject({ conclusion: "timed_out" });
  });
});
