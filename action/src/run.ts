/**
 * The Action's pipeline, one step per module. Every failure still leaves a result for the App.
 *   1. read the inputs and the App's dispatch spec         inputs.ts
 *   2. prepare: definitions, the issue, the workspace      prepare.ts
 *   3. run Claude Code (one agent, or several in parallel) agents.ts
 *   4. collect what it produced (review, diff, criteria)   collect.ts
 *   5. decide the verdict (pure)                           verdict.ts
 *   6. propose: a change attempt's patch, never a push      deliver.ts, proposal.ts
 *      (a detection attempt judges another's patch instead:  producer.ts, detection-prompt.ts)
 *   7. report: result file, patch, outputs, job summary    report.ts
 */
import * as core from "@actions/core";
import { AgentResultSchema, RESULT_VERSION } from "../../src/core/result.js";
import type { AgentResult } from "../../src/core/result.js";
import { denialsOf, runAgents } from "./agents.js";
import { collectChange, collectDetection, collectRefine } from "./collect.js";
import { defaultDeps } from "./deps.js";
import type { RunDeps, StepDeps } from "./deps.js";
import { propose } from "./deliver.js";
import { parseSpec, readInputs } from "./inputs.js";
import type { RawInputs } from "./inputs.js";
import { prepare } from "./prepare.js";
import type { BuiltProposal } from "./proposal.js";
import { finish } from "./report.js";
import type { RunNotes } from "./report.js";
import { errorVerdict, verdict } from "./verdict.js";

/** Run the whole attempt; returns the result it wrote. */
export async function run(overrides: Partial<RunDeps> = {}): Promise<AgentResult> {
  const seams: RunDeps = { ...defaultDeps, ...overrides };
  const started = seams.now();
  core.debug(`trellis phase run() entered ${Math.round(performance.now())} ms after process start`);
  // Phase timings go to the debug log (shown with ACTIONS_STEP_DEBUG); the benchmark reads them too.
  const deps: StepDeps = {
    ...seams,
    phase: (name) => core.debug(`trellis phase ${name} +${Math.round(seams.now() - started)} ms`),
  };
  const inputs = readInputs();
  for (const secret of [inputs.githubToken, inputs.anthropicKey]) if (secret) core.setSecret(secret);
  const cwd = process.env["GITHUB_WORKSPACE"] || process.cwd();
  const result = placeholderResult(inputs);
  const notes: RunNotes = { denials: [], conflicts: [] };
  let patch: BuiltProposal | undefined;
  try {
    const spec = parseSpec(inputs);
    Object.assign(result, {
      attemptId: spec.attemptId,
      stage: spec.stage,
      profile: spec.profile,
      baseRef: spec.baseRef,
    });
    deps.phase("spec");
    const attempt = await prepare(cwd, spec, inputs, deps);
    const work = await runAgents(attempt, deps);
    notes.denials = denialsOf(work.runs);
    if (attempt.kind === "refine") {
      const { facts, found } = await collectRefine(attempt, work);
      Object.assign(result, found, verdict(facts));
    } else if (attempt.kind === "detect") {
      // A verdict on another attempt's proposal: nothing of this attempt's is ever proposed.
      const { facts, found } = await collectDetection(attempt, work);
      Object.assign(result, found, verdict(facts));
    } else {
      notes.conflicts = work.conflicts;
      const { facts, built } = await collectChange(attempt, work, result, deps);
      Object.assign(result, verdict(facts));
      patch = propose(facts, built, result);
    }
  } catch (error) {
    Object.assign(result, errorVerdict((error as Error).message, result.summary));
  }
  return finish(result, notes, { now: seams.now, started }, [inputs.githubToken, inputs.anthropicKey], patch);
}

/** The result until the spec is read: an error, named after whatever the inputs say. */
function placeholderResult(inputs: RawInputs): AgentResult {
  return AgentResultSchema.parse({
    version: RESULT_VERSION,
    attemptId: inputs.attemptId || "unknown",
    stage: inputs.stage || "unknown",
    profile: inputs.profile || "unknown",
    status: "error",
    summary: "",
  });
}
