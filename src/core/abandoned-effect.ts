/**
 * What a run learns when the worker gives up on one of its effects (a permanent failure, or transient ones past the
 * retry limit). Most effects are best effort (a comment, a board move); the two the run waits on must not leave
 * their stage waiting forever. Pure.
 */
import type { Effect, RunEvent } from "./model.js";

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
