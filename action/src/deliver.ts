/** Step 6 of a change attempt: commit what the agent changed and push the branch — unless the change was refused. */
import type { AgentResult } from "../../src/core/result.js";
import type { ChangeAttempt } from "./prepare.js";
import type { ChangeFacts } from "./verdict.js";
import { commitStaged, headSha, pushBranch, unstageAll } from "./workspace.js";

/** The branch and head go into `result` as they happen: an error after the push still reports the branch. */
export async function deliver(
  { cwd, spec, checkout }: ChangeAttempt,
  facts: ChangeFacts,
  result: AgentResult,
): Promise<void> {
  if (facts.protectedViolations.length > 0) {
    await unstageAll(cwd);
    return;
  }
  const sha = await commitStaged(
    cwd,
    `trellis: ${spec.stage} for #${spec.issue} (${spec.profile}, attempt ${spec.attempt})\n\nTrellis-Attempt: ${spec.attemptId}`,
  );
  if (sha || checkout.existingBranch || (await headSha(cwd)) !== checkout.startSha) {
    await pushBranch(cwd, spec.branch);
    result.branch = spec.branch;
  }
  result.headSha = await headSha(cwd);
}
