import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  claudeArgs,
  permissionModeFor,
  resolveClaude,
  runClaude,
  scrub,
  splitArgs,
} from "../../action/src/claude.js";
import type { AgentProfile } from "../../src/core/model.js";

const profile = (over: Partial<AgentProfile> = {}): AgentProfile => ({
  name: "dev",
  description: "d",
  role: "dev",
  tools: ["Read", "Write", "Bash(npm test:*)", "Bash(git diff:*)"],
  disallowedTools: ["WebFetch"],
  model: "sonnet",
  maxTurns: 30,
  timeoutMinutes: 30,
  permission: "autonomous",
  maxParallel: 1,
  prompt: "You are dev.",
  source: "agent-profiles/dev.md",
  ...over,
});

describe("claudeArgs", () => {
  it("maps a profile onto the CLI's flags", () => {
    const args = claudeArgs({
      prompt: "do it",
      profile: profile(),
      costCapUsd: 2.5,
      extra: ["--fallback-model", "haiku"],
    });
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    expect(args.slice(0, 5)).toEqual(["-p", "do it", "--output-format", "stream-json", "--verbose"]);
    expect(flag("--max-turns")).toBe("30");
    expect(flag("--model")).toBe("sonnet");
    expect(flag("--tools")).toBe("Read,Write,Bash");
    expect(flag("--allowedTools")).toBe("Read,Write,Bash(npm test:*),Bash(git diff:*)");
    expect(flag("--disallowedTools")).toBe("WebFetch");
    expect(flag("--permission-mode")).toBe("acceptEdits");
    expect(flag("--max-budget-usd")).toBe("2.5");
    expect(flag("--append-system-prompt")).toBe("You are dev.");
    expect(args.slice(-2)).toEqual(["--fallback-model", "haiku"]);
  });
  it("runs an autonomous profile without a tool list unprompted, and omits what is unset", () => {
    const p = profile({ tools: undefined, disallowedTools: [], model: "inherit", prompt: " " });
    expect(permissionModeFor(p)).toBe("bypassPermissions");
    expect(permissionModeFor({ ...p, permission: "supervised" })).toBe("acceptEdits");
    const args = claudeArgs({ prompt: "x", profile: p, maxTurns: 3 });
    for (const f of [
      "--model",
      "--tools",
      "--allowedTools",
      "--disallowedTools",
      "--append-system-prompt",
      "--max-budget-usd",
    ])
      expect(args).not.toContain(f);
    expect(args[args.indexOf("--max-turns") + 1]).toBe("3");
  });
  it("splits claude_args like a shell", () => {
    expect(splitArgs(`--a 1 --b "two words" --c 'x y' --d "q\\"uote"`)).toEqual([
      "--a",
      "1",
      "--b",
      "two words",
      "--c",
      "x y",
      "--d",
      'q"uote',
    ]);
    expect(splitArgs("  ")).toEqual([]);
  });
  it("finds the CLI: CLAUDE_PATH, then node_modules/.bin, else npx", () => {
    expect(resolveClaude("/x", { CLAUDE_PATH: "/opt/claude" })).toEqual({ file: "/opt/claude", args: [] });
    expect(resolveClaude(process.cwd(), {}).file).toMatch(/node_modules\/\.bin\/claude$/);
  });
  it("scrubs secrets", () => {
    expect(scrub("token ghs_abc123 and ghs_abc123", ["ghs_abc123", ""])).toBe("token *** and ***");
  });
});

/** A stand-in CLI (a node script) whose behaviour the test picks through FAKE_MODE. */
function fakeCli(): string {
  const dir = mkdtempSync(join(tmpdir(), "trellis-fakecli-"));
  const file = join(dir, "claude");
  writeFileSync(
    file,
    `#!/usr/bin/env node
const mode = process.env.FAKE_MODE;
const out = (e) => process.stdout.write(JSON.stringify(e) + "\\n");
out({ type: "system", subtype: "init", session_id: "s1", model: "m", claude_code_version: "fake" });
out({ type: "assistant", session_id: "s1", message: { content: [{ type: "text", text: "key=" + process.env.ANTHROPIC_API_KEY }] } });
if (mode === "hang") setInterval(() => {}, 1000);
else if (mode === "expensive") {
  let cost = 0;
  const t = setInterval(() => { cost += 1; out({ type: "result", subtype: "success", is_error: false, num_turns: 1, total_cost_usd: cost }); }, 50);
} else if (mode === "crash") { process.stderr.write("boom: segfault\\n"); process.exit(3); }
else out({ type: "result", subtype: "success", is_error: false, num_turns: 1, total_cost_usd: 0.01, session_id: "s1", result: "ok" });
`,
  );
  chmodSync(file, 0o755);
  return file;
}

describe("runClaude (with a stand-in CLI)", () => {
  const cli = { file: fakeCli(), args: [] };
  const base = (mode: string, extra: Partial<Parameters<typeof runClaude>[0]> = {}) => {
    const log: string[] = [];
    const promise = runClaude({
      cwd: tmpdir(),
      args: [],
      env: { PATH: process.env["PATH"], FAKE_MODE: mode, ANTHROPIC_API_KEY: "sk-ant-secret-123" },
      timeoutMs: 10_000,
      log: (l) => log.push(l),
      secrets: ["sk-ant-secret-123"],
      cli,
      ...extra,
    });
    return { log, promise };
  };

  it("streams the transcript with secrets scrubbed and folds the result", async () => {
    const { log, promise } = base("ok");
    const run = await promise;
    expect(run.failure).toBeUndefined();
    expect(run.outcome).toMatchObject({
      finished: true,
      numTurns: 1,
      costUsd: 0.01,
      sessionId: "s1",
      resultText: "ok",
    });
    expect(log).toContain("💬 key=***");
    expect(log.join("\n")).not.toContain("sk-ant-secret-123");
  });

  it("kills the agent at the stage timeout", async () => {
    const { promise } = base("hang", { timeoutMs: 800 });
    const started = Date.now();
    const run = await promise;
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(run.timedOut).toBe(true);
    expect(run.failure).toMatch(/^timed out after/);
  });

  it("stops the agent when the reported cost passes the cap", async () => {
    const { promise } = base("expensive", { costCapUsd: 2.5 });
    const run = await promise;
    expect(run.failure).toMatch(/^cost cap exceeded: \$3\.00 > \$2\.50/);
  });

  it("reports a crash without a result with its exit code and stderr", async () => {
    const { promise } = base("crash");
    const run = await promise;
    expect(run.exitCode).toBe(3);
    expect(run.failure).toBe("Claude Code exited with 3: boom: segfault");
  });

  it("reports a CLI that cannot be started", async () => {
    const { promise } = base("ok", { cli: { file: "/nonexistent/claude", args: [] } });
    const run = await promise;
    expect(run.failure).toMatch(/Claude Code exited with|ENOENT/);
  });
});
