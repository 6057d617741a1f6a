/**
 * The stage and profile for this attempt, from the built-ins merged with the checked-out repo's
 * definitions (the same loader the App and the CLI use).
 */
import { readBuiltins, readRepoDefinitionFiles } from "../../src/builtins.js";
import { loadDefinitions } from "../../src/core/definitions.js";
import { formatDiagnostic } from "../../src/core/diagnostics.js";
import type { TrellisConfig } from "../../src/core/config.js";
import type { AgentProfile, StageDef } from "../../src/core/model.js";
import { toClaudeSubagent } from "../../src/core/profiles.js";

export interface StageContext {
  config: TrellisConfig;
  profiles: AgentProfile[];
  /** The profiles this attempt runs (one, or several run in parallel worktrees). */
  agents: AgentProfile[];
  stage: StageDef;
  warnings: string[];
}

export async function loadStageContext(
  repoDir: string,
  input: { workflow: string; stage: string; profiles: string[]; timeoutMinutes: number },
): Promise<StageContext> {
  const [builtins, repo] = await Promise.all([readBuiltins(), readRepoDefinitionFiles(repoDir)]);
  const defs = loadDefinitions({ builtins, repo });
  if (!defs.value || defs.errors.length > 0)
    throw new Error(
      `the Trellis definitions are invalid:\n${defs.errors.map(formatDiagnostic).join("\n") || "(no details)"}`,
    );
  const { config, profiles, templates } = defs.value;
  const warnings = defs.warnings.map(formatDiagnostic);
  const agents = input.profiles.map((name) => {
    const profile = profiles.get(name);
    if (!profile)
      throw new Error(
        `unknown agent profile "${name}"; known profiles: ${[...profiles.keys()].sort().join(", ")}`,
      );
    return profile;
  });
  const template = templates.get(input.workflow);
  let stage = template?.stages.find((s) => s.id === input.stage);
  if (!stage) {
    // A one-off `/run <profile>` or a template changed since dispatch: run with no criteria.
    warnings.push(
      template
        ? `stage "${input.stage}" is not in workflow "${input.workflow}"; running without success criteria`
        : `workflow "${input.workflow}" not found; running stage "${input.stage}" without success criteria`,
    );
    stage = {
      id: input.stage,
      profile: input.profiles[0] ?? "dev",
      needs: [],
      timeoutMinutes: input.timeoutMinutes,
      approvals: 0,
      success: {},
      onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "escalate_to_human" } },
      openPr: true,
    };
  }
  return { config, profiles: [...profiles.values()], agents, stage, warnings };
}

export function subagentFiles(profiles: AgentProfile[]): { name: string; markdown: string }[] {
  return profiles.map((p) => ({ name: p.name, markdown: toClaudeSubagent(p) }));
}
