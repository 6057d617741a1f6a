/**
 * Step 3: Claude Code on the attempt — one agent in the checkout, or several profiles in their own worktrees,
 * merged back in order — and what their runs add up to.
 */
import * as core from "@actions/core";
import type { AgentProfile } from "../../src/core/model.js";
import type { AgentResult } from "../../src/core/result.js";
import { claudeArgs, permissionModeFor, runClaude, splitArgs } from "./claude.js";
import type { ClaudeRun } from "./claude.js";
import type { StepDeps } from "./deps.js";
import { subagentFiles } from "./definitions.js";
import { agentEnv } from "./env.js";
import { runParallel } from "./parallel.js";
import type { Attempt } from "./prepare.js";
import { detectionPrompt } from "./detection-prompt.js";
import { buildPrompt } from "./prompt.js";
import type { PromptInput } from "./prompt.js";
import { materialiseAgents, readQuestion, readReview, resetSteering } from "./workspace.js";

export interface AgentWork {
  runs: ClaudeRun[];
  conflicts: string[];
  /** Questions and verdicts written in sub-agent worktrees (`.trellis/` is not merged back). */
  questions: string[];
  reviews: NonNullable<AgentResult["review"]>[];
}

/** Run the attempt's agents inside a log group. */
export async function runAgents(attempt: Attempt, deps: StepDeps): Promise<AgentWork> {
  const names = attempt.ctx.agents.map((a) => a.name).join(" + ");
  const ticket = attempt.spec.ticket;
  core.startGroup(
    ticket
      ? `Claude Code: ${names} refining ${ticket.key}`
      : `Claude Code: ${names} on ${attempt.spec.stage}`,
  );
  try {
    return await runAll(attempt, deps);
  } finally {
    core.endGroup();
  }
}

async function runAll(attempt: Attempt, deps: StepDeps): Promise<AgentWork> {
  const { cwd, spec, ctx, issue, inputs } = attempt;
  const env = agentEnv(process.env, inputs.anthropicKey);
  const timeoutMs =
    Number(process.env["TRELLIS_AGENT_TIMEOUT_MS"]) || Math.max(1, spec.timeoutMinutes - 2) * 60_000;
  const secrets = [inputs.githubToken, inputs.anthropicKey].filter(Boolean);
  const one = async (dir: string, profile: AgentProfile, costCap: number): Promise<ClaudeRun> => {
    await materialiseAgents(dir, subagentFiles(ctx.profiles));
    const input: PromptInput = {
      spec,
      profile,
      stage: ctx.stage,
      issue,
      commands: { test: ctx.config.commands.test, bdd: ctx.config.commands.bdd },
      protectedPaths: ctx.config.allow_protected_paths ? [] : ctx.config.protected_paths,
    };
    const prompt = attempt.kind === "detect" ? detectionPrompt(input, attempt.proposal) : buildPrompt(input);
    const args = claudeArgs({ prompt, profile, costCapUsd: costCap, extra: splitArgs(inputs.claudeArgs) });
    const mode = permissionModeFor(profile);
    const cpu = process.cpuUsage();
    deps.phase(`spawn ${profile.name} (cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms)`);
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

/** The question the agents asked (the main agent's file, else the sub-agents'), and the first agent failure. */
export async function whatAgentsSaid(
  cwd: string,
  work: AgentWork,
): Promise<{ question?: string; agentFailure?: string }> {
  const question = (await readQuestion(cwd)) ?? (work.questions.join("\n\n") || undefined);
  const agentFailure = work.runs.map((r) => r.failure).find(Boolean);
  return { ...(question ? { question } : {}), ...(agentFailure ? { agentFailure } : {}) };
}

/** The tool calls the agents were refused, for the job summary. */
export function denialsOf(runs: readonly ClaudeRun[]): string[] {
  return runs.flatMap((r) => r.outcome.permissionDenials.map((d) => `${d.tool}(${d.input})`));
}

/** What the sub-agents' runs used together (cost, turns, tokens), and their closing summaries. */
export function usageOf(
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
