/** Seams for tests and the sandbox; the defaults are the real things. */
import * as core from "@actions/core";
import type { DispatchSpec } from "../../src/core/dispatch.js";
import type { SuccessCriteria } from "../../src/core/model.js";
import type { CriteriaReport } from "./criteria/index.js";
import { loadStageContext } from "./definitions.js";
import { fetchIssue } from "./github.js";
import type { ProposalUnderReview } from "./producer.js";
import type { IssueText } from "./prompt.js";

export interface RunDeps {
  loadStage: typeof loadStageContext;
  checkCriteria: (
    cwd: string,
    criteria: SuccessCriteria,
    options: {
      testCommand?: string;
      bddCommand?: string;
      coverageFile?: string;
      env?: Record<string, string>;
    },
  ) => Promise<CriteriaReport>;
  fetchIssue: (spec: DispatchSpec, token: string) => Promise<IssueText>;
  /** A detection attempt's subject: the producer's result and patch, from the producer's Actions run. */
  fetchProposal: (spec: DispatchSpec, token: string) => Promise<ProposalUnderReview>;
  log: (line: string) => void;
  now: () => number;
}

/** What the pipeline's steps get: the seams, and the phase timer of the debug log. */
export interface StepDeps extends RunDeps {
  phase: (name: string) => void;
}

export const defaultDeps: RunDeps = {
  loadStage: loadStageContext,
  // Loaded when needed, after the agent: the checkers (gherkin, cucumber messages…) are a separate
  // chunk of the bundle, so they cost nothing before the agent starts.
  checkCriteria: async (cwd, criteria, options) =>
    (await import("./criteria/index.js")).checkCriteria(cwd, criteria, options),
  fetchIssue,
  // Only a detection attempt needs it (and the unzipper): a chunk of its own, loaded then.
  fetchProposal: async (spec, token) => (await import("./producer.js")).fetchProposal(spec, token),
  log: (line) => core.info(line),
  now: () => Date.now(),
};
