/**
 * Agent profiles: Markdown files with YAML front matter in the shape of Claude Code sub-agents
 * (`name`, `description`, `tools`, `model`, body = system prompt) plus Trellis fields (`role`,
 * `disallowed_tools`, `max_turns`, `timeout_minutes`, `permission`, `max_parallel`).
 * Built-ins live in agent-profiles/*.md; a repo overrides or adds them in .github/trellis/agents/*.md.
 */
import matter from "gray-matter";
import { stringify } from "yaml";
import { z } from "zod";
import {
  diagnostic,
  parseLocatedYaml,
  type Diagnostic,
  type LocatedYaml,
  type Validation,
} from "./diagnostics.js";
import type { AgentProfile, PermissionLevel } from "./model.js";
import { parseNamed } from "./named.js";

/** Claude Code's built-in tools; anything else (except mcp__*) is most likely a typo. */
export const KNOWN_TOOLS = [
  "Read",
  "Write",
  "Edit",
  "MultiEdit",
  "Bash",
  "Glob",
  "Grep",
  "LS",
  "WebFetch",
  "WebSearch",
  "NotebookEdit",
  "TodoWrite",
  "Task",
] as const;

export const MODEL_ALIASES = ["sonnet", "opus", "haiku", "inherit"] as const;
export const PERMISSION_LEVELS = [
  "autonomous",
  "supervised",
  "human-required",
] as const satisfies readonly PermissionLevel[];

export const PROFILE_DEFAULTS = {
  maxTurns: 30,
  timeoutMinutes: 30,
  permission: "autonomous",
  maxParallel: 3,
} as const satisfies Pick<AgentProfile, "maxTurns" | "timeoutMinutes" | "permission" | "maxParallel">;

/** Claude Code's own spellings, accepted so a `.claude/agents/*.md` file can be used as is. */
const KEY_ALIASES: Record<string, string> = {
  disallowedTools: "disallowed_tools",
  maxTurns: "max_turns",
  type: "role",
};

const NAME_RE = /^[a-z0-9-]+$/;

/** `Read, Bash(git diff:*), Grep` → ["Read", "Bash(git diff:*)", "Grep"]: commas inside (…) do not split. */
export function splitToolList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of value) {
    if (ch === "(") depth++;
    else if (ch === ")") depth = Math.max(0, depth - 1);
    if (ch === "," && depth === 0) {
      out.push(current);
      current = "";
    } else current += ch;
  }
  out.push(current);
  return out.map((t) => t.trim()).filter((t) => t.length > 0);
}

/** Why a tool name looks wrong, or undefined when Claude Code knows it. */
export function checkToolName(tool: string): string | undefined {
  if (tool.startsWith("mcp__")) return undefined;
  const m = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(tool);
  const base = m?.[1];
  if (base !== undefined && (KNOWN_TOOLS as readonly string[]).includes(base)) {
    return m?.[2] !== undefined && m[2].trim() === "" ? `tool "${tool}" has an empty pattern` : undefined;
  }
  const hint = suggest(base ?? tool, KNOWN_TOOLS);
  return `unknown tool "${tool}"${hint ? ` (did you mean "${hint}"?)` : ""}; Claude Code's tools are ${KNOWN_TOOLS.join(", ")}, their Tool(pattern) forms and mcp__* tools`;
}

/** A close match among `candidates` (case, `_`/`-` and up to two edits ignored), for "did you mean". */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const w = norm(word);
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(w, norm(c));
    if (d <= Math.min(2, Math.floor(c.length / 3)) && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let prevPrev = prev;
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      // A swap of two neighbours ("Grpe") counts as one edit.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, prevPrev[j - 2]! + 1);
      }
    }
    prevPrev = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/** Warnings for keys of `obj` that are not in `known`, located at the key. */
export function unknownKeyWarnings(
  obj: Record<string, unknown>,
  known: readonly string[],
  path: (string | number)[],
  file: string,
  yaml: LocatedYaml,
): Diagnostic[] {
  return Object.keys(obj)
    .filter((k) => !known.includes(k))
    .map((k) => {
      const hint = suggest(k, known);
      return diagnostic(
        "warning",
        file,
        [...path, k],
        `unknown key "${k}" is ignored${hint ? ` (did you mean "${hint}"?)` : ""}`,
        yaml,
      );
    });
}

/** Zod issues as located diagnostics. */
export function zodDiagnostics(
  issues: readonly z.core.$ZodIssue[],
  file: string,
  yaml: LocatedYaml,
  mapPath: (path: (string | number)[]) => (string | number)[] = (p) => p,
): Diagnostic[] {
  return issues.map((issue) => {
    const path = mapPath(issue.path.filter((p): p is string | number => typeof p !== "symbol"));
    return diagnostic("error", file, path, issue.message, yaml);
  });
}

const required = (key: string, kind: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? `${key} is required` : `${key} must be ${kind}`;

/** A whole number in [min, max], with one message for every way of getting it wrong. */
export function intIn(key: string, min: number, max: number, unit = "") {
  const error = `${key} must be a whole number from ${min} to ${max}${unit}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

const toolList = (key: string) =>
  z.preprocess(
    (v) => (typeof v === "string" ? splitToolList(v) : v),
    z.array(z.string({ error: `${key} entries must be tool names` }), {
      error: `${key} must be a comma-separated string or a list of tool names`,
    }),
  );

const frontMatterSchema = z.object({
  name: z
    .string({ error: required("name", "a string") })
    .regex(NAME_RE, { error: "name must use only lowercase letters, digits and hyphens ([a-z0-9-]+)" }),
  description: z
    .string({ error: required("description", "a string") })
    .trim()
    .min(1, { error: "description must not be empty: Claude uses it to decide when to delegate" }),
  role: z
    .string({ error: "role must be a string" })
    .regex(NAME_RE, { error: "role must use only lowercase letters, digits and hyphens ([a-z0-9-]+)" })
    .optional(),
  tools: toolList("tools").optional(),
  disallowed_tools: toolList("disallowed_tools").default([]),
  model: z
    .string({ error: "model must be a string" })
    .refine(
      (m) => (MODEL_ALIASES as readonly string[]).includes(m) || /^[\w.:/-]*claude-[\w.:[\]-]+$/.test(m),
      {
        error: `model must be one of ${MODEL_ALIASES.join(", ")} or a full model id such as claude-sonnet-4-5`,
      },
    )
    .optional(),
  max_turns: intIn("max_turns", 1, 500).default(PROFILE_DEFAULTS.maxTurns),
  timeout_minutes: intIn("timeout_minutes", 1, 360, " (minutes)").default(PROFILE_DEFAULTS.timeoutMinutes),
  permission: z
    .enum(PERMISSION_LEVELS, { error: `permission must be one of ${PERMISSION_LEVELS.join(", ")}` })
    .default(PROFILE_DEFAULTS.permission),
  max_parallel: intIn("max_parallel", 1, 100).default(PROFILE_DEFAULTS.maxParallel),
});

const KNOWN_KEYS = Object.keys(frontMatterSchema.shape);

/** Parse one profile file. Never throws: problems come back as located diagnostics, in file order. */
export function parseProfile(file: string, text: string): Validation<AgentProfile> {
  const r = readProfile(file, text);
  // A key missing from an empty front matter has no node to point at: the front matter starts on line 1.
  const place = (ds: Diagnostic[]) =>
    sortDiagnostics(ds.map((d) => (d.line === undefined ? { ...d, line: 1, column: 1 } : d)));
  return { ...r, errors: place(r.errors), warnings: place(r.warnings) };
}

/** Diagnostics in file order (stable for equal positions). */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function readProfile(file: string, original: string): Validation<AgentProfile> {
  // gray-matter splits on "\n---", which would leave a "\r" on the last front-matter value.
  const text = original.replace(/\r\n/g, "\n");
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const opening = /^\uFEFF?---[ \t]*\r?\n/.exec(text);
  const closed = opening !== null && /(^|\n)---[ \t]*(\r?\n|$)/.test(text.slice(opening[0].length));
  if (!closed) {
    const message = !opening
      ? "missing YAML front matter: the file must start with a --- line, the profile's keys, and a closing --- line"
      : "the front matter is not closed: add a --- line after the profile's keys";
    return { errors: [{ file, line: 1, column: 1, path: [], severity: "error", message }], warnings };
  }
  let located: LocatedYaml | undefined;
  let parsed: matter.GrayMatterFile<string>;
  try {
    // Our engine keeps the located document; gray-matter's raw block starts right after the opening
    // `---`, so its line numbers are the file's.
    parsed = matter(text, {
      engines: {
        yaml: (raw: string) => {
          located = parseLocatedYaml(file, raw);
          const data = located.data;
          return (typeof data === "object" && data !== null ? data : {}) as object;
        },
      },
    });
  } catch (e) {
    const message = `cannot read the front matter: ${e instanceof Error ? e.message : String(e)}`;
    return { errors: [{ file, line: 1, column: 1, path: [], severity: "error", message }], warnings };
  }
  const yaml: LocatedYaml = located ?? parseLocatedYaml(file, "");
  if (yaml.errors.length > 0) return { errors: yaml.errors, warnings };
  const data = yaml.data ?? {};
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return {
      errors: [diagnostic("error", file, [], "the front matter must be a mapping of keys to values", yaml)],
      warnings,
    };
  }

  // Fold Claude Code spellings into ours, remembering where each key was written.
  const raw = { ...(data as Record<string, unknown>) };
  const writtenAs = new Map<string, string>();
  for (const [alias, key] of Object.entries(KEY_ALIASES)) {
    if (!(alias in raw)) continue;
    if (key in raw) {
      errors.push(diagnostic("error", file, [alias], `give either ${key} or ${alias}, not both`, yaml));
    } else {
      raw[key] = raw[alias];
      writtenAs.set(key, alias);
    }
    delete raw[alias];
  }
  const mapPath = (p: (string | number)[]) => {
    const [head, ...rest] = p;
    return typeof head === "string" && writtenAs.has(head) ? [writtenAs.get(head)!, ...rest] : p;
  };
  const rawKeys = Object.fromEntries(
    Object.keys(data as Record<string, unknown>).map((k) => [k, true]),
  ) as Record<string, unknown>;
  warnings.push(...unknownKeyWarnings(rawKeys, [...KNOWN_KEYS, ...Object.keys(KEY_ALIASES)], [], file, yaml));

  const result = frontMatterSchema.safeParse(raw);
  if (!result.success) errors.push(...zodDiagnostics(result.error.issues, file, yaml, mapPath));

  const prompt = parsed.content.trim();
  if (prompt === "") {
    const bodyLine = text.slice(0, text.length - parsed.content.length).split("\n").length;
    errors.push({
      file,
      line: bodyLine,
      column: 1,
      path: [],
      severity: "error",
      message: "the Markdown body is empty: it is the agent's system prompt",
    });
  }
  if (!result.success || errors.length > 0) return { errors, warnings };

  const fm = result.data;
  // Tool names: typos are warnings (Claude Code would silently ignore them).
  for (const key of ["tools", "disallowed_tools"] as const) {
    const list = fm[key] ?? [];
    const listed = Array.isArray((data as Record<string, unknown>)[writtenAs.get(key) ?? key]);
    list.forEach((tool, i) => {
      const problem = checkToolName(tool);
      if (problem)
        warnings.push(diagnostic("warning", file, mapPath(listed ? [key, i] : [key]), problem, yaml));
    });
  }
  for (const tool of fm.disallowed_tools) {
    if (fm.tools?.includes(tool)) {
      warnings.push(
        diagnostic(
          "warning",
          file,
          mapPath(["disallowed_tools"]),
          `"${tool}" is both allowed and disallowed: it will be disallowed`,
          yaml,
        ),
      );
    }
  }

  const profile: AgentProfile = {
    name: fm.name,
    description: fm.description,
    role: fm.role ?? fm.name,
    disallowedTools: fm.disallowed_tools,
    maxTurns: fm.max_turns,
    timeoutMinutes: fm.timeout_minutes,
    permission: fm.permission,
    maxParallel: fm.max_parallel,
    prompt,
    source: file,
    ...(fm.tools !== undefined ? { tools: fm.tools } : {}),
    ...(fm.model !== undefined ? { model: fm.model } : {}),
  };
  return { value: profile, errors, warnings };
}

/** Parse one directory of profile files (duplicate names are errors at the later file). */
export function parseProfiles(files: readonly { file: string; text: string }[]): Validation<AgentProfile[]> {
  return parseNamed(files, "profile", parseProfile);
}

/**
 * A repo's profiles over the built-ins: a repo profile replaces the built-in of the same name as a
 * whole (in the built-in's position); new names are appended in the repo's order.
 */
export function mergeProfiles(
  builtins: readonly AgentProfile[],
  overrides: readonly AgentProfile[],
): AgentProfile[] {
  const byName = new Map(overrides.map((p) => [p.name, p]));
  const merged = builtins.map((b) => byName.get(b.name) ?? b);
  const builtinNames = new Set(builtins.map((b) => b.name));
  const added = [...byName.values()].filter((p) => !builtinNames.has(p.name));
  return [...merged, ...added];
}

/**
 * The `.claude/agents/<name>.md` file the Action writes so Claude Code runs the profile as a
 * sub-agent. Disallowed tools are taken out of an explicit tool list (Claude Code ignores
 * `disallowedTools` when `tools` is set) and also listed, for the patterns that cannot be.
 */
export function toClaudeSubagent(profile: AgentProfile): string {
  const fm: Record<string, string | number> = { name: profile.name, description: profile.description };
  if (profile.tools !== undefined) {
    fm.tools = profile.tools.filter((t) => !profile.disallowedTools.includes(t)).join(", ");
  }
  if (profile.disallowedTools.length > 0) fm.disallowedTools = profile.disallowedTools.join(", ");
  if (profile.model !== undefined) fm.model = profile.model;
  fm.maxTurns = profile.maxTurns;
  return `---\n${stringify(fm, { lineWidth: 0 })}---\n\n${profile.prompt.trim()}\n`;
}
