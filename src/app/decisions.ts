/**
 * The core's decisions and the runs' events applied in a transaction: start a run, feed it an event, queue a
 * reply, a reaction or a status comment, hand a batch decision to the batch shell. A run's change is told to its
 * batch (batch.ts), unless the batch caused it.
 */
import type { RunEvent } from "../core/model.js";
import { shortHash } from "../core/short-hash.js";
import type { Decision } from "../core/triggers.js";
import { createRun } from "../core/workflow/machine.js";
import { getRun } from "../store/runs.js";
import { issueAggregate, repoAggregate, runAggregate } from "./aggregates.js";
import { applyBatchDecision, batchRunChanged } from "./batch.js";
import { profilePermissions, reduceAndStore, startRun, type RunChangeListener } from "./runs.js";
import { newId, repoName, type AppDeps, type DecisionScope, type Target } from "./runtime.js";
import { enqueue, runCommand, type UnitOfWork } from "./unit-of-work.js";

/** A run's changes reach its batch: a finished ticket lets the next ones start. */
const toBatch =
  (uow: UnitOfWork, target: Target): RunChangeListener =>
  (before, after) =>
    batchRunChanged(uow, target, before, after);

export async function applyDecision(uow: UnitOfWork, scope: DecisionScope, d: Decision): Promise<void> {
  const { deps, tx, pending } = uow;
  const { target, defs, actor } = scope;
  const repo = repoName(target.repo);
  switch (d.kind) {
    case "start_run": {
      const at = deps.now();
      const run = createRun({
        id: newId("run"),
        repo: target.repo,
        issue: d.issue,
        issueTitle: d.issueTitle,
        workflow: d.workflow,
        costCapUsd: defs.config.budgets.per_run_usd,
        at,
        permissions: profilePermissions(defs),
        ...(d.outsiderText !== undefined ? { outsiderText: d.outsiderText } : {}),
      });
      const runTarget = { ...target, issue: d.issue };
      await startRun(uow, {
        target: runTarget,
        run,
        actor,
        at,
        detail: { workflow: d.workflow.name },
        onChanged: toBatch(uow, runTarget),
      });
      return;
    }
    case "run_event": {
      const stored = await getRun(tx, d.runId, { forUpdate: true });
      if (!stored) return;
      const runTarget = { ...target, issue: stored.state.issue };
      await reduceAndStore(uow, {
        target: runTarget,
        state: stored.state,
        event: d.event,
        onChanged: toBatch(uow, runTarget),
      });
      return;
    }
    case "status": {
      const stored = await getRun(tx, d.runId);
      if (!stored) return;
      const t = { ...target, issue: stored.state.issue, runId: d.runId };
      enqueue(pending, runAggregate(d.runId), t, {
        type: "status_comment",
        key: `status:${d.runId}:manual:${deps.now()}`,
      });
      return;
    }
    case "reply":
      enqueue(
        pending,
        issueAggregate(target),
        { ...target, issue: d.issue },
        {
          type: "reply",
          key: `reply:${target.issue}:${deps.now()}:${shortHash(d.body)}`,
          body: d.body,
        },
      );
      return;
    case "react":
      enqueue(pending, issueAggregate(target), target, {
        type: "reaction",
        key: `reaction:${d.commentId}:${d.content}`,
        commentId: d.commentId,
        content: d.content,
      });
      return;
    case "audit":
      pending.audit.push({ repo, actor, action: d.action, detail: d.detail });
      return;
    case "batch":
      pending.audit.push({ repo, actor, action: `batch_${d.action.kind}`, detail: { issue: d.issue } });
      await applyBatchDecision(uow, scope, d);
      return;
  }
}

/** Feeds an event back into a run (an effect's outcome, a timer) in its own transaction. */
export async function applyRunEvent(
  deps: AppDeps,
  target: Target,
  runId: string,
  event: RunEvent,
): Promise<void> {
  await runCommand(deps, repoAggregate(target.repo), async (uow) => {
    const stored = await getRun(uow.tx, runId, { forUpdate: true });
    if (!stored) return;
    const runTarget = { ...target, issue: stored.state.issue };
    await reduceAndStore(uow, {
      target: runTarget,
      state: stored.state,
      event,
      onChanged: toBatch(uow, runTarget),
    });
  });
}
