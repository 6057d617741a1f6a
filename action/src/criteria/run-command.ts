import { execa } from "execa";

export interface CommandResult {
  command: string;
  exitCode: number | undefined;
  /** Combined stdout and stderr in arrival order, capped (the head is dropped, summaries are at the end). */
  output: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
  /** Why the command could not run at all (spawn failure). */
  error?: string;
}

export interface RunCommandOptions {
  cwd: string;
  /** The command's whole environment (the Action's own, with its tokens, is not added to it); the Action's when absent. */
  env?: Record<string, string>;
  timeoutMs: number;
  /** Output kept, in characters. */
  maxOutput?: number;
}

export const DEFAULT_MAX_OUTPUT = 1_000_000;
const KILL_GRACE_MS = 2000;

/**
 * Runs a shell command string in its own process group so a timeout kills the whole tree (test
 * runners spawn workers), keeping only the tail of the output. Never throws.
 */
export async function runCommand(command: string, options: RunCommandOptions): Promise<CommandResult> {
  const max = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const started = Date.now();
  let output = "";
  let truncated = false;
  const append = (chunk: Buffer | string): void => {
    output += chunk.toString();
    if (output.length > max * 2) {
      output = output.slice(-max);
      truncated = true;
    }
  };

  let timedOut = false;
  const subprocess = execa(command, {
    shell: true,
    cwd: options.cwd,
    env: { ...options.env, CI: options.env?.CI ?? process.env.CI ?? "true", FORCE_COLOR: "0" },
    // Given an environment, the command gets only that: the project's tests are the agent's code.
    extendEnv: options.env === undefined,
    stdin: "ignore",
    buffer: false,
    reject: false,
    detached: process.platform !== "win32",
  });
  subprocess.stdout?.on("data", append);
  subprocess.stderr?.on("data", append);

  const killTree = (signal: NodeJS.Signals): void => {
    const pid = subprocess.pid;
    if (pid === undefined) return;
    try {
      if (process.platform === "win32") subprocess.kill(signal);
      else process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killTree("SIGTERM");
    // Not cleared on exit: grandchildren that ignore SIGTERM outlive the shell.
    setTimeout(() => killTree("SIGKILL"), KILL_GRACE_MS).unref();
  }, options.timeoutMs);

  try {
    const result = await subprocess;
    if (output.length > max) {
      output = output.slice(-max);
      truncated = true;
    }
    const out: CommandResult = {
      command,
      exitCode: result.exitCode,
      output,
      truncated,
      timedOut,
      durationMs: Date.now() - started,
    };
    if (result.failed && result.exitCode === undefined && !timedOut) {
      out.error = result.shortMessage ?? result.message;
    }
    return out;
  } catch (e) {
    return {
      command,
      exitCode: undefined,
      output,
      truncated,
      timedOut,
      durationMs: Date.now() - started,
      error: (e as Error).message,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The last `n` lines of the output, for details and logs. */
export function tail(output: string, n = 20): string {
  const lines = output.trimEnd().split("\n");
  return lines.slice(-n).join("\n");
}
