/**
 * Step 7: the result leaves the job — result file and the proposal's patch and blobs beside it (the folder the workflow uploads
 * as the artifact `trellis-result-<attempt>`), outputs, annotations, job summary, and the step's conclusion.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as core from "@actions/core";
import { AgentResultSchema, PROPOSAL_BLOBS_FILE, PROPOSAL_FILE, RESULT_FILE } from "../../src/core/result.js";
import type { AgentResult } from "../../src/core/result.js";
import { scrubAgentText, scrubResult } from "../../src/core/secrets.js";
import type { BuiltProposal } from "./proposal.js";
import { renderSummary } from "./summary.js";

/** The outputs action.yml declares; a test keeps the two in sync. */
export const OUTPUT_NAMES = ["result", "status", "result_path", "result_dir"] as const;

/** What the job summary shows beside the result: refused tool calls and unmerged sub-agent work. */
export interface RunNotes {
  denials: string[];
  conflicts: string[];
}

/**
 * The result leaves the job scrubbed: every agent-written text (summary, question, review, reason, failures…) with
 * the job's own tokens and anything shaped like a credential masked, before the file, the outputs and the job summary
 * are written. The App scrubs again before it posts anything. The patch is code and is written as it is (a patch
 * holding one of the job's secrets was refused before it got here: collect.ts refuseProposal).
 */
export async function finish(
  raw: AgentResult,
  rawNotes: RunNotes,
  clock: { now: () => number; started: number },
  secrets: string[],
  patch?: Pick<BuiltProposal, "patch" | "blobs">,
): Promise<AgentResult> {
  const known = secrets.filter(Boolean);
  const result = scrubResult(raw, known);
  const notes = {
    denials: rawNotes.denials.map((d) => scrubAgentText(d, known)),
    conflicts: rawNotes.conflicts.map((c) => scrubAgentText(c, known)),
  };
  result.durationMs = Math.max(0, Math.round(clock.now() - clock.started));
  if (!result.proposal) patch = undefined;
  await publish(result, notes, patch);
  return result;
}

async function publish(
  result: AgentResult,
  notes: RunNotes,
  patch: Pick<BuiltProposal, "patch" | "blobs"> | undefined,
): Promise<void> {
  const checked = AgentResultSchema.parse(result);
  const json = JSON.stringify(checked);
  const dir = join(process.env["RUNNER_TEMP"] || tmpdir(), "trellis");
  await mkdir(dir, { recursive: true });
  const path = join(dir, RESULT_FILE);
  // Only what the App reads is in the folder the workflow uploads: a stale patch must not travel with a new result.
  await rm(join(dir, PROPOSAL_FILE), { force: true });
  await rm(join(dir, PROPOSAL_BLOBS_FILE), { force: true });
  if (patch) {
    await writeFile(join(dir, PROPOSAL_FILE), patch.patch);
    await writeFile(join(dir, PROPOSAL_BLOBS_FILE), patch.blobs);
  }
  await writeFile(path, `${JSON.stringify(checked, null, 2)}\n`);
  core.setOutput("result", json);
  core.setOutput("status", checked.status);
  core.setOutput("result_path", path);
  core.setOutput("result_dir", dir);
  for (const a of checked.annotations.slice(0, 50)) {
    const props = { file: a.path, startLine: a.start_line, endLine: a.end_line, title: a.title };
    if (a.annotation_level === "failure") core.error(a.message, props);
    else if (a.annotation_level === "warning") core.warning(a.message, props);
    else core.notice(a.message, props);
  }
  if (process.env["GITHUB_STEP_SUMMARY"]) {
    try {
      await core.summary.addRaw(renderSummary(checked, notes)).write();
    } catch (error) {
      core.warning(`could not write the job summary: ${(error as Error).message}`);
    }
  }
  const line = `Trellis ${checked.stage}: ${checked.status}${checked.reason ? ` — ${checked.reason}` : ""}`;
  if (checked.status === "failed" || checked.status === "error") core.setFailed(line);
  else core.info(line);
}
