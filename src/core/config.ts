/**
 * The repository config `.github/trellis.yml`: one Zod schema that is the source of the typed defaults,
 * of validation (located errors and warnings, never throwing) and of the generated JSON Schema.
 * Keys are snake_case in YAML and in the TypeScript type alike, so nothing is renamed on the way.
 */
import { z } from "zod";
import { diagnostic, parseLocatedYaml, type Diagnostic, type Validation } from "./diagnostics.js";

export const CONFIG_FILE = ".github/trellis.yml";

export const ROLES = ["admin", "maintain", "write", "triage", "read"] as const;
export type RepoRole = (typeof ROLES)[number];

export const BATCH_STRATEGIES = ["sequential", "parallel", "dependency-aware"] as const;
export type BatchStrategy = (typeof BATCH_STRATEGIES)[number];

const label = z.string().min(1, "must not be empty");
// Profile and workflow names are file-name-like: they appear in labels and in slash commands.
const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "must be lower-case letters, digits, '-' or '_' (like a file name)");
const usd = z.number().positive("must be greater than 0");
const column = (title: string) => z.string().min(1, "must not be empty").default(title);

export const TrellisConfigSchema = z
  .strictObject({
    _extends: z
      .string()
      .min(1)
      .optional()
      .describe("Inherit settings from another repository, usually the organisation's `.github` repo."),
    labels: z
      .strictObject({
        agent_prefix: label.default("agent:").describe("`agent:<profile>` runs a one-stage workflow."),
        workflow_prefix: label.default("workflow:").describe("`workflow:<template>` runs a workflow."),
        batch: label.default("trellis:batch").describe("Marks a tracking issue whose task list is a batch."),
      })
      .prefault({}),
    roles: z
      .array(z.enum(ROLES))
      .min(1, "must list at least one role")
      .default(["admin", "maintain", "write"])
      .describe("Repository roles allowed to trigger and steer agents."),
    default_workflow: name.default("single-agent").describe("Workflow used when none is named."),
    default_profile: name.default("dev").describe("Profile used by the single-agent workflow."),
    batch: z
      .strictObject({
        strategy: z.enum(BATCH_STRATEGIES).default("dependency-aware"),
        parallel_limit: z.number().int().min(1).max(50).default(3).describe("Tickets running at once."),
        batch_size: z.number().int().min(1).max(50).default(3).describe("Batch size for `parallel`."),
        refine: z
          .boolean()
          .default(true)
          .describe("Refine raw ticket lines with the `refine` profile (false: create them verbatim)."),
      })
      .prefault({}),
    budgets: z
      .strictObject({
        per_run_usd: usd.default(10).describe("Cost cap of one run, in USD."),
        monthly_usd: usd.default(200).describe("Cost cap per repository per calendar month, in USD."),
      })
      .prefault({}),
    board: z
      .strictObject({
        enabled: z.boolean().default(false),
        owner: z
          .string()
          .default("")
          .describe(
            "Organization owning the project; empty: the repo owner. Not a user: GitHub Apps can only use an organization's Projects.",
          ),
        number: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe("Project number; 0 with `create: true` creates a project."),
        create: z.boolean().default(false),
        title: z.string().min(1).default("Trellis"),
        columns: z
          .strictObject({
            backlog: column("Backlog"),
            ready: column("Ready"),
            in_progress: column("In progress"),
            needs_human: column("Needs human"),
            in_review: column("In review"),
            done: column("Done"),
            failed: column("Failed"),
          })
          .prefault({})
          .describe("Names of the Status field's options."),
      })
      .prefault({}),
    agent_workflow: z
      .string()
      .regex(/^[\w.-]+\.ya?ml$/, "must be a file name in .github/workflows, like trellis-agent.yml")
      .default("trellis-agent.yml"),
    commands: z
      .strictObject({
        test: z.string().default("npm test").describe("Command for the `tests_pass` criterion."),
        bdd: z.string().default("npx cucumber-js").describe("Command for the BDD criteria."),
        coverage: z.string().default("").describe("Path to a coverage report; empty: auto-detect."),
      })
      .prefault({}),
    protected_paths: z
      .array(z.string().min(1))
      .default([".github/workflows/**"])
      .describe("Globs agents must not change."),
    allow_protected_paths: z.boolean().default(false),
    prompt: z
      .strictObject({
        include_outside_comments: z
          .boolean()
          .default(false)
          .describe(
            "Put comments by people who are not the repository's owners, members or collaborators into the agent's prompt.",
          ),
        approve_outsider_commits: z
          .boolean()
          .default(true)
          .describe(
            "When the issue's author is not an owner, member or collaborator (or outside comments are included), wait for a human's `/approve` before the App commits an agent's proposed change (false: commit without asking).",
          ),
      })
      .prefault({})
      .describe("What outsiders' text reaches the agent."),
    dry_run: z.boolean().default(false).describe("Preview effects in comments instead of acting."),
  })
  .describe("Trellis repository configuration (.github/trellis.yml)");

export type TrellisConfig = z.infer<typeof TrellisConfigSchema>;

export function defaultConfig(): TrellisConfig {
  return TrellisConfigSchema.parse({});
}

/** The JSON Schema of the file as written (every key optional), for editor completion. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(TrellisConfigSchema, { io: "input" });
  return { $schema: schema.$schema, title: "Trellis configuration", ...schema };
}

/**
 * Validate a config file. Never throws. An empty file means all defaults; an empty key (`board:`)
 * means that section's defaults. Unknown keys are warnings (ignored), everything else is an error.
 */
export function parseConfig(file: string, text: string): Validation<TrellisConfig> {
  const yaml = parseLocatedYaml(file, text);
  if (yaml.errors.length > 0) return { errors: yaml.errors, warnings: [] };
  const data = dropNulls(yaml.data) ?? {};
  const warnings: Diagnostic[] = [];
  const errors: Diagnostic[] = [];

  let result = TrellisConfigSchema.safeParse(data);
  // Unknown keys only warn: strip them and validate the rest.
  const unknown = result.success ? [] : result.error.issues.filter((i) => i.code === "unrecognized_keys");
  if (unknown.length > 0) {
    for (const issue of unknown) {
      const parentPath = issue.path.filter((p) => typeof p !== "symbol");
      for (const key of issue.keys) {
        const path = [...parentPath, key];
        // A sibling typo first; else the same key elsewhere (`parallel_limit` at the top level).
        const hint =
          suggest(key, knownKeysAt(parentPath)) ??
          allKeyPaths()
            .filter((p) => suggest(key, [p[p.length - 1] ?? ""]) !== undefined)
            .map((p) => p.join("."))[0];
        const message = `unknown key "${key}" is ignored${hint ? `; did you mean "${hint}"?` : ""}`;
        warnings.push(diagnostic("warning", file, path, message, yaml));
        deleteAt(data, path);
      }
    }
    result = TrellisConfigSchema.safeParse(data);
  }
  if (result.success) return { value: result.data, errors, warnings: byLine(warnings) };
  for (const issue of result.error.issues) {
    const path = issue.path.filter((p) => typeof p !== "symbol");
    errors.push(diagnostic("error", file, path, issueMessage(issue, getAt(data, path)), yaml));
  }
  return { errors: byLine(errors), warnings: byLine(warnings) };
}

function byLine(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function issueMessage(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === "invalid_value" && issue.values.every((v) => typeof v === "string")) {
    const options = issue.values.map(String);
    const hint = typeof value === "string" ? suggest(value, options) : undefined;
    const list = options.map((v) => `"${v}"`).join(", ");
    return `${JSON.stringify(value)} is not one of ${list}${hint ? `; did you mean "${hint}"?` : ""}`;
  }
  if ((issue.code === "too_big" || issue.code === "too_small") && typeof value === "number") {
    return `${issue.message} (got ${value})`;
  }
  if (issue.code === "invalid_type" && issue.path.length === 0) {
    return `the file must be a mapping of settings (key: value), not ${Array.isArray(value) ? "a list" : typeof value}`;
  }
  return issue.message;
}

/**
 * Deep merge for `_extends`: the base (the org's `.github` config) under the repo's own file.
 * Objects merge key by key, arrays and scalars replace, null/undefined in the override keep the base.
 * The override's `_extends` has been resolved by the caller, so the result carries only the base's.
 */
export function mergeConfig(base: unknown, override: unknown): unknown {
  const merged = mergeValues(base, override);
  if (isPlainObject(merged)) {
    const rest = { ...merged };
    delete rest["_extends"];
    if (isPlainObject(base) && base["_extends"] !== undefined) rest["_extends"] = base["_extends"];
    return rest;
  }
  return merged;
}

function mergeValues(base: unknown, override: unknown): unknown {
  if (override === undefined || override === null) return base;
  if (isPlainObject(base) && isPlainObject(override)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(override)) out[k] = mergeValues(base[k], v);
    return out;
  }
  return override;
}

// ---------------------------------------------------------------------------------------------
// Small helpers, exported where other validators want the same "did you mean" behaviour.

/** The closest candidate to `word` (case, `_` and `-` ignored), or undefined when nothing is close. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, "");
  const w = norm(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(w, norm(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  // Allow roughly one typo per three characters, at least one.
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(w.length / 3)) ? best : undefined;
}

export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `key:` with no value in YAML is null; treat it as "not set" so the defaults apply. */
function dropNulls(v: unknown): unknown {
  if (v === null) return undefined;
  if (Array.isArray(v)) return v;
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const y = dropNulls(x);
      if (y !== undefined) out[k] = y;
    }
    return out;
  }
  return v;
}

function getAt(root: unknown, path: (string | number)[]): unknown {
  let node = root;
  for (const p of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[p];
  }
  return node;
}

function deleteAt(root: unknown, path: (string | number)[]): void {
  const parent = getAt(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (isPlainObject(parent) && key !== undefined) delete parent[String(key)];
}

/** Every object key path in the schema, e.g. ["batch", "parallel_limit"]. */
function allKeyPaths(prefix: (string | number)[] = []): string[][] {
  return knownKeysAt(prefix).flatMap((k) => {
    const path = [...prefix.map(String), k];
    return [path, ...allKeyPaths(path)];
  });
}

/** The keys the schema accepts at an object path, found by walking the Zod schema itself. */
function knownKeysAt(path: (string | number)[]): string[] {
  let node: z.core.$ZodType = TrellisConfigSchema;
  const unwrap = (t: z.core.$ZodType): z.core.$ZodType => {
    let cur = t;
    for (;;) {
      const def = cur._zod.def as { innerType?: z.core.$ZodType };
      if (!def.innerType) return cur;
      cur = def.innerType;
    }
  };
  for (const p of path) {
    const obj = unwrap(node);
    if (!(obj instanceof z.ZodObject)) return [];
    const next = (obj.shape as Record<string, z.core.$ZodType>)[String(p)];
    if (!next) return [];
    node = next;
  }
  const obj = unwrap(node);
  return obj instanceof z.ZodObject ? Object.keys(obj.shape) : [];
}
