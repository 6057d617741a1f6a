/** The batch reducer's refine deadlines: not started in time, timed out, and the cancelling of their Actions runs. */
import { describe, expect, test } from "vitest";
import { reduceBatch } from "../../../src/core/batch/machine.js";
import { NOT_STARTED_LIMIT_MS } from "../../../src/core/workflow/machine.js";
import { AT, deadline, ofType, REFINED, start } from "./refine-support.js";

describe("refinement in the batch reducer", () => {
  test("a refine attempt not started within the allowance from its dispatch is created as written; a late result is ignored", () => {
    const { state, effects, ctx } = start({ refine: { parallel: 2, timeoutMinutes: 20 } });
    // Until the run starts only the not-started allowance counts (a run waiting for a runner is not working yet).
    expect(ofType(effects, "batch_refine_deadline")).toEqual(
      ["schema", "api"].map((ticket, i) => ({
        type: "batch_refine_deadline",
        key: `batch:bat_1:refine-deadline:${ticket}:${ctx.attempts[i]}`,
        ticket,
        attemptId: ctx.attempts[i],
        at: AT + NOT_STARTED_LIMIT_MS,
      })),
    );
    expect(state.tickets[0]!.refine).toMatchObject({ dispatchedAt: AT });

    // Due early (another clock, a retried row): not yet past, nothing happens.
    const early = reduceBatch(state, deadline("schema", ctx.attempts[0]!, AT + 20 * 60_000), ctx);
    expect(early.state).toBe(state);
    expect(early.effects).toEqual([]);

    const late = reduceBatch(state, deadline("schema", ctx.attempts[0]!, AT + NOT_STARTED_LIMIT_MS), ctx);
    const issue = ofType(late.effects, "batch_issue")[0]!;
    expect(issue.create!.title).toBe("Design the schema");
    expect(issue.create!.body).toContain(
      "could not refine this ticket (its Actions run did not start within 60 minutes (no runner picked it up))",
    );
    // GitHub never named its run: nothing to cancel (yet).
    expect(ofType(late.effects, "cancel_workflow_run")).toEqual([]);
    // The freed slot goes to the next raw ticket, with a deadline of its own.
    expect(ofType(late.effects, "batch_refine_deadline").map((e) => [e.ticket, e.at])).toEqual([
      ["t6", AT + 2 * NOT_STARTED_LIMIT_MS],
    ]);
    // The result arriving after all is ignored: the ticket was already created as written.
    const after = reduceBatch(
      late.state,
      {
        type: "ticket_refined",
        at: AT + NOT_STARTED_LIMIT_MS + 1,
        ticket: "schema",
        attemptId: ctx.attempts[0]!,
        refined: REFINED,
        costUsd: 1,
      },
      ctx,
    );
    expect(after.effects).toEqual([]);
    expect(after.state).toBe(late.state);
  });

  test("the refine timeout counts from the run's start, not from the dispatch; past it the run is cancelled", () => {
    // A timeout longer than the not-started allowance: the dispatch's deadline row must not end a working run.
    const { state, ctx } = start({ refine: { parallel: 2, timeoutMinutes: 90 } });
    const att = ctx.attempts[0]!;
    const queued = reduceBatch(
      state,
      { type: "refine_queued", at: AT + 1_000, ticket: "schema", attemptId: att, workflowRunId: 4242 },
      ctx,
    );
    expect(queued.state.tickets[0]!.refine).toMatchObject({ workflowRunId: 4242 });
    // Bookkeeping only: no effect, not even a status comment.
    expect(queued.effects).toEqual([]);

    // Waited 30 minutes for a runner, then started.
    const startedAt = AT + 30 * 60_000;
    const started = reduceBatch(
      queued.state,
      { type: "refine_started", at: startedAt, ticket: "schema", attemptId: att, workflowRunId: 4242 },
      ctx,
    );
    expect(started.state.tickets[0]!.refine).toMatchObject({ startedAt });
    expect(started.effects).toEqual([
      {
        type: "batch_refine_deadline",
        key: `batch:bat_1:refine-deadline:schema:${att}:started`,
        ticket: "schema",
        attemptId: att,
        at: startedAt + 90 * 60_000,
      },
    ]);
    // A second in_progress (redelivery) changes nothing.
    const again = reduceBatch(
      started.state,
      { type: "refine_started", at: startedAt + 5, ticket: "schema", attemptId: att },
      ctx,
    );
    expect(again.state).toBe(started.state);

    // The dispatch's row comes due at 60 minutes: 80 minutes would be over by the old rule, but the run works.
    const atDispatchDeadline = reduceBatch(
      started.state,
      deadline("schema", att, AT + NOT_STARTED_LIMIT_MS),
      ctx,
    );
    expect(atDispatchDeadline.state).toBe(started.state);
    expect(atDispatchDeadline.effects).toEqual([]);

    const timedOut = reduceBatch(started.state, deadline("schema", att, startedAt + 90 * 60_000), ctx);
    expect(ofType(timedOut.effects, "cancel_workflow_run")).toEqual([
      {
        type: "cancel_workflow_run",
        key: `batch:bat_1:cancel:schema:${att}`,
        ticket: "schema",
        attemptId: att,
        workflowRunId: 4242,
      },
    ]);
    expect(ofType(timedOut.effects, "batch_issue")[0]!.create!.body).toContain(
      "could not refine this ticket (the refine agent gave no result within 90 minutes)",
    );
    expect(timedOut.state.tickets[0]!.refine).toMatchObject({ status: "failed", abandoned: true });
  });

  test("a run GitHub names only after its attempt was abandoned is cancelled then, once", () => {
    const { state, ctx } = start();
    const att = ctx.attempts[0]!;
    const gaveUp = reduceBatch(state, deadline("schema", att, AT + NOT_STARTED_LIMIT_MS), ctx);
    expect(ofType(gaveUp.effects, "cancel_workflow_run")).toEqual([]);
    // A runner picks it up after all: the in_progress names the run, which is cancelled; it does not start again.
    const named = reduceBatch(
      gaveUp.state,
      {
        type: "refine_started",
        at: AT + NOT_STARTED_LIMIT_MS + 60_000,
        ticket: "schema",
        attemptId: att,
        workflowRunId: 777,
      },
      ctx,
    );
    expect(named.effects.map((e) => e.type)).toEqual(["cancel_workflow_run"]);
    expect(ofType(named.effects, "cancel_workflow_run")[0]).toMatchObject({ workflowRunId: 777 });
    expect(named.state.tickets[0]!.refine?.startedAt).toBeUndefined();
    const twice = reduceBatch(
      named.state,
      {
        type: "refine_queued",
        at: AT + NOT_STARTED_LIMIT_MS + 61_000,
        ticket: "schema",
        attemptId: att,
        workflowRunId: 777,
      },
      ctx,
    );
    expect(twice.effects).toEqual([]);
  });

  test("a refinement that ended with its run (failed or done) has nothing cancelled", () => {
    const { state, ctx } = start();
    const [schema, api] = [ctx.attempts[0]!, ctx.attempts[1]!];
    let s = state;
    const step = (e: Parameters<typeof reduceBatch>[1]) => {
      const out = reduceBatch(s, e, ctx);
      s = out.state;
      return out.effects;
    };
    step({ type: "refine_queued", at: AT, ticket: "schema", attemptId: schema, workflowRunId: 1 });
    const failed = step({
      type: "ticket_refine_failed",
      at: AT + 1,
      ticket: "schema",
      attemptId: schema,
      reason: "x",
    });
    const done = step({
      type: "ticket_refined",
      at: AT + 2,
      ticket: "api",
      attemptId: api,
      refined: REFINED,
      costUsd: 0,
    });
    // Named later than its end (a reordered delivery): still nothing to cancel.
    const lateName = step({
      type: "refine_queued",
      at: AT + 3,
      ticket: "api",
      attemptId: api,
      workflowRunId: 2,
    });
    // Their deadlines coming due later change nothing.
    const due = [
      ...step(deadline("schema", schema, AT + NOT_STARTED_LIMIT_MS)),
      ...step(deadline("api", api, AT + NOT_STARTED_LIMIT_MS)),
    ];
    expect([...failed, ...done, ...lateName, ...due].filter((e) => e.type === "cancel_workflow_run")).toEqual(
      [],
    );
    expect(due).toEqual([]);
  });

  test("an attempt stored before run starts were kept times out when its deadline row comes due", () => {
    const { state, ctx } = start();
    const legacy = structuredClone(state);
    delete legacy.tickets[0]!.refine!.dispatchedAt;
    const out = reduceBatch(legacy, deadline("schema", ctx.attempts[0]!, AT + 15 * 60_000), ctx);
    expect(ofType(out.effects, "batch_issue")[0]!.create!.body).toContain(
      "(the refine agent gave no result within 15 minutes)",
    );
  });
});
