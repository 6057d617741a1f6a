/**
 * The environment the agent and the project's commands (tests, BDD, coverage) run with.
 *
 * What this does NOT isolate, because the runner gives the agent the Action's own user: any process of that user can
 * read `/proc/<pid>/environ` of the Action (the agent's parent, `$PPID`), and so the step's INPUT_GITHUB_TOKEN,
 * INPUT_ANTHROPIC_API_KEY and the runner's ACTIONS_RUNTIME_TOKEN / ACTIONS_RESULTS_URL (Node cannot rewrite its own
 * initial environment block); the same user can also read the Action's files in RUNNER_TEMP and leave a process
 * running after the agent. So the design keeps those secrets worth little: the job's GitHub token is read-only
 * (`contents: read`, nothing that writes), the Action never pushes, and the App re-checks every proposal. What is left:
 * the Anthropic key can be spent, and ACTIONS_RUNTIME_TOKEN can write the Actions cache for the dispatch ref (the
 * default branch), so no workflow should restore a cache the agent's job could have saved (the agent workflow saves
 * none: setup-node's package-manager cache is off). Running the agent as another user or in a container is the way
 * to close these, and is not done here.
 */

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
