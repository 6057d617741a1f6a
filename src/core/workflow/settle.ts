/** Settling after every event: skip, queue and gate stages, then derive the run status. */
import { codeSpan as code, ident } from "../render.js";
import { dispatch } from "./dispatching.js";
import { SYSTEM_ACTOR, type Step } from "./step.js";
import { defOf, isTerminal, TERMINAL_STAGE } from "./views.js";

export function settle(step: Step): void {
  const run = step.run;
  if (isTerminal(run)) return;
  const stages = run.stages;
  const order = run.workflow.stages.map((d) => d.id).filter((id) => stages[id]);
  // Skips propagate down the DAG; a few passes reach the fixpoint.
  for (let changed = true; changed;) {
    changed = false;
    for (const id of order) {
      const stage = stages[id];
      if (!stage || stage.status !== "pending") continue;
      const dead = defOf(run, id).needs.find((n) => {
        const s = stages[n]?.status;
        return s === "failed" || s === "skipped" || s === "aborted";
      });
      if (dead !== undefined) {
        stage.status = "skipped";
        stage.reason = `needs ${dead}, which did not succeed`;
        changed = true;
      }
    }
  }
  if (!step.held) {
    for (const id of order) {
      const stage = stages[id];
      if (!stage || stage.status !== "pending") continue;
      const ready = defOf(run, id).needs.every(
        (n) => stages[n]?.status === "succeeded" || stages[n] === undefined,
      );
      if (!ready) continue;
      if (step.permission(stage.profile) === "human-required") {
        stage.status = "waiting";
        stage.waitingFor = "human";
        delete stage.reason;
        step.audit(SYSTEM_ACTOR, "awaiting_human", { stage: id, profile: stage.profile });
        step.reply(
          `Stage ${code(id)} uses the ${code(stage.profile)} profile, which requires a human to start it. ` +
            `Comment \`/approve ${ident(id)}\` to dispatch it, or \`/assign ${ident(id)} <profile>\` to use another profile.`,
        );
      } else dispatch(step, stage);
    }
  }
  deriveStatus(step);
}

function deriveStatus(step: Step): void {
  const run = step.run;
  if (run.status === "aborted") return;
  const stages = Object.values(run.stages);
  const before = run.status;
  const progressing = stages.some(
    (s) =>
      s.status === "queued" ||
      s.status === "running" ||
      (s.status === "waiting" && s.waitingFor === "retry_backoff") ||
      (s.status === "pending" && step.held),
  );
  const humanWait = stages.some((s) => s.status === "waiting" && s.waitingFor !== "retry_backoff");
  const allDone = stages.every((s) => TERMINAL_STAGE.has(s.status));
  let next = run.status;
  if (allDone) {
    next = stages.some((s) => s.status === "failed" || s.status === "aborted") ? "failed" : "succeeded";
  } else if (step.held) next = "held";
  else if (progressing) next = "active";
  else if (humanWait) next = "waiting";
  else next = "active"; // pending stages behind running ones; unreachable in practice
  run.status = next;
  if (next !== before && (next === "succeeded" || next === "failed")) {
    if (next === "failed") run.reason = stages.find((s) => s.status === "failed")?.reason ?? "a stage failed";
    step.audit(SYSTEM_ACTOR, next === "succeeded" ? "run_succeeded" : "run_failed", {
      ...(run.reason ? { reason: run.reason } : {}),
    });
    if (next === "succeeded") delete run.reason;
  }
}
