/** How a human command finds the stage it is meant for, or answers why it does not apply. */
import type { StageState } from "../model.js";
import { codeSpan as code } from "../render.js";
import type { Step } from "./step.js";
import { isTerminal } from "./views.js";

export function targetStage(
  step: Step,
  command: string,
  requested: string | undefined,
  accept: (s: StageState) => boolean,
  none: string,
): StageState | undefined {
  const stages = step.run.stages;
  if (requested !== undefined) {
    const s = stages[requested];
    if (!s) {
      step.reply(
        `${command}: there is no stage ${code(requested)}; the stages are ${Object.keys(stages)
          .map((name) => code(name))
          .join(", ")}.`,
      );
      return undefined;
    }
    return s;
  }
  const found = step.run.workflow.stages.map((d) => stages[d.id]).find((s) => s !== undefined && accept(s));
  if (!found) step.reply(`${command}: ${none}`);
  return found;
}

export function describe(stage: StageState): string {
  if (stage.status === "waiting") return `waiting for ${waitLabel(stage)}`;
  return stage.status;
}

function waitLabel(stage: StageState): string {
  switch (stage.waitingFor) {
    case "approval":
      return "approval";
    case "answer":
      return "an answer";
    case "retry_backoff":
      return "a retry";
    case "human":
      return "a human";
    case "budget":
      return "budget";
    case "merge":
      return "its pull request to be merged";
    case "commit_approval":
      return "approval before the App commits";
    default:
      return "something";
  }
}

export function refuseIfTerminal(step: Step, command: string): boolean {
  if (!isTerminal(step.run)) return false;
  step.reply(`${command}: this run has already ${step.run.status}.`);
  return true;
}
