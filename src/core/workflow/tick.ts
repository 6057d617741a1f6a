/** The clock: attempts past their deadline time out, and stages whose retry backoff has elapsed dispatch again. */
import { attemptEnded } from "./attempts.js";
import { cancelWorkflowRun } from "./cancellation.js";
import { attemptDeadline, NOT_STARTED_LIMIT_MS } from "./deadlines.js";
import { dispatchNext } from "./reviews.js";
import type { Handler } from "./step.js";
import { inFlight, isTerminal } from "./views.js";

export const onTick: Handler<"tick"> = (step) => {
  if (isTerminal(step.run)) return;
  for (const def of step.run.workflow.stages) {
    const stage = step.run.stages[def.id];
    if (!stage) continue;
    for (const a of inFlight(stage)) {
      if (step.at < attemptDeadline(def, a)) continue;
      if (a.finishedAt !== undefined) continue; // an earlier timeout in this loop already closed it
      if (stage.status !== "queued" && stage.status !== "running") break;
      cancelWorkflowRun(step, stage, a);
      const why =
        a.startedAt !== undefined
          ? "timed out"
          : `its Actions run did not start within ${NOT_STARTED_LIMIT_MS / 60_000} minutes (no runner picked it up)`;
      attemptEnded(step, stage, a, why, "timed_out");
    }
    if (
      !step.held &&
      stage.status === "waiting" &&
      stage.waitingFor === "retry_backoff" &&
      stage.wakeAt !== undefined &&
      step.at >= stage.wakeAt
    )
      dispatchNext(step, stage);
  }
};
