/**
 * Step 2: what the attempt works from — the stage's definitions, the issue as the prompt shows it, and the
 * workspace (a change attempt's branch checked out; a refine attempt's checkout as it is).
 */
import * as core from "@actions/core";
import type { DispatchSpec } from "../../src/core/dispatch.js";
import type { StepDeps } from "./deps.js";
import type { StageContext } from "./definitions.js";
import { writeProposalCopy } from "./detection-prompt.js";
import { sealGitConfig } from "./git.js";
import type { RawInputs } from "./inputs.js";
import type { ProposalUnderReview } from "./producer.js";
import { promptComments } from "./prompt.js";
import type { IssueText } from "./prompt.js";
import { checkoutBranch, fetchOrigin, ignoreTrellisDir } from "./workspace.js";
import type { PrepareResult } from "./workspace.js";

interface AttemptBase {
  cwd: string;
  spec: DispatchSpec;
  inputs: RawInputs;
  ctx: StageContext;
  /** The issue as the prompt shows it. */
  issue: IssueText;
}

/** A refine attempt: the agent refines a batch ticket; nothing is committed, pushed or checked out. */
export interface RefineAttempt extends AttemptBase {
  kind: "refine";
}

/** A change attempt: the agent works on the attempt's branch; its work leaves as a proposal the App commits. */
export interface ChangeAttempt extends AttemptBase {
  kind: "change";
  checkout: PrepareResult;
}

/**
 * A detection attempt: the agent judges another attempt's proposal (fetched from that attempt's Actions run) in the
 * attempt's branch as it was before the change; it proposes nothing.
 */
export interface DetectAttempt extends AttemptBase {
  kind: "detect";
  checkout: PrepareResult;
  proposal: ProposalUnderReview;
}

export type Attempt = RefineAttempt | ChangeAttempt | DetectAttempt;

export async function prepare(
  cwd: string,
  spec: DispatchSpec,
  inputs: RawInputs,
  deps: StepDeps,
): Promise<Attempt> {
  if (!inputs.githubToken) throw new Error("no GitHub token: set the `github_token` input");
  // Before anything else runs: no credential a checkout persisted (an `extraheader`, a token in the remote URL) is
  // left in `.git/config` for the agent to read. The workflow checks out with `persist-credentials: false` anyway.
  await sealGitConfig(cwd);
  // Independent, so concurrent. Definitions are read from the dispatch ref's checkout, before the
  // attempt's branch is checked out: a PR branch cannot change the profiles, config or protected paths.
  const [ctx, fetched, , proposal] = await Promise.all([
    deps.loadStage(cwd, {
      workflow: spec.workflow,
      stage: spec.stage,
      profiles: spec.profile.split("+").filter(Boolean),
      timeoutMinutes: spec.timeoutMinutes,
    }),
    deps.fetchIssue(spec, inputs.githubToken).catch((error: unknown) => {
      throw new Error(`could not read issue #${spec.issue}: ${(error as Error).message}`);
    }),
    // A refine attempt works on the dispatch ref's checkout as it is: no branch to fetch or check out.
    spec.ticket ? ignoreTrellisDir(cwd) : fetchOrigin(cwd),
    // A detection attempt's subject: the producer's proposal, from the producer's Actions run.
    spec.detects
      ? deps.fetchProposal(spec, inputs.githubToken).catch((error: unknown) => {
          throw new Error(`could not read the proposal to judge: ${(error as Error).message}`);
        })
      : undefined,
  ]);
  deps.phase("definitions+issue+fetch");
  // Only what existed when a human started the run, and only insiders' comments unless the config says otherwise.
  const issue = promptComments(fetched, {
    triggeredAt: spec.triggeredAt,
    includeOutsiders: ctx.config.prompt.include_outside_comments,
  });
  for (const w of ctx.warnings) core.warning(w);
  if (spec.ticket) return { kind: "refine", cwd, spec, inputs, ctx, issue };

  const checkout = await checkoutBranch(cwd, spec.branch, spec.baseRef);
  deps.phase("workspace");
  if (checkout.restored.length > 0)
    deps.log(
      `Restored ${checkout.restored.join(", ")} from ${spec.baseRef} so the branch cannot reprogram the agent.`,
    );
  if (proposal) {
    await writeProposalCopy(cwd, proposal);
    return { kind: "detect", cwd, spec, inputs, ctx, issue, checkout, proposal };
  }
  return { kind: "change", cwd, spec, inputs, ctx, issue, checkout };
}
