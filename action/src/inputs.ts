/** Step 1: the Action's inputs, and the App's dispatch spec checked against them. */
import * as core from "@actions/core";
import { DispatchSpecSchema } from "../../src/core/dispatch.js";
import type { DispatchSpec } from "../../src/core/dispatch.js";

/** The inputs action.yml declares; a test keeps the two in sync. */
export const INPUT_NAMES = [
  "spec",
  "attempt_id",
  "issue",
  "stage",
  "profile",
  "github_token",
  "anthropic_api_key",
  "claude_args",
] as const;

export interface RawInputs {
  spec: string;
  attemptId: string;
  issue: string;
  stage: string;
  profile: string;
  githubToken: string;
  anthropicKey: string;
  claudeArgs: string;
}

export function readInputs(): RawInputs {
  const get = (name: string): string => core.getInput(name);
  return {
    spec: get("spec"),
    attemptId: get("attempt_id"),
    issue: get("issue"),
    stage: get("stage"),
    profile: get("profile"),
    githubToken: get("github_token") || process.env["GITHUB_TOKEN"] || "",
    anthropicKey: get("anthropic_api_key") || process.env["ANTHROPIC_API_KEY"] || "",
    claudeArgs: get("claude_args"),
  };
}

export function parseSpec(raw: RawInputs): DispatchSpec {
  if (!raw.spec.trim())
    throw new Error("input `spec` is empty: the workflow must pass the App's dispatch spec");
  let json: unknown;
  try {
    json = JSON.parse(raw.spec);
  } catch (error) {
    throw new Error(`input \`spec\` is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = DispatchSpecSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `input \`spec\` does not match the dispatch contract: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const spec = parsed.data;
  const mismatch = [
    raw.attemptId && raw.attemptId !== spec.attemptId
      ? `attempt_id ${raw.attemptId} ≠ ${spec.attemptId}`
      : "",
    raw.issue && Number(raw.issue) !== spec.issue ? `issue ${raw.issue} ≠ ${spec.issue}` : "",
    raw.stage && raw.stage !== spec.stage ? `stage ${raw.stage} ≠ ${spec.stage}` : "",
    raw.profile && raw.profile !== spec.profile ? `profile ${raw.profile} ≠ ${spec.profile}` : "",
  ].filter(Boolean);
  if (mismatch.length > 0) throw new Error(`inputs disagree with the spec: ${mismatch.join(", ")}`);
  return spec;
}
