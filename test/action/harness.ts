/**
 * Runs the Action's entry the way a runner does: inputs as INPUT_*, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
 * GITHUB_EVENT_PATH, GITHUB_REPOSITORY, a checked-out workspace — with Claude Code (real CLI) pointed
 * at the scripted Messages API.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { run } from "../../action/src/run.js";
import type { RunDeps } from "../../action/src/deps.js";
import type { DispatchSpec } from "../../src/core/dispatch.js";
import type { AgentResult } from "../../src/core/result.js";
import { cliEnv } from "../../sandbox/src/fake-anthropic.js";
import { examplePayload } from "../support/webhooks.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const CLAUDE_BIN = join(REPO_ROOT, "node_modules", ".bin", "claude");
export const CUCUMBER_BIN = join(REPO_ROOT, "node_modules", "@cucumber", "cucumber", "bin", "cucumber.js");
export const GITHUB_TOKEN = "ghs_e2eSecretTokenThatMustNeverLeak0001";

export function makeSpec(overrides: Partial<DispatchSpec> = {}): DispatchSpec {
  return {
    attemptId: "att_e2e0000000001",
    runId: "run_e2e",
    repo: { owner: "acme", name: "shop" },
    issue: 7,
    workflow: "e2e",
    stage: "dev",
    profile: "e2e-dev",
    attempt: 1,
    branch: "trellis/7-add-sum",
    baseRef: "main",
    feedback: [],
    answers: [],
    costCapUsd: 5,
    timeoutMinutes: 10,
    ...overrides,
  };
}

/** The GITHUB_OUTPUT file format: `name<<DELIM\nvalue\nDELIM`. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(re)) out[m[1]!] = m[3]!;
  return out;
}

// core.summary remembers the first GITHUB_STEP_SUMMARY it sees, so one file serves a whole test file.
const summaryDir = mkdtempSync(join(tmpdir(), "trellis-summary-"));
const summaryFile = join(summaryDir, "step-summary.md");

export interface ActionRun {
  result: AgentResult;
  /** The proposal's patch file beside result.json (it exists only when the result has a proposal). */
  patchFile: string;
  blobsFile: string;
  resultFile: AgentResult;
  outputs: Record<string, string>;
  summary: string;
  log: string[];
  exitCode: number | undefined;
}

export async function runAction(input: {
  work: string;
  spec: DispatchSpec;
  fakeUrl: string;
  env?: Record<string, string>;
  inputs?: Record<string, string>;
  deps?: Partial<RunDeps>;
}): Promise<ActionRun> {
  const temp = mkdtempSync(join(tmpdir(), "trellis-runner-"));
  const home = join(temp, "home");
  mkdirSync(home, { recursive: true });
  const outputFile = join(temp, "output");
  writeFileSync(outputFile, "");
  writeFileSync(summaryFile, "");
  const eventPath = join(temp, "event.json");
  const { spec } = input;
  const inputs: Record<string, string> = {
    spec: JSON.stringify(spec),
    attempt_id: spec.attemptId,
    issue: String(spec.issue),
    stage: spec.stage,
    profile: spec.profile,
    github_token: GITHUB_TOKEN,
    anthropic_api_key: "test",
    claude_args: "",
    ...input.inputs,
  };
  writeFileSync(
    eventPath,
    JSON.stringify(
      examplePayload("workflow_dispatch", undefined, {
        inputs,
        workflow: ".github/workflows/trellis-agent.yml",
      }),
    ),
  );
  const env: Record<string, string> = {
    ...cliEnv(input.fakeUrl, home),
    CLAUDE_PATH: CLAUDE_BIN,
    GITHUB_ACTIONS: "true",
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_EVENT_NAME: "workflow_dispatch",
    GITHUB_REPOSITORY: `${spec.repo.owner}/${spec.repo.name}`,
    GITHUB_WORKSPACE: input.work,
    GITHUB_API_URL: "https://api.github.com",
    RUNNER_TEMP: temp,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    ...input.env,
  };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const log: string[] = [];
  let result: AgentResult;
  let exitCode: number | undefined;
  try {
    result = await run({ log: (line) => log.push(line), ...input.deps });
  } finally {
    exitCode = process.exitCode === undefined ? undefined : Number(process.exitCode);
    process.exitCode = undefined;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  const outputs = parseOutputFile(readFileSync(outputFile, "utf8"));
  const resultFile = JSON.parse(
    readFileSync(outputs["result_path"] ?? join(temp, "trellis", "result.json"), "utf8"),
  ) as AgentResult;
  const patchFile = join(outputs["result_dir"] ?? join(temp, "trellis"), "proposal.patch");
  const blobsFile = join(outputs["result_dir"] ?? join(temp, "trellis"), "proposal.blobs");
  return {
    result,
    patchFile,
    blobsFile,
    resultFile,
    outputs,
    summary: readFileSync(summaryFile, "utf8"),
    log,
    exitCode,
  };
}
