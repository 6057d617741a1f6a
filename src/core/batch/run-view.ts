/** What a batch's tracking issue shows of a ticket's run, and when the batch must hear of a change. Pure. */
import type { RunState } from "../model.js";
import { stageLabel } from "../render.js";
import { currentStage } from "../workflow/machine.js";
import type { BatchEvent } from "./machine.js";

export type TicketRunView = Omit<Extract<BatchEvent, { type: "run_update" }>, "type" | "at" | "runId">;

/** What the tracking issue shows of a ticket's run. */
export function ticketRunView(run: RunState): TicketRunView {
  const stage = currentStage(run);
  const pr = Object.values(run.stages)
    .map((s) => s.prNumber)
    .filter((n): n is number => n !== undefined)
    .at(-1);
  const label = stage ? stageLabel(stage) : undefined;
  return {
    status: run.status,
    ...(stage ? { stage: stage.id, agent: stage.profile } : {}),
    ...(pr !== undefined ? { prNumber: pr } : {}),
    ...(label ? { check: `${label.emoji} ${label.text}` } : {}),
    costUsd: run.costUsd,
    ...(run.reason ? { reason: run.reason } : {}),
  };
}

/**
 * The batch event a run's change makes, or undefined: only a batch ticket's run tells its batch, and only when what
 * the tracking issue shows of it changed (a finished ticket lets the next ones start).
 */
export function ticketRunUpdate(before: RunState, after: RunState, at: number): BatchEvent | undefined {
  if (after.batch === undefined) return undefined;
  const view = ticketRunView(after);
  if (JSON.stringify(view) === JSON.stringify(ticketRunView(before))) return undefined;
  return { type: "run_update", at, runId: after.id, ...view };
}
