import { z } from "zod";

/**
 * The machine-readable result the Action leaves for the App (artifact `trellis-result-<attempt>`,
 * file `result.json`, and the `result` step output), and beside it the proposal's patch (PROPOSAL_FILE).
 * One schema, shared by both sides.
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

/**
 * A change attempt's proposal: what the agent changed, for the App to verify and commit (the Action never pushes).
 *
 * The artifact `trellis-result-<attempt>` holds `result.json` and, when `result.proposal` is set, two files beside it:
 *   - `proposal.patch` (PROPOSAL_FILE): the binary patch of the agent's work tree against `base`, made by
 *     `git diff --cached --binary --full-index --no-renames <base>` after `git add -A` into a fresh index (new files,
 *     deletions, mode changes and binary files included; `.trellis/` and the agent set-up files left out), with a
 *     clean git configuration (action/src/git.ts). For humans, and for the App's cross-check of `files`.
 *   - `proposal.blobs` (PROPOSAL_BLOBS_FILE): the new contents of every added or modified file, as git hashes them:
 *     one record per blob, `blob <length>\0<contents>`, one after the other. The SHA-1 of a record is its git blob
 *     id, so the App knows each content by the id it computes itself, never by a name the job chose.
 * The App (src/core/proposal.ts `verifyProposal`, fed by src/github/results.ts) then:
 *   1. checks `sha256` and `bytes` of the patch, and the size of both files against its own limits;
 *   2. reads the head it commits to itself (the run's branch, or the default branch for a new one; never `base`),
 *      and checks that each changed path is there as the patch's preimage says (the same blob, or absent for an
 *      addition), so that committing the new contents on that head is the patch applied; it is `expectedHeadOid`;
 *   3. checks that the patch's headers name exactly the paths, statuses, modes and new blob ids of `files`;
 *   4. applies its own rules to `files` (paths, `.github/workflows/`, protected paths, submodules = mode 160000,
 *      symlinks = mode 120000, modes, counts and sizes);
 *   5. commits with createCommitOnBranch: each added/modified file's contents (the blob whose id it computed) as an
 *      addition, each deleted path as a deletion. That mutation cannot set modes (it keeps an existing file's mode and
 *      creates new files as 100644), so a new executable, a mode change or a type change is refused, never dropped.
 * `files` is a claim like the rest of the result: what is committed is only what the App hashed and checked.
 */
export const PROPOSAL_FILE = "proposal.patch";
export const PROPOSAL_BLOBS_FILE = "proposal.blobs";
/** The largest patch the Action proposes, and the largest blobs file (the App's artifact limit is above both). */
export const PROPOSAL_MAX_BYTES = 4 * 1024 * 1024;
export const PROPOSAL_BLOBS_MAX_BYTES = 8 * 1024 * 1024;
export const ProposalFileSchema = z.object({
  path: z.string().min(1),
  /** As `git diff --raw` says it: A added, M modified, D deleted, T type changed (e.g. a file became a symlink). */
  status: z.enum(["A", "M", "D", "T"]),
  /** The new mode (100644, 100755, 120000 symlink, 160000 submodule); absent for a deletion. */
  mode: z
    .string()
    .regex(/^[0-7]{6}$/)
    .optional(),
  /** The new blob id; absent for a deletion. */
  blob: z
    .string()
    .regex(/^[0-9a-f]{40,64}$/)
    .optional(),
});
export type ProposalFile = z.infer<typeof ProposalFileSchema>;
export const ProposalSchema = z.object({
  /** The commit the patch applies to. */
  base: z.string().regex(/^[0-9a-f]{40,64}$/),
  /** The patch file's name in the artifact. */
  patchFile: z.literal(PROPOSAL_FILE),
  /** Size and SHA-256 (hex) of the patch file. */
  bytes: z.number().int().min(1).max(PROPOSAL_MAX_BYTES),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.array(ProposalFileSchema).min(1),
});
export type Proposal = z.infer<typeof ProposalSchema>;

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
  /** Set by Actions that pushed (before the App committed proposals); the Action now leaves both unset. */
  branch: z.string().optional(),
  headSha: z.string().optional(),
  /** A change attempt's proposal (see ProposalSchema); absent when nothing changed or the change was refused. */
  proposal: ProposalSchema.optional(),
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
