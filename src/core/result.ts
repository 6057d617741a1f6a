import { z } from "zod";

/**
 * The machine-readable result the Action leaves for the App (artifact `trellis-result-<attempt>`,
 * file `result.json`, and the `result` step output). One schema, shared by both sides.
 */
export const RESULT_VERSION = 1;
export const resultArtifactName = (attemptId: string): string => `trellis-result-${attemptId}`;
export const RESULT_FILE = "result.json";
/** The refine agent's output file, and how much of it travels in the result. */
export const REFINED_FILE = ".trellis/refined.md";
export const REFINED_MAX_CHARS = 65_000;

export const AnnotationSchema = z.object({
  path: z.string(),
  start_line: z.number().int().min(1),
  end_line: z.number().int().min(1),
  annotation_level: z.enum(["notice", "warning", "failure"]),
  message: z.string(),
  title: z.string().optional(),
});
export type Annotation = z.infer<typeof AnnotationSchema>;

export const TestsSchema = z.object({
  passed: z.number().int().min(0),
  failed: z.number().int().min(0),
  skipped: z.number().int().min(0).default(0),
  failures: z
    .array(
      z.object({
        name: z.string(),
        message: z.string().optional(),
        file: z.string().optional(),
        line: z.number().int().optional(),
      }),
    )
    .default([]),
});
export type TestsResult = z.infer<typeof TestsSchema>;

export const ScenarioSchema = z.object({
  name: z.string(),
  feature: z.string(),
  file: z.string(),
  line: z.number().int().min(1),
  status: z.enum(["passed", "failed", "undefined", "pending", "skipped", "ambiguous"]),
  failedStep: z
    .object({ text: z.string(), line: z.number().int().min(1), message: z.string().optional() })
    .optional(),
});
export type ScenarioResult = z.infer<typeof ScenarioSchema>;

export const CoverageSchema = z.object({
  lines: z.number().min(0).max(100),
  branches: z.number().min(0).max(100).optional(),
  functions: z.number().min(0).max(100).optional(),
  source: z.enum(["lcov", "istanbul", "cobertura"]),
});
export type CoverageResult = z.infer<typeof CoverageSchema>;

export const CriterionOutcomeSchema = z.object({
  criterion: z.enum([
    "tests_pass",
    "coverage_threshold",
    "bdd_scenarios_pass",
    "scenario_coverage",
    "file_created",
  ]),
  passed: z.boolean(),
  detail: z.string(),
});
export type CriterionOutcome = z.infer<typeof CriterionOutcomeSchema>;

export const AgentResultSchema = z.object({
  version: z.literal(RESULT_VERSION),
  attemptId: z.string(),
  stage: z.string(),
  profile: z.string(),
  status: z.enum(["succeeded", "failed", "needs_input", "error"]),
  summary: z.string().max(65_000),
  /** Why it failed, in one line, when it did. */
  reason: z.string().optional(),
  branch: z.string().optional(),
  headSha: z.string().optional(),
  baseRef: z.string().optional(),
  filesChanged: z.array(z.string()).default([]),
  criteria: z.array(CriterionOutcomeSchema).default([]),
  tests: TestsSchema.optional(),
  scenarios: z.array(ScenarioSchema).optional(),
  scenarioCoverage: z.number().min(0).max(100).optional(),
  coverage: CoverageSchema.optional(),
  annotations: z.array(AnnotationSchema).default([]),
  /** A reviewer stage's verdict (review loops). */
  review: z.object({ verdict: z.enum(["approve", "request_changes"]), comments: z.string() }).optional(),
  question: z.string().optional(),
  /** A refine attempt's `.trellis/refined.md` as the agent wrote it (parsed App-side by parseRefined). */
  refined: z.string().max(REFINED_MAX_CHARS).optional(),
  costUsd: z.number().min(0).default(0),
  tokens: z
    .object({
      input: z.number().int().min(0),
      output: z.number().int().min(0),
      cacheRead: z.number().int().min(0).default(0),
      cacheWrite: z.number().int().min(0).default(0),
    })
    .default({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }),
  turns: z.number().int().min(0).default(0),
  durationMs: z.number().int().min(0).default(0),
  sessionId: z.string().optional(),
});
export type AgentResult = z.infer<typeof AgentResultSchema>;

export function parseAgentResult(
  json: unknown,
): { ok: true; result: AgentResult } | { ok: false; error: string } {
  const parsed = AgentResultSchema.safeParse(json);
  if (parsed.success) return { ok: true, result: parsed.data };
  return { ok: false, error: z.prettifyError(parsed.error) };
}
