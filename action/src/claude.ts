/**
 * Running the real Claude Code CLI: argument building (pure) and the execa shell around it —
 * streaming the transcript, enforcing the stage timeout and the cost cap.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { AgentProfile } from "../../src/core/model.js";
import { scrubSecrets } from "../../src/core/secrets.js";
import {
  agentFailureReason,
  emptyOutcome,
  foldEvent,
  formatUsd,
  parseStreamLine,
  renderEvent,
} from "./stream.js";
import type { AgentOutcome } from "./stream.js";

export type PermissionMode = "acceptEdits" | "bypassPermissions" | "default" | "plan";

/**
 * A profile that lists its tools gets exactly those pre-approved (anything else is denied, since no
 * human can answer a prompt in `-p` mode). An autonomous profile without a list runs unprompted —
 * the runner is a throwaway sandbox.
 */
export function permissionModeFor(profile: AgentProfile): PermissionMode {
  if (profile.tools === undefined && profile.permission === "autonomous") return "bypassPermissions";
  return "acceptEdits";
}

export interface ClaudeArgsInput {
  prompt: string;
  profile: AgentProfile;
  maxTurns?: number;
  model?: string;
  costCapUsd?: number;
  /** Extra CLI arguments from the `claude_args` input (already split). */
  extra?: string[];
}

const MODEL_ALIASES = new Set(["sonnet", "opus", "haiku"]);

export function claudeArgs(input: ClaudeArgsInput): string[] {
  const { profile } = input;
  const args = ["-p", input.prompt, "--output-format", "stream-json", "--verbose"];
  args.push("--max-turns", String(input.maxTurns ?? profile.maxTurns));
  const model = input.model ?? profile.model;
  if (model && model !== "inherit") args.push("--model", MODEL_ALIASES.has(model) ? model : model);
  if (profile.tools && profile.tools.length > 0) {
    // --tools limits what exists at all (`Bash(npm test:*)` → Bash); --allowedTools pre-approves the exact forms.
    const available = [...new Set(profile.tools.map((t) => t.replace(/\(.*\)$/, "")))];
    args.push("--tools", available.join(","), "--allowedTools", profile.tools.join(","));
  }
  if (profile.disallowedTools.length > 0) args.push("--disallowedTools", profile.disallowedTools.join(","));
  args.push("--permission-mode", permissionModeFor(profile));
  if (input.costCapUsd !== undefined && input.costCapUsd > 0)
    args.push("--max-budget-usd", String(input.costCapUsd));
  if (profile.prompt.trim()) args.push("--append-system-prompt", profile.prompt);
  args.push(...(input.extra ?? []));
  return args;
}

/** Split `claude_args` like a shell would for simple quoting ("a b" 'c d' e). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3] ?? ""));
  return out;
}

/** `CLAUDE_PATH`, else a node_modules/.bin/claude near the workspace or this file, else npx. */
export function resolveClaude(
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): { file: string; args: string[] } {
  if (env["CLAUDE_PATH"]) return { file: env["CLAUDE_PATH"], args: [] };
  const starts = [resolve(cwd)];
  try {
    starts.push(dirname(fileURLToPath(import.meta.url)));
  } catch {
    // import.meta.url is always a file URL here; keep going without it otherwise.
  }
  for (const start of starts) {
    for (let dir = start; ; dir = dirname(dir)) {
      const candidate = join(dir, "node_modules", ".bin", "claude");
      if (existsSync(candidate)) return { file: candidate, args: [] };
      if (dirname(dir) === dir) break;
    }
  }
  return { file: "npx", args: ["--yes", "@anthropic-ai/claude-code"] };
}

export interface RunClaudeOptions {
  cwd: string;
  args: string[];
  env: Record<string, string | undefined>;
  timeoutMs: number;
  costCapUsd?: number;
  maxTurns?: number;
  /** Where transcript lines go (the job log). */
  log: (line: string) => void;
  /** Secrets to scrub from anything logged. */
  secrets?: string[];
  cli?: { file: string; args: string[] };
}

export interface ClaudeRun {
  outcome: AgentOutcome;
  exitCode?: number;
  timedOut: boolean;
  durationMs: number;
  /** Set when the run is a failure (error, turn limit, timeout, cost cap). */
  failure?: string;
  stderr: string;
}

/** The job's own secrets, then anything shaped like a credential (the transcript is public on public repositories). */
export function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("***");
  return scrubSecrets(out);
}

export async function runClaude(options: RunClaudeOptions): Promise<ClaudeRun> {
  const cli = options.cli ?? resolveClaude(options.cwd);
  const secrets = options.secrets ?? [];
  const log = (line: string): void => options.log(scrub(line, secrets));
  const started = Date.now();
  let outcome = emptyOutcome();
  let costKilled = false;
  const child = execa(cli.file, [...cli.args, ...options.args], {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    stdin: "ignore",
    timeout: options.timeoutMs,
    forceKillAfterDelay: 5_000,
    reject: false,
    maxBuffer: 64 * 1024 * 1024,
    buffer: { stdout: false, stderr: true },
  });
  try {
    for await (const line of child.iterable({ from: "stdout" })) {
      const event = parseStreamLine(String(line));
      if (!event) continue;
      outcome = foldEvent(outcome, event);
      for (const l of renderEvent(event)) log(l);
      // The CLI enforces --max-budget-usd itself; this is the backstop if it reports more.
      if (
        options.costCapUsd !== undefined &&
        options.costCapUsd > 0 &&
        outcome.costUsd > options.costCapUsd
      ) {
        costKilled = true;
        child.kill();
      }
    }
  } catch (error) {
    log(`✗ reading the Claude Code stream failed: ${(error as Error).message}`);
  }
  const result = await child;
  const stderr = scrub(String(result.stderr ?? "").slice(-4_000), secrets);
  const durationMs = Date.now() - started;
  let failure: string | undefined;
  const overCap =
    options.costCapUsd !== undefined && options.costCapUsd > 0 && outcome.costUsd > options.costCapUsd;
  if (result.timedOut)
    failure = `timed out after ${Math.round(options.timeoutMs / 60_000)} min; the agent was stopped`;
  // The CLI's own reason first (it enforces --max-budget-usd and reports it), then our backstops.
  else if (outcome.finished && outcome.isError) failure = agentFailureReason(outcome, options.maxTurns);
  else if (costKilled || overCap)
    failure = `cost cap exceeded: $${formatUsd(outcome.costUsd)} > $${formatUsd(options.costCapUsd ?? 0)}`;
  else if (!outcome.finished && result.exitCode !== 0)
    failure = `Claude Code exited with ${result.exitCode ?? result.signal ?? "?"}${stderr ? `: ${stderr.split("\n").filter(Boolean).slice(-3).join(" | ")}` : ""}`;
  else failure = agentFailureReason(outcome, options.maxTurns);
  if (stderr.trim()) log(`(claude stderr) ${stderr.trim().split("\n").slice(-5).join("\n")}`);
  return {
    outcome,
    exitCode: result.exitCode,
    timedOut: result.timedOut === true,
    durationMs,
    failure,
    stderr,
  };
}
