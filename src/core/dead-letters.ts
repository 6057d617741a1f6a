/**
 * Dead letters: an event or effect the worker gave up on (a permanent failure, or transient ones past the retry
 * horizon). The run learns of the two it waits on (a dispatch, a commit), so no stage waits forever; the people on
 * the issue are told of the others, with the way to run them again. Pure.
 */
import type { Effect, RunEvent } from "./model.js";
import { inline } from "./render.js";

export function abandonedEffectEvent(effect: Effect, error: string, at: number): RunEvent | undefined {
  const why = error.slice(0, 300);
  switch (effect.type) {
    case "dispatch":
      return {
        type: "attempt_lost",
        at,
        attemptId: effect.attemptId,
        reason: `the agent workflow could not be dispatched (${why}); is .github/workflows/trellis-agent.yml installed?`,
      };
    case "commit_proposal":
      return {
        type: "proposal_refused",
        at,
        attemptId: effect.attemptId,
        rule: "commit_failed",
        message: `the App could not commit the proposal (${why}); \`/retry\` runs the stage again`,
      };
    default:
      return undefined;
  }
}

/** Effects whose failure needs no notice: the run reports it (dispatch, commit), or the notice would fail alike. */
const SILENT = new Set(["dispatch", "commit_proposal", "reply", "reaction", "status_comment", "tick"]);

const WHAT: Record<string, string> = {
  open_pr: "open the pull request",
  check_run: "update the check run",
  board: "move the card on the project board",
  cancel_workflow_run: "cancel an abandoned Actions run",
  batch_issue: "create or find a ticket's issue",
  batch_link: "link a ticket to the tracking issue",
  batch_refine: "dispatch a ticket's refinement",
  batch_status: "update the batch's status comment",
};

/**
 * The comment that tells the issue a dead letter happened, or undefined when none is due. `kind` is the effect's
 * type, or `event:<kind>` for an event the App could not handle.
 */
export function deadLetterNotice(kind: string, error: string, tries: number, id: number): string | undefined {
  if (SILENT.has(kind)) return undefined;
  const what = kind.startsWith("event:")
    ? `handle a \`${kind.slice("event:".length)}\` event on this issue`
    : (WHAT[kind] ?? `carry out a \`${kind}\` step`);
  return (
    `Trellis could not ${what}: ${inline(error, 300)} (${tries} ${tries === 1 ? "try" : "tries"}). ` +
    `It has stopped trying; an operator can run it again with \`trellis dead-letters --retry ${id}\`.`
  );
}
