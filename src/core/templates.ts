/**
 * Workflow templates: YAML files (snake_case) listing the stages of a workflow, normalised to
 * `WorkflowTemplate`/`StageDef`. Built-ins live in workflow-templates/*.yml; a repo adds or
 * overrides them in .github/trellis/workflows/*.yml. Validation never throws and locates every
 * problem (file:line:col and key path).
 */
import { z } from "zod";
import {
  diagnostic,
  parseLocatedYaml,
  type Diagnostic,
  type LocatedYaml,
  type Validation,
} from "./diagnostics.js";
import { blockedNodes, findCycles } from "./graph.js";
import type { FailurePolicy, StageDef, TerminalFailureStrategy, WorkflowTemplate } from "./model.js";
import { intIn, sortDiagnostics, suggest, unknownKeyWarnings, zodDiagnostics } from "./profiles.js";

/** Retry once after a minute, then ask a human. */
export const DEFAULT_FAILURE_POLICY: FailurePolicy = {
  retries: 1,
  backoffSeconds: 60,
  then: { kind: "escalate_to_human" },
};
export const DEFAULT_STAGE_TIMEOUT_MINUTES = 30;
export const FAILURE_STRATEGIES = [
  "abort_all",
  "continue_others",
  "escalate_to_human",
  "retry_with_different_agent",
] as const;

/**
 * The profiles a template may name. A Map of profiles also supplies each profile's
 * `timeoutMinutes` as the default stage timeout; with a Set the default is 30 minutes.
 */
export type ProfileLookup = ReadonlySet<string> | ReadonlyMap<string, { timeoutMinutes: number }>;

const NAME_RE = /^[a-z0-9-]+$/;
const STAGE_ID_RE = /^[a-z0-9][a-z0-9_-]*$/;

const required = (key: string, kind: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? `${key} is required` : `${key} must be ${kind}`;

/** `x` → [x], null → [] (an empty `needs:` means none), lists unchanged. */
const stringList = (key: string, what: string) =>
  z.preprocess(
    (v) => (v === null ? [] : typeof v === "string" ? [v] : v),
    z.array(z.string({ error: `${key} entries must be ${what}` }), {
      error: `${key} must be a list of ${what}`,
    }),
  );

const percent = (key: string) => {
  const error = `${key} must be a percentage from 0 to 100`;
  return z.number({ error }).min(0, { error }).max(100, { error });
};

const bool = (key: string) => z.boolean({ error: `${key} must be true or false` });

const successSchema = z.object(
  {
    tests_pass: bool("tests_pass").optional(),
    coverage_threshold: percent("coverage_threshold").optional(),
    bdd_scenarios_pass: bool("bdd_scenarios_pass").optional(),
    scenario_coverage: percent("scenario_coverage").optional(),
    file_created: stringList("file_created", "glob patterns")
      .refine((globs) => globs.every((g) => g.trim() !== ""), {
        error: "file_created patterns must not be empty",
      })
      .optional(),
  },
  { error: "success must be a mapping of criteria (tests_pass, coverage_threshold, …)" },
);

const FALLBACK_HINT = "on_failure: { then: retry_with_different_agent, profile: <fallback profile> }";

/** Short form (`on_failure: abort_all`) keeps the default retries and backoff and sets `then`. */
const onFailureSchema = z.preprocess(
  (v) => (typeof v === "string" ? { then: v } : v),
  z
    .object(
      {
        retry: intIn("retry", 0, 10).default(DEFAULT_FAILURE_POLICY.retries),
        backoff: intIn("backoff", 0, 3600, " (seconds)").default(DEFAULT_FAILURE_POLICY.backoffSeconds),
        then: z
          .enum(FAILURE_STRATEGIES, { error: `on_failure must be one of ${FAILURE_STRATEGIES.join(", ")}` })
          .default("escalate_to_human"),
        profile: z.string({ error: "the fallback profile must be a profile name" }).optional(),
      },
      {
        error: `on_failure must be one of ${FAILURE_STRATEGIES.join(", ")} or a mapping { retry, backoff, then, profile }`,
      },
    )
    .superRefine((v, ctx) => {
      if (v.then === "retry_with_different_agent" && v.profile === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["profile"],
          message: `retry_with_different_agent needs a fallback profile: ${FALLBACK_HINT}`,
        });
      }
    }),
);

const iterateSchema = z.object(
  {
    reviewers: stringList("iterate.reviewers", "profile names").refine((r) => r.length > 0, {
      error: "iterate.reviewers must name at least one reviewer profile",
    }),
    threshold: z
      .number({ error: "iterate.threshold must be a number in (0, 1]" })
      .gt(0, { error: "iterate.threshold must be in (0, 1]: the share of reviewers that must approve" })
      .max(1, { error: "iterate.threshold must be in (0, 1]: the share of reviewers that must approve" })
      .default(1),
    max_iterations: intIn("iterate.max_iterations", 1, 10).default(3),
  },
  { error: "iterate must be a mapping { reviewers, threshold, max_iterations }" },
);

const stageSchema = z.object(
  {
    id: z.string({ error: required("id", "a string") }).regex(STAGE_ID_RE, {
      error: "id must start with a lowercase letter or digit and use only a-z, 0-9, _ and -",
    }),
    profile: z.string({ error: required("profile", "a profile name") }),
    description: z.string({ error: "description must be a string" }).optional(),
    needs: stringList("needs", "stage ids").default([]),
    timeout: intIn("timeout", 1, 360, " (minutes)").optional(),
    approvals: intIn("approvals", 0, 10).default(0),
    open_pr: bool("open_pr").default(false),
    max_cost_usd: z
      .number({ error: "max_cost_usd must be an amount in USD, greater than 0" })
      .positive({ error: "max_cost_usd must be an amount in USD, greater than 0" })
      .optional()
      .describe(
        "The most one attempt of this stage may spend, in USD: it is granted the smaller of this and what the budgets leave, and charged at most that whatever it reports.",
      ),
    success: successSchema.default({}),
    on_failure: onFailureSchema.optional(),
    iterate: iterateSchema.optional(),
    detection: z.string({ error: "detection must be a profile name (e.g. security-review)" }).optional(),
  },
  { error: "each stage must be a mapping with at least id and profile" },
);

const templateSchema = z.object(
  {
    name: z.string({ error: required("name", "a string") }).regex(NAME_RE, {
      error: "name must use only lowercase letters, digits and hyphens ([a-z0-9-]+)",
    }),
    description: z.string({ error: "description must be a string" }).default(""),
    stages: z
      .array(stageSchema, { error: required("stages", "a list of stages") })
      .min(1, { error: "stages must list at least one stage" }),
  },
  { error: "a workflow template must be a mapping with name, description and stages" },
);

const KEYS = {
  template: Object.keys(templateSchema.shape),
  stage: Object.keys(stageSchema.shape),
  success: Object.keys(successSchema.shape),
  on_failure: ["retry", "backoff", "then", "profile"],
  iterate: Object.keys(iterateSchema.shape),
};

type Raw = Record<string, unknown>;
const isRecord = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);

/** What the cross-stage checks need from each stage, read leniently from the raw YAML. */
interface RawStage {
  index: number;
  id?: string;
  profile?: string;
  /** Each need with its path, so errors point at the entry. */
  needs: { id: string; path: (string | number)[] }[];
  refs: { name: string; path: (string | number)[]; what: string }[];
}

function readRawStage(s: unknown, index: number): RawStage {
  const base: (string | number)[] = ["stages", index];
  const out: RawStage = { index, needs: [], refs: [] };
  if (!isRecord(s)) return out;
  if (typeof s.id === "string") out.id = s.id;
  const strings = (v: unknown, path: (string | number)[]) =>
    typeof v === "string"
      ? [{ value: v, path }]
      : Array.isArray(v)
        ? v.flatMap((x, i) => (typeof x === "string" ? [{ value: x, path: [...path, i] }] : []))
        : [];
  out.needs = strings(s.needs, [...base, "needs"]).map(({ value, path }) => ({ id: value, path }));
  if (typeof s.profile === "string") {
    out.profile = s.profile;
    out.refs.push({ name: s.profile, path: [...base, "profile"], what: "profile" });
  }
  if (isRecord(s.iterate)) {
    for (const { value, path } of strings(s.iterate.reviewers, [...base, "iterate", "reviewers"])) {
      out.refs.push({ name: value, path, what: "reviewer profile" });
    }
  }
  if (typeof s.detection === "string")
    out.refs.push({ name: s.detection, path: [...base, "detection"], what: "detection profile" });
  if (isRecord(s.on_failure) && typeof s.on_failure.profile === "string") {
    out.refs.push({
      name: s.on_failure.profile,
      path: [...base, "on_failure", "profile"],
      what: "fallback profile",
    });
  }
  return out;
}

/** Parse and validate one template file against the known profiles. Never throws. */
export function parseTemplate(
  file: string,
  text: string,
  profiles: ProfileLookup,
): Validation<WorkflowTemplate> {
  try {
    const r = readTemplate(file, text, profiles);
    return { ...r, errors: sortDiagnostics(r.errors), warnings: sortDiagnostics(r.warnings) };
  } catch (e) {
    // Defensive: a bug here must surface as a diagnostic, not crash the App or the CLI.
    const message = `cannot validate the template: ${e instanceof Error ? e.message : String(e)}`;
    return { errors: [{ file, path: [], severity: "error", message }], warnings: [] };
  }
}

function readTemplate(file: string, text: string, profiles: ProfileLookup): Validation<WorkflowTemplate> {
  const yaml = parseLocatedYaml(file, text);
  if (yaml.errors.length > 0) return { errors: yaml.errors, warnings: [] };
  const data = yaml.data;
  if (!isRecord(data)) {
    const message = "a workflow template must be a mapping with name, description and stages";
    return { errors: [{ file, line: 1, column: 1, path: [], severity: "error", message }], warnings: [] };
  }
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const at = (severity: Diagnostic["severity"], path: (string | number)[], message: string) =>
    (severity === "error" ? errors : warnings).push(diagnostic(severity, file, path, message, yaml));

  const parsed = templateSchema.safeParse(data);
  if (!parsed.success) errors.push(...zodDiagnostics(parsed.error.issues, file, yaml));
  warnings.push(...unknownKeys(data, file, yaml));

  // Cross-stage checks run on the raw data, so they report even when a stage has other errors.
  const rawStages = (Array.isArray(data.stages) ? data.stages : []).map(readRawStage);
  errors.push(...crossStageErrors(rawStages, profiles, file, yaml));
  for (const s of rawStages) {
    const seen = new Set<string>();
    for (const n of s.needs) {
      if (seen.has(n.id)) at("warning", n.path, `"${n.id}" is listed twice in needs`);
      seen.add(n.id);
    }
    const stage = (data.stages as unknown[])[s.index];
    if (isRecord(stage) && isRecord(stage.on_failure)) {
      const f = stage.on_failure;
      if (f.profile !== undefined && f.then !== "retry_with_different_agent") {
        at(
          "warning",
          ["stages", s.index, "on_failure", "profile"],
          "the fallback profile is only used with then: retry_with_different_agent",
        );
      } else if (f.profile !== undefined && f.profile === s.profile) {
        at(
          "warning",
          ["stages", s.index, "on_failure", "profile"],
          `the fallback profile is the stage's own profile "${s.profile}": the retry is not with a different agent`,
        );
      }
    }
  }

  if (!parsed.success || errors.length > 0) return { errors, warnings };
  const t = parsed.data;
  const timeoutOf = (profile: string): number => {
    const p = "get" in profiles && typeof profiles.get === "function" ? profiles.get(profile) : undefined;
    return p && typeof p === "object" ? p.timeoutMinutes : DEFAULT_STAGE_TIMEOUT_MINUTES;
  };
  const stages: StageDef[] = t.stages.map((s) => ({
    id: s.id,
    profile: s.profile,
    needs: [...new Set(s.needs)],
    timeoutMinutes: s.timeout ?? timeoutOf(s.profile),
    approvals: s.approvals,
    success: s.success,
    onFailure: s.on_failure ? toPolicy(s.on_failure) : defaultPolicy(),
    openPr: s.open_pr,
    ...(s.max_cost_usd !== undefined ? { maxCostUsd: s.max_cost_usd } : {}),
    ...(s.iterate
      ? {
          iterate: {
            reviewers: s.iterate.reviewers,
            threshold: s.iterate.threshold,
            maxIterations: s.iterate.max_iterations,
          },
        }
      : {}),
    ...(s.detection !== undefined ? { detection: s.detection } : {}),
    ...(s.description !== undefined ? { description: s.description } : {}),
  }));
  return { value: { name: t.name, description: t.description, stages, source: file }, errors, warnings };
}

function toPolicy(f: {
  retry: number;
  backoff: number;
  then: (typeof FAILURE_STRATEGIES)[number];
  profile?: string;
}) {
  const then: TerminalFailureStrategy =
    f.then === "retry_with_different_agent" ? { kind: f.then, profile: f.profile ?? "" } : { kind: f.then };
  return { retries: f.retry, backoffSeconds: f.backoff, then } satisfies FailurePolicy;
}

function unknownKeys(data: Raw, file: string, yaml: LocatedYaml): Diagnostic[] {
  const out = unknownKeyWarnings(data, KEYS.template, [], file, yaml);
  if (!Array.isArray(data.stages)) return out;
  data.stages.forEach((s: unknown, i) => {
    if (!isRecord(s)) return;
    const base = ["stages", i];
    out.push(...unknownKeyWarnings(s, KEYS.stage, base, file, yaml));
    for (const key of ["success", "on_failure", "iterate"] as const) {
      const v = s[key];
      if (isRecord(v)) out.push(...unknownKeyWarnings(v, KEYS[key], [...base, key], file, yaml));
    }
  });
  return out;
}

function crossStageErrors(
  stages: RawStage[],
  profiles: ProfileLookup,
  file: string,
  yaml: LocatedYaml,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const err = (path: (string | number)[], message: string) =>
    out.push(diagnostic("error", file, path, message, yaml));
  const known = [...profiles.keys()].sort();
  const hint = (name: string, candidates: readonly string[]) => {
    const h = suggest(name, candidates);
    return h ? ` (did you mean "${h}"?)` : "";
  };

  // Duplicate ids: the first definition wins for the graph checks.
  const byId = new Map<string, RawStage>();
  for (const s of stages) {
    if (s.id === undefined) continue;
    const first = byId.get(s.id);
    if (first) {
      const line = yaml.locate(["stages", first.index, "id"]).line;
      err(
        ["stages", s.index, "id"],
        `duplicate stage id "${s.id}" (first defined${line ? ` on line ${line}` : ""})`,
      );
    } else byId.set(s.id, s);
  }

  for (const s of stages) {
    for (const ref of s.refs) {
      if (!profiles.has(ref.name)) {
        err(
          ref.path,
          `unknown ${ref.what} "${ref.name}"${hint(ref.name, known)}; known profiles: ${known.join(", ") || "none"}`,
        );
      }
    }
  }

  const ids = [...byId.keys()];
  for (const s of byId.values()) {
    for (const n of s.needs) {
      if (!byId.has(n.id))
        err(n.path, `unknown stage "${n.id}" in needs${hint(n.id, ids)}; stages: ${ids.join(", ")}`);
    }
  }

  const needsOf = (id: string) => byId.get(id)?.needs.map((n) => n.id) ?? [];
  const inCycle = new Set<string>();
  for (const cycle of findCycles(ids, needsOf)) {
    cycle.forEach((m) => inCycle.add(m));
    const [first, second] = cycle;
    const stage = byId.get(first!)!;
    const need = stage.needs.find((n) => n.id === second);
    err(
      need?.path ?? ["stages", stage.index, "needs"],
      `cycle: ${cycle.join(" → ")} (each stage needs the next, so none of them can start)`,
    );
  }

  // Stages that can never run because of a problem further up their needs.
  for (const [id, chain] of blockedNodes(ids, needsOf)) {
    const stage = byId.get(id)!;
    const next = chain[1];
    // Cycle members and stages with an unknown need of their own are already reported above.
    if (next === undefined || !byId.has(next) || inCycle.has(id)) continue;
    const via = chain.slice(1);
    const last = via[via.length - 1]!;
    const cause = byId.has(last)
      ? `it needs ${via.map((v) => `"${v}"`).join(" → ")}, and "${last}" is part of a cycle`
      : `it needs ${via
          .slice(0, -1)
          .map((v) => `"${v}"`)
          .join(" → ")}, which needs the unknown stage "${last}"`;
    const need = stage.needs.find((n) => n.id === next);
    err(need?.path ?? ["stages", stage.index, "needs"], `stage "${id}" can never run: ${cause}`);
  }
  return out;
}

/** The implicit workflow of `/run <profile>` or an `agent:<profile>` label: one stage that opens a PR. */
export function singleAgentTemplate(profile: string, timeoutMinutes?: number): WorkflowTemplate {
  return {
    name: profile,
    description: `Run the ${profile} agent on the issue and open a pull request with its work.`,
    stages: [
      {
        id: profile,
        profile,
        needs: [],
        timeoutMinutes: timeoutMinutes ?? DEFAULT_STAGE_TIMEOUT_MINUTES,
        approvals: 0,
        success: { tests_pass: false },
        onFailure: defaultPolicy(),
        openPr: true,
      },
    ],
    source: "built-in",
  };
}

/** A fresh copy, so no two stages share one policy object. */
function defaultPolicy(): FailurePolicy {
  return { ...DEFAULT_FAILURE_POLICY, then: { ...DEFAULT_FAILURE_POLICY.then } };
}
