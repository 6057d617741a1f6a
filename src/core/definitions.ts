/**
 * Everything Trellis needs to know about a repository, assembled from raw file texts: its config,
 * the agent profiles and the workflow templates, the repo's own files over the built-ins.
 * Pure: the caller reads the files (src/builtins.ts, the App's GitHub reader) and passes their texts.
 */
import { CONFIG_FILE, defaultConfig, parseConfig, suggest, type TrellisConfig } from "./config.js";
import {
  diagnostic,
  parseLocatedYaml,
  type Diagnostic,
  type LocatedYaml,
  type Validation,
} from "./diagnostics.js";
import type { AgentProfile, WorkflowTemplate } from "./model.js";
import { parseNamed } from "./named.js";
import { mergeProfiles, parseProfile } from "./profiles.js";
import { parseTemplate } from "./templates.js";

export interface Definitions {
  config: TrellisConfig;
  profiles: Map<string, AgentProfile>;
  templates: Map<string, WorkflowTemplate>;
}

export interface DefinitionFiles {
  /** Package files by relative path: `agent-profiles/x.md`, `workflow-templates/x.yml`. */
  builtins: ReadonlyMap<string, string>;
  /** Repository files by path: `.github/trellis.yml`, `.github/trellis/agents/*.md`, `.github/trellis/workflows/*.yml`. */
  repo: ReadonlyMap<string, string>;
}

/** The Actions workflow users install lives next to the templates but is not one. */
export const AGENT_WORKFLOW_FILE = "workflow-templates/trellis-agent.yml";
export const REPO_AGENTS_DIR = ".github/trellis/agents/";
export const REPO_WORKFLOWS_DIR = ".github/trellis/workflows/";
/** The profile that refines raw batch tickets when `batch.refine` is on. */
export const REFINE_PROFILE = "refine";

const BUILTIN_PROFILE = /^agent-profiles\/[^/]+\.md$/;
const BUILTIN_TEMPLATE = /^workflow-templates\/[^/]+\.ya?ml$/;
const REPO_PROFILE = /^\.github\/trellis\/agents\/[^/]+\.md$/;
const REPO_TEMPLATE = /^\.github\/trellis\/workflows\/[^/]+\.ya?ml$/;
const CONFIG_FILES = [CONFIG_FILE, ".github/trellis.yaml"];
const README = /(^|\/)readme(\.[a-z]+)?$/i;

/**
 * Parse and cross-check a repository's definitions. Never throws.
 *
 * `value` is returned whenever the config itself is valid, holding every profile and template that
 * parsed (a broken repo file is left out, so the built-in of that name stays in force); callers that
 * must be strict check `errors`. A broken config yields no value: guessing settings such as
 * `dry_run` or budgets would be unsafe.
 */
export function loadDefinitions(input: DefinitionFiles): Validation<Definitions> {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const collect = <T>(r: Validation<T>): T | undefined => {
    errors.push(...r.errors);
    warnings.push(...r.warnings);
    return r.value;
  };

  // Config: absent means defaults.
  const configFile = CONFIG_FILES.find((f) => input.repo.has(f));
  const configText = configFile ? (input.repo.get(configFile) ?? "") : undefined;
  const config =
    configFile && configText !== undefined ? collect(parseConfig(configFile, configText)) : defaultConfig();

  for (const path of input.repo.keys()) {
    if (
      CONFIG_FILES.includes(path) ||
      REPO_PROFILE.test(path) ||
      REPO_TEMPLATE.test(path) ||
      README.test(path)
    ) {
      continue;
    }
    if (path.startsWith(".github/trellis/")) {
      warnings.push(
        diagnostic(
          "warning",
          path,
          [],
          `ignored: Trellis reads ${REPO_AGENTS_DIR}*.md and ${REPO_WORKFLOWS_DIR}*.yml`,
        ),
      );
    }
  }

  // Profiles: built-ins, then the repo's, which replace built-ins of the same name.
  const builtinProfiles = collect(
    parseNamed(files(input.builtins, BUILTIN_PROFILE), "profile", parseProfile),
  );
  const repoProfiles = collect(parseNamed(files(input.repo, REPO_PROFILE), "profile", parseProfile));
  const profiles = new Map(mergeProfiles(builtinProfiles ?? [], repoProfiles ?? []).map((p) => [p.name, p]));

  // Templates are checked against the merged profile set, so a repo profile can serve a built-in
  // template; passing the profiles (not just names) lets a stage default to its profile's timeout.
  const parseT = (file: string, text: string) => parseTemplate(file, text, profiles);
  const builtinTemplates = collect(
    parseNamed(
      files(input.builtins, BUILTIN_TEMPLATE).filter((f) => f.file !== AGENT_WORKFLOW_FILE),
      "template",
      parseT,
    ),
  );
  const repoTemplates = collect(parseNamed(files(input.repo, REPO_TEMPLATE), "template", parseT));
  const templates = new Map<string, WorkflowTemplate>();
  for (const t of [...(builtinTemplates ?? []), ...(repoTemplates ?? [])]) templates.set(t.name, t);

  if (config) {
    const yaml =
      configFile && configText !== undefined ? parseLocatedYaml(configFile, configText) : undefined;
    errors.push(...crossCheck(config, configFile ?? CONFIG_FILE, yaml, profiles, templates));
  }

  const sorted = (ds: Diagnostic[]) =>
    [...ds].sort(
      (a, b) =>
        a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
    );
  return {
    ...(config ? { value: { config, profiles, templates } } : {}),
    errors: sorted(errors),
    warnings: sorted(warnings),
  };
}

/** The names the config refers to must exist. */
function crossCheck(
  config: TrellisConfig,
  file: string,
  yaml: LocatedYaml | undefined,
  profiles: ReadonlyMap<string, AgentProfile>,
  templates: ReadonlyMap<string, WorkflowTemplate>,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const missing = (path: string[], kind: string, name: string, known: Iterable<string>) => {
    const list = [...known].sort();
    const hint = suggest(name, list);
    // A default the file does not set is reported against the file with "(default)".
    const isDefault = yaml === undefined || !isSet(yaml, path);
    out.push(
      diagnostic(
        "error",
        file,
        path,
        `${kind} "${name}"${isDefault ? " (default)" : ""} does not exist${hint ? `; did you mean "${hint}"?` : ""}` +
          ` (known: ${list.join(", ") || "none"})`,
        isDefault ? undefined : yaml,
      ),
    );
  };
  if (!templates.has(config.default_workflow)) {
    missing(["default_workflow"], "workflow template", config.default_workflow, templates.keys());
  }
  if (!profiles.has(config.default_profile)) {
    missing(["default_profile"], "profile", config.default_profile, profiles.keys());
  }
  if (config.batch.refine && !profiles.has(REFINE_PROFILE)) {
    out.push(
      diagnostic(
        "error",
        file,
        ["batch", "refine"],
        `batch.refine needs a "${REFINE_PROFILE}" profile, and there is none; add one or set batch.refine: false`,
        yaml && isSet(yaml, ["batch", "refine"]) ? yaml : undefined,
      ),
    );
  }
  return out;
}

function isSet(yaml: LocatedYaml, path: string[]): boolean {
  let node: unknown = yaml.data;
  for (const key of path) {
    if (typeof node !== "object" || node === null || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

function files(map: ReadonlyMap<string, string>, pattern: RegExp): { file: string; text: string }[] {
  return [...map]
    .filter(([file]) => pattern.test(file) && !README.test(file))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([file, text]) => ({ file, text }));
}
