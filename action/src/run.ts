/**
 * The Action's pipeline: inputs → spec → stage/profile → issue → workspace → Claude Code → criteria
 * → commit/push → result + job summary. Every failure still leaves a result for the App.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as core from "@actions/core";
import { getOctokit } from "@actions/github";
import { DispatchSpecSchema } from "../../src/core/dispatch.js";
import type { DispatchSpec } from "../../src/core/dispatch.js";
import type { AgentProfile, SuccessCriteria } from "../../src/core/model.js";
import { parseRefined } from "../../src/core/batch/refined.js";
import {
  AgentResultSchema,
  REFINED_FILE,
  REFINED_MAX_CHARS,
  RESULT_FILE,
  RESULT_VERSION,
} from "../../src/core/result.js";
import type { AgentResult, CriterionOutcome } from "../../src/core/result.js";
import { scrubAgentText, scrubResult } from "../../src/core/secrets.js";
import { claudeArgs, permissionModeFor, runClaude, splitArgs } from "./claude.js";
import type { ClaudeRun } from "./claude.js";
import type { CriteriaReport } from "./criteria/index.js";
import { loadStageContext, subagentFiles } from "./definitions.js";
import type { StageContext } from "./definitions.js";
import { runParallel } from "./parallel.js";
import { buildPrompt, promptComments } from "./prompt.js";
import type { IssueText } from "./prompt.js";
import { renderSummary } from "./summary.js";
import {
  commitStaged,
  headSha,
  materialiseAgents,
  changedSince,
  checkoutBranch,
  fetchOrigin,
  ignoreTrellisDir,
  protectedViolations,
  pushBranch,
  readQuestion,
  readRefined,
  readReview,
  resetSteering,
  stageChanges,
  stagePaths,
  unstageAll,
} from "./workspace.js";

/** The inputs action.yml declares; a test keeps the two in sync. */
export const INPUT_NAMES = [
  "spec",
  "attempt_id",
  "issue",
  "stage",
  "profile",
  "github_token",
  "anthropic_api_key",
  "claude_args",
] as const;
export const OUTPUT_NAMES = ["result", "status", "branch", "result_path"] as const;

/** Seams for tests and the sandbox; the defaults are the real things. */
export interface RunDeps {
  loadStage: typeof loadStageContext;
  checkCriteria: (
    cwd: string,
    criteria: SuccessCriteria,
    options: {
      testCommand?: string;
      bddCommand?: string;
      coverageFile?: string;
      env?: Record<string, string>;
    },
  ) => Promise<CriteriaReport>;
  fetchIssue: (spec: DispatchSpec, token: string) => Promise<IssueText>;
  log: (line: string) => void;
  now: () => number;
}

export async function fetchIssue(spec: DispatchSpec, token: string): Promise<IssueText> {
  // A refine attempt's context came with the dispatch: no request needed.
  const context = spec.ticket?.context;
  if (context) return { number: spec.issue, title: context.title, body: context.body, comments: [] };
  // @actions/github routes through undici's own fetch for proxy support; without a proxy the
  // platform fetch does the same job (and is what request interceptors in tests see).
  const proxied = ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"].some((k) => process.env[k]);
  const octokit = getOctokit(token, {
    baseUrl: process.env["GITHUB_API_URL"] || "https://api.github.com",
    ...(proxied ? {} : { request: { fetch: globalThis.fetch } }),
  });
  const params = { owner: spec.repo.owner, repo: spec.repo.name, issue_number: spec.issue };
  // A refine attempt's issue is the tracking issue: its task list is the context, its comments are Trellis's own.
  const [{ data: issue }, { data: comments }] = await Promise.all([
    octokit.rest.issues.get(params),
    spec.ticket ? { data: [] } : octokit.rest.issues.listComments({ ...params, per_page: 100 }),
  ]);
  return {
    number: issue.number,
    title: issue.title,
    body: issue.body ?? "",
    author: issue.user?.login,
    // The App's own status comments are noise for the agent.
    comments: comments
      .filter((c) => !(c.user?.type === "Bot" && /<!--\s*trellis/i.test(c.body ?? "")))
      .map((c) => ({
        author: c.user?.login ?? "unknown",
        body: c.body ?? "",
        createdAt: c.created_at,
        updatedAt: c.updated_at,
        association: c.author_association,
      })),
  };
}

const defaultDeps: RunDeps = {
  loadStage: loadStageContext,
  // Loaded when needed, after the agent: the checkers (gherkin, cucumber messages…) are a separate
  // chunk of the bundle, so they cost nothing before the agent starts.
  checkCriteria: async (cwd, criteria, options) =>
    (await import("./criteria/index.js")).checkCriteria(cwd, criteria, options),
  fetchIssue,
  log: (line) => core.info(line),
  now: () => Date.now(),
};

// Only these variables reach the agent and the project's commands: no GitHub token, no INPUT_*.
const PASS_ENV =
  /^(PATH|HOME|USER|LANG|LC_\w+|TZ|TMPDIR|TEMP|TMP|SHELL|CI|RUNNER_\w+|NODE_\w+|npm_config_\w+|ANTHROPIC_BASE_URL|ANTHROPIC_MODEL|ANTHROPIC_SMALL_FAST_MODEL|CLAUDE_CODE_\w+|CLAUDE_CONFIG_DIR|DISABLE_\w+|IS_SANDBOX|GITHUB_WORKSPACE|GITHUB_REPOSITORY|GITHUB_RUN_ID)$/;

export function agentEnv(env: NodeJS.ProcessEnv, apiKey: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && PASS_ENV.test(k)) out[k] = v;
  out["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] ??= "1";
  out["DISABLE_AUTOUPDATER"] ??= "1";
  out["DISABLE_TELEMETRY"] ??= "1";
  out["DISABLE_ERROR_REPORTING"] ??= "1";
  if (apiKey) out["ANTHROPIC_API_KEY"] = apiKey;
  return out;
}

interface RawInputs {
  spec: string;
  attemptId: string;
  issue: string;
  stage: string;
  profile: string;
  githubToken: string;
  anthropicKey: string;
  claudeArgs: string;
}

function readInputs(): RawInputs {
  const get = (name: string): string => core.getInput(name);
  return {
    spec: get("spec"),
    attemptId: get("attempt_id"),
    issue: get("issue"),
    stage: get("stage"),
    profile: get("profile"),
    githubToken: get("github_token") || process.env["GITHUB_TOKEN"] || "",
    anthropicKey: get("anthropic_api_key") || process.env["ANTHROPIC_API_KEY"] || "",
    claudeArgs: get("claude_args"),
  };
}

export function parseSpec(raw: RawInputs): DispatchSpec {
  if (!raw.spec.trim())
    throw new Error("input `spec` is empty: the workflow must pass the App's dispatch spec");
  let json: unknown;
  try {
    json = JSON.parse(raw.spec);
  } catch (error) {
    throw new Error(`input \`spec\` is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = DispatchSpecSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `input \`spec\` does not match the dispatch contract: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const spec = parsed.data;
  const mismatch = [
    raw.attemptId && raw.attemptId !== spec.attemptId
      ? `attempt_id ${raw.attemptId} ≠ ${spec.attemptId}`
      : "",
    raw.issue && Number(raw.issue) !== spec.issue ? `issue ${raw.issue} ≠ ${spec.issue}` : "",
    raw.stage && raw.stage !== spec.stage ? `stage ${raw.stage} ≠ ${spec.stage}` : "",
    raw.profile && raw.profile !== spec.profile ? `profile ${raw.profile} ≠ ${spec.profile}` : "",
  ].filter(Boolean);
  if (mismatch.length > 0) throw new Error(`inputs disagree with the spec: ${mismatch.join(", ")}`);
  return spec;
}

function criteriaDetail(outcomes: CriterionOutcome[]): string {
  return outcomes
    .filter((c) => !c.passed)
    .map((c) => `${c.criterion}: ${c.detail}`)
    .join("; ");
}

interface AgentWork {
  runs: ClaudeRun[];
  conflicts: string[];
  /** Questions and verdicts written in sub-agent worktrees (`.trellis/` is not merged back). */
  questions: string[];
  reviews: NonNullable<AgentResult["review"]>[];
}

async function runAgents(
  cwd: string,
  spec: DispatchSpec,
  ctx: StageContext,
  issue: IssueText,
  inputs: RawInputs,
  deps: RunDeps,
  phase: (name: string) => void,
): Promise<AgentWork> {
  const env = agentEnv(process.env, inputs.anthropicKey);
  const timeoutMs =
    Number(process.env["TRELLIS_AGENT_TIMEOUT_MS"]) || Math.max(1, spec.timeoutMinutes - 2) * 60_000;
  const secrets = [inputs.githubToken, inputs.anthropicKey].filter(Boolean);
  const one = async (dir: string, profile: AgentProfile, costCap: number): Promise<ClaudeRun> => {
    await materialiseAgents(dir, subagentFiles(ctx.profiles));
    const prompt = buildPrompt({
      spec,
      profile,
      stage: ctx.stage,
      issue,
      commands: { test: ctx.config.commands.test, bdd: ctx.config.commands.bdd },
      protectedPaths: ctx.config.allow_protected_paths ? [] : ctx.config.protected_paths,
    });
    const args = claudeArgs({ prompt, profile, costCapUsd: costCap, extra: splitArgs(inputs.claudeArgs) });
    const mode = permissionModeFor(profile);
    const cpu = process.cpuUsage();
    phase(`spawn ${profile.name} (cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms)`);
    return runClaude({
      cwd: dir,
      args,
      env: mode === "bypassPermissions" ? { ...env, IS_SANDBOX: "1" } : env,
      timeoutMs,
      costCapUsd: costCap,
      maxTurns: profile.maxTurns,
      log: (line) => deps.log(ctx.agents.length > 1 ? `[${profile.name}] ${line}` : line),
      secrets,
    });
  };
  if (ctx.agents.length === 1)
    return {
      runs: [await one(cwd, ctx.agents[0]!, spec.costCapUsd)],
      conflicts: [],
      questions: [],
      reviews: [],
    };
  // Several profiles: their own worktrees, merged back in the order given; the cap is shared.
  const share = spec.costCapUsd / ctx.agents.length;
  // Collected per profile, reported in the order the profiles were given (not the order they finished).
  const questions = new Map<string, string>();
  const reviews = new Map<string, AgentWork["reviews"][number]>();
  const parallel = await runParallel(
    cwd,
    ctx.agents.map((profile) => ({
      name: profile.name,
      work: async (dir: string) => {
        const r = await one(dir, profile, share);
        await resetSteering(dir);
        const question = await readQuestion(dir);
        if (question) questions.set(profile.name, `${profile.name}: ${question}`);
        const review = await readReview(dir);
        if (review) reviews.set(profile.name, { ...review, comments: `${profile.name}: ${review.comments}` });
        return r;
      },
    })),
  );
  const runs = parallel.outcomes.flatMap((o) => (o.value ? [o.value] : []));
  const conflicts = parallel.conflicts.map((c) => `${c.name}: ${c.files.join(", ") || "unknown files"}`);
  for (const o of parallel.outcomes) if (o.error) conflicts.push(`${o.name}: crashed (${o.error})`);
  const inOrder = <T>(m: Map<string, T>): T[] =>
    ctx.agents.flatMap((p) => (m.has(p.name) ? [m.get(p.name)!] : []));
  return { runs, conflicts, questions: inOrder(questions), reviews: inOrder(reviews) };
}

/** Run the whole attempt; returns the result it wrote. */
export async function run(overrides: Partial<RunDeps> = {}): Promise<AgentResult> {
  const deps: RunDeps = { ...defaultDeps, ...overrides };
  const started = deps.now();
  core.debug(`trellis phase run() entered ${Math.round(performance.now())} ms after process start`);
  // Phase timings go to the debug log (shown with ACTIONS_STEP_DEBUG); the benchmark reads them too.
  const phase = (name: string): void =>
    core.debug(`trellis phase ${name} +${Math.round(deps.now() - started)} ms`);
  const inputs = readInputs();
  for (const secret of [inputs.githubToken, inputs.anthropicKey]) if (secret) core.setSecret(secret);
  const cwd = process.env["GITHUB_WORKSPACE"] || process.cwd();
  let result: AgentResult = AgentResultSchema.parse({
    version: RESULT_VERSION,
    attemptId: inputs.attemptId || "unknown",
    stage: inputs.stage || "unknown",
    profile: inputs.profile || "unknown",
    status: "error",
    summary: "",
  });
  const extra: { denials: string[]; conflicts: string[] } = { denials: [], conflicts: [] };
  try {
    const spec = parseSpec(inputs);
    result = {
      ...result,
      attemptId: spec.attemptId,
      stage: spec.stage,
      profile: spec.profile,
      baseRef: spec.baseRef,
    };
    phase("spec");
    if (!inputs.githubToken) throw new Error("no GitHub token: set the `github_token` input");
    // Independent, so concurrent. Definitions are read from the dispatch ref's checkout, before the
    // attempt's branch is checked out: a PR branch cannot change the profiles, config or protected paths.
    const [ctx, fetched] = await Promise.all([
      deps.loadStage(cwd, {
        workflow: spec.workflow,
        stage: spec.stage,
        profiles: spec.profile.split("+").filter(Boolean),
        timeoutMinutes: spec.timeoutMinutes,
      }),
      deps.fetchIssue(spec, inputs.githubToken).catch((error: unknown) => {
        throw new Error(`could not read issue #${spec.issue}: ${(error as Error).message}`);
      }),
      // A refine attempt works on the dispatch ref's checkout as it is: no branch to fetch or check out.
      spec.ticket ? ignoreTrellisDir(cwd) : fetchOrigin(cwd),
    ]);
    phase("definitions+issue+fetch");
    // Only what existed when a human started the run, and only insiders' comments unless the config says otherwise.
    const issue = promptComments(fetched, {
      triggeredAt: spec.triggeredAt,
      includeOutsiders: ctx.config.prompt.include_outside_comments,
    });
    for (const w of ctx.warnings) core.warning(w);
    if (spec.ticket) {
      core.startGroup(
        `Claude Code: ${ctx.agents.map((a) => a.name).join(" + ")} refining ${spec.ticket.key}`,
      );
      let work: AgentWork;
      try {
        work = await runAgents(cwd, spec, ctx, issue, inputs, deps, phase);
      } finally {
        core.endGroup();
      }
      extra.denials = work.runs.flatMap((r) =>
        r.outcome.permissionDenials.map((d) => `${d.tool}(${d.input})`),
      );
      result = await finishRefine(cwd, result, work);
    } else {
      const prep = await checkoutBranch(cwd, spec.branch, spec.baseRef);
      const startSha = prep.startSha;
      phase("workspace");
      if (prep.restored.length > 0)
        deps.log(
          `Restored ${prep.restored.join(", ")} from ${spec.baseRef} so the branch cannot reprogram the agent.`,
        );

      core.startGroup(`Claude Code: ${ctx.agents.map((a) => a.name).join(" + ")} on ${spec.stage}`);
      let work: AgentWork;
      try {
        work = await runAgents(cwd, spec, ctx, issue, inputs, deps, phase);
      } finally {
        core.endGroup();
      }
      const runs = work.runs;
      extra.conflicts = work.conflicts;
      extra.denials = runs.flatMap((r) => r.outcome.permissionDenials.map((d) => `${d.tool}(${d.input})`));
      result = { ...result, ...usageOf(runs) };
      const { question, agentFailure } = await whatAgentsSaid(cwd, work);
      // Several reviewers in one job: any request for changes wins over approvals.
      const review =
        (await readReview(cwd)) ??
        work.reviews.find((r) => r.verdict === "request_changes") ??
        work.reviews[0];
      if (review) result.review = review;

      const touchedSteering = await resetSteering(cwd);
      const agentTouched = touchedSteering.filter((p) => !p.startsWith(".claude/agents/"));
      if (agentTouched.length > 0)
        core.warning(`Ignored the agent's changes to agent set-up files: ${agentTouched.join(", ")}`);
      const staged = await stageChanges(cwd);
      // This attempt's changes: staged work plus commits merged from sub-agent worktrees.
      const files = [...new Set([...(await changedSince(cwd, startSha)), ...staged])].sort();
      result.filesChanged = files;
      const violations = ctx.config.allow_protected_paths
        ? []
        : protectedViolations(files, ctx.config.protected_paths);

      let criteria: CriteriaReport | undefined;
      if (
        !agentFailure &&
        !question &&
        violations.length === 0 &&
        Object.keys(ctx.stage.success).length > 0
      ) {
        core.startGroup("Success criteria");
        try {
          criteria = await deps.checkCriteria(cwd, ctx.stage.success, {
            testCommand: ctx.config.commands.test,
            bddCommand: ctx.config.commands.bdd,
            coverageFile: ctx.config.commands.coverage || undefined,
            env: agentEnv(process.env, undefined),
          });
        } finally {
          core.endGroup();
        }
        for (const l of criteria.logs ?? [])
          deps.log(
            `$ ${l.command} → exit ${l.exitCode ?? "?"} (${l.durationMs} ms)\n${l.output.slice(-4_000)}`,
          );
        // Reports the criteria run wrote (coverage/, junit.xml) are not part of the agent's change.
        await unstageAll(cwd);
        await stagePaths(cwd, staged);
        result = {
          ...result,
          criteria: criteria.criteria,
          tests: criteria.tests,
          scenarios: criteria.scenarios,
          scenarioCoverage: criteria.scenarioCoverage,
          coverage: criteria.coverage,
          annotations: criteria.annotations,
        };
      }

      if (violations.length > 0) {
        await unstageAll(cwd);
        result.status = "failed";
        result.reason = `refused changes to protected paths: ${violations.join(", ")} (set allow_protected_paths in .github/trellis.yml to allow)`;
        result.filesChanged = files;
      } else {
        const sha = await commitStaged(
          cwd,
          `trellis: ${spec.stage} for #${spec.issue} (${spec.profile}, attempt ${spec.attempt})\n\nTrellis-Attempt: ${spec.attemptId}`,
        );
        if (sha || prep.existingBranch || (await headSha(cwd)) !== startSha) {
          await pushBranch(cwd, spec.branch);
          result.branch = spec.branch;
        }
        result.headSha = await headSha(cwd);
        const said = verdictOf(question, agentFailure);
        if (said) Object.assign(result, said);
        else if (work.conflicts.length > 0) {
          result.status = "failed";
          result.reason = `sub-agent work could not be merged: ${work.conflicts.join("; ")}`;
        } else if (criteria && criteria.criteria.some((c) => !c.passed)) {
          result.status = "failed";
          result.reason = criteriaDetail(criteria.criteria);
        } else {
          result.status = "succeeded";
        }
      }
    }
  } catch (error) {
    result.status = "error";
    result.reason = (error as Error).message.split("\n")[0];
    result.summary = result.summary || (error as Error).message;
  }
  return finish(result, extra, deps, started, [inputs.githubToken, inputs.anthropicKey]);
}

/**
 * The result leaves the job scrubbed: every agent-written text (summary, question, review, reason, failures…) with
 * the job's own tokens and anything shaped like a credential masked, before the file, the outputs and the job summary
 * are written. The App scrubs again before it posts anything.
 */
async function finish(
  raw: AgentResult,
  rawExtra: { denials: string[]; conflicts: string[] },
  deps: RunDeps,
  started: number,
  secrets: string[],
): Promise<AgentResult> {
  const known = secrets.filter(Boolean);
  const result = scrubResult(raw, known);
  const extra = {
    denials: rawExtra.denials.map((d) => scrubAgentText(d, known)),
    conflicts: rawExtra.conflicts.map((c) => scrubAgentText(c, known)),
  };
  result.durationMs = Math.max(0, Math.round(deps.now() - started));
  await publish(result, extra);
  return result;
}

/**
 * A refine attempt's outcome: `.trellis/refined.md` travels back in the result (the App creates the issue from it),
 * checked with the App's own parser so an unreadable file fails here, where the job summary shows why. Whatever else
 * the agent changed stays on the runner: a refine attempt never commits, pushes or opens a pull request.
 */
async function finishRefine(cwd: string, base: AgentResult, work: AgentWork): Promise<AgentResult> {
  const runs = work.runs;
  const result: AgentResult = { ...base, ...usageOf(runs), filesChanged: [] };
  const { question, agentFailure } = await whatAgentsSaid(cwd, work);
  await resetSteering(cwd);
  const refined = await readRefined(cwd, REFINED_MAX_CHARS);
  const parsed = refined !== undefined ? parseRefined(refined) : undefined;
  result.criteria = [
    {
      criterion: "file_created",
      passed: refined !== undefined,
      detail: refined !== undefined ? `${REFINED_FILE} written` : `${REFINED_FILE} is missing`,
    },
  ];
  if (refined !== undefined) result.refined = refined;
  const said = verdictOf(question, agentFailure);
  if (said) Object.assign(result, said);
  else if (!parsed) {
    result.status = "failed";
    result.reason = `the agent wrote no ${REFINED_FILE}`;
  } else if (!parsed.ok) {
    result.status = "failed";
    result.reason = `unreadable ${REFINED_FILE}: ${parsed.error}`;
  } else {
    result.status = "succeeded";
  }
  return result;
}

/** The question the agents asked (the main agent's file, else the sub-agents'), and the first agent failure. */
async function whatAgentsSaid(
  cwd: string,
  work: AgentWork,
): Promise<{ question?: string; agentFailure?: string }> {
  const question = (await readQuestion(cwd)) ?? (work.questions.join("\n\n") || undefined);
  const agentFailure = work.runs.map((r) => r.failure).find(Boolean);
  return { ...(question ? { question } : {}), ...(agentFailure ? { agentFailure } : {}) };
}

/** A question asks for input and an agent failure fails the attempt, before anything else is judged. */
function verdictOf(
  question: string | undefined,
  agentFailure: string | undefined,
): Pick<AgentResult, "status" | "question" | "reason"> | undefined {
  if (question) return { status: "needs_input", question, reason: "the agent asked a question" };
  if (agentFailure) return { status: "failed", reason: agentFailure };
  return undefined;
}

async function publish(
  result: AgentResult,
  extra: { denials: string[]; conflicts: string[] },
): Promise<void> {
  const checked = AgentResultSchema.parse(result);
  const json = JSON.stringify(checked);
  const dir = join(process.env["RUNNER_TEMP"] || tmpdir(), "trellis");
  await mkdir(dir, { recursive: true });
  const path = join(dir, RESULT_FILE);
  await writeFile(path, `${JSON.stringify(checked, null, 2)}\n`);
  core.setOutput("result", json);
  core.setOutput("status", checked.status);
  core.setOutput("branch", checked.branch ?? "");
  core.setOutput("result_path", path);
  for (const a of checked.annotations.slice(0, 50)) {
    const props = { file: a.path, startLine: a.start_line, endLine: a.end_line, title: a.title };
    if (a.annotation_level === "failure") core.error(a.message, props);
    else if (a.annotation_level === "warning") core.warning(a.message, props);
    else core.notice(a.message, props);
  }
  if (process.env["GITHUB_STEP_SUMMARY"]) {
    try {
      await core.summary.addRaw(renderSummary(checked, extra)).write();
    } catch (error) {
      core.warning(`could not write the job summary: ${(error as Error).message}`);
    }
  }
  const line = `Trellis ${checked.stage}: ${checked.status}${checked.reason ? ` — ${checked.reason}` : ""}`;
  if (checked.status === "failed" || checked.status === "error") core.setFailed(line);
  else core.info(line);
}

/** What the sub-agents' runs used together (cost, turns, tokens), and their closing summaries. */
function usageOf(
  runs: readonly ClaudeRun[],
): Pick<AgentResult, "costUsd" | "turns" | "tokens" | "sessionId" | "summary"> {
  const sum = (f: (r: ClaudeRun) => number): number => runs.reduce((n, r) => n + f(r), 0);
  return {
    costUsd: sum((r) => r.outcome.costUsd),
    turns: sum((r) => r.outcome.numTurns),
    tokens: {
      input: sum((r) => r.outcome.tokens.input),
      output: sum((r) => r.outcome.tokens.output),
      cacheRead: sum((r) => r.outcome.tokens.cacheRead),
      cacheWrite: sum((r) => r.outcome.tokens.cacheWrite),
    },
    sessionId: runs[0]?.outcome.sessionId,
    summary: runs
      .map((r) => r.outcome.resultText ?? "")
      .filter(Boolean)
      .join("\n\n")
      .slice(0, 60_000),
  };
}
