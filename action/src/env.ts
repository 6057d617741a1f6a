/** The environment the agent and the project's commands (tests, BDD, coverage) run with. */

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
