/** The batch reducer with refinement on: raw tickets go to the refine agent first, references never do. */
import { describe, expect, test } from "vitest";
import {
  batchCost,
  createBatch,
  reduceBatch,
  type BatchEffect,
  type BatchState,
} from "../../../src/core/batch/machine.js";
import { NOT_STARTED_LIMIT_MS } from "../../../src/core/workflow/machine.js";
import { renderBatchStatus } from "../../../src/core/batch/render.js";
import { AT, deadline, ofType, REFINED, start } from "./refine-support.js";

describe("refinement in the batch reducer", () => {
  test("raw tickets are dispatched to the refine agent (at most its max_parallel), references are looked up", () => {
    const { state, effects, ctx } = start();
    const refines = ofType(effects, "batch_refine");
    expect(refines.map((e) => [e.ticket, e.attemptId, e.text])).toEqual([
      ["schema", ctx.attempts[0], "Design the schema"],
      ["api", ctx.attempts[1], "Build the REST API"],
    ]);
    expect(refines[0]!.key).toBe(`batch:bat_1:refine:schema:${ctx.attempts[0]}`);
    // Only #7 is looked up now; the checked box needs nothing.
    expect(ofType(effects, "batch_issue")).toEqual([
      { type: "batch_issue", key: "batch:bat_1:issue:#7", ticket: "#7" },
    ]);
    expect(state.refine).toEqual({ parallel: 2 });
    expect(state.tickets.map((t) => [t.key, t.refine?.status])).toEqual([
      ["schema", "running"],
      ["api", "running"],
      ["#7", undefined],
      ["t6", "waiting"],
      ["setup", undefined],
    ]);
    expect(state.status).toBe("creating");
    expect(renderBatchStatus(state, { marker: "<!-- m -->", now: AT })).toContain("✏️ refining");
  });

  test("ticket_refined → the issue is created with the refined title, body, labels and back-link; the estimate counts", () => {
    const { state, ctx } = start();
    const out = reduceBatch(
      state,
      {
        type: "ticket_refined",
        at: AT + 1,
        ticket: "schema",
        attemptId: ctx.attempts[0]!,
        refined: REFINED,
        costUsd: 0.25,
        notes: ['dropped the reserved label "agent:dev"'],
      },
      ctx,
    );
    const issue = ofType(out.effects, "batch_issue")[0]!;
    expect(issue.key).toBe("batch:bat_1:issue:schema");
    expect(issue.create!.title).toBe(REFINED.title);
    expect(issue.create!.labels).toEqual(["type:feature", "area:db"]);
    expect(issue.create!.body).toContain("- [ ] a migration creates `orders`");
    expect(issue.create!.body).toContain("Part of #1 (batch ticket `schema`, estimate 5).");
    expect(issue.create!.body).toContain("from the ticket line “Design the schema”");
    // The freed slot refines the next raw ticket.
    expect(ofType(out.effects, "batch_refine").map((e) => [e.ticket, e.attemptId])).toEqual([
      ["t6", ctx.attempts[2]],
    ]);
    const t = out.state.tickets.find((x) => x.key === "schema")!;
    expect([t.title, t.estimate, t.refine?.status, t.refine?.source]).toEqual([
      REFINED.title,
      5,
      "done",
      "Design the schema",
    ]);
    expect(batchCost(out.state)).toBe(0.25);
    // The issue's creation re-renders the status comment right after; this step does not write it too.
    expect(ofType(out.effects, "batch_status")).toEqual([]);
    expect(ofType(out.effects, "audit").find((a) => a.action === "ticket_refined")!.detail).toMatchObject({
      ticket: "schema",
      labels: REFINED.labels,
      notes: ['dropped the reserved label "agent:dev"'],
    });
  });

  test("a failed refinement falls back to the ticket as written, saying why; the batch goes on", () => {
    const { state, ctx } = start();
    const out = reduceBatch(
      state,
      {
        type: "ticket_refine_failed",
        at: AT + 1,
        ticket: "api",
        attemptId: ctx.attempts[1]!,
        reason: "the agent asked a question",
        costUsd: 0.1,
      },
      ctx,
    );
    const issue = ofType(out.effects, "batch_issue")[0]!;
    expect(issue.create!.title).toBe("Build the REST API");
    expect(issue.create!.labels).toBeUndefined();
    expect(issue.create!.body).toContain("Part of #1");
    expect(issue.create!.body).toContain(
      "Trellis could not refine this ticket (the agent asked a question), so it was created as written.",
    );
    expect(out.state.tickets.find((t) => t.key === "api")!.refine).toMatchObject({
      status: "failed",
      reason: "the agent asked a question",
      costUsd: 0.1,
    });
    expect(ofType(out.effects, "batch_refine")).toHaveLength(1);
    expect(ofType(out.effects, "audit").map((a) => a.action)).toContain("ticket_refine_failed");
  });

  test("stale or unknown attempts change nothing; after all issues exist the batch activates as usual", () => {
    const { state, ctx } = start();
    const stale = reduceBatch(
      state,
      {
        type: "ticket_refined",
        at: AT,
        ticket: "schema",
        attemptId: "att_other0000000",
        refined: REFINED,
        costUsd: 0,
      },
      ctx,
    );
    expect(stale.state).toBe(state);
    expect(stale.effects).toEqual([]);

    let s: BatchState = state;
    const step = (e: Parameters<typeof reduceBatch>[1]) => {
      const out = reduceBatch(s, e, ctx);
      s = out.state;
      return out.effects;
    };
    step({
      type: "ticket_refined",
      at: AT,
      ticket: "schema",
      attemptId: ctx.attempts[0]!,
      refined: REFINED,
      costUsd: 0,
    });
    step({
      type: "ticket_refine_failed",
      at: AT,
      ticket: "api",
      attemptId: ctx.attempts[1]!,
      reason: "no file",
    });
    step({
      type: "ticket_refined",
      at: AT,
      ticket: "t6",
      attemptId: ctx.attempts[2]!,
      refined: { title: "Document the API", body: "", labels: [] },
      costUsd: 0,
    });
    // A second answer for a finished refinement is ignored.
    expect(
      step({
        type: "ticket_refine_failed",
        at: AT,
        ticket: "schema",
        attemptId: ctx.attempts[0]!,
        reason: "late",
      }),
    ).toEqual([]);
    const keys = ["schema", "api", "#7", "t6"];
    let last: BatchEffect[] = [];
    const rendered: boolean[] = [];
    keys.forEach((key, i) => {
      last = step({ type: "ticket_issue", at: AT, ticket: key, issue: 100 + i, issueId: 5000 + i });
      rendered.push(ofType(last, "batch_status").length > 0);
    });
    // While creating, the status comment is rewritten once per `refine.parallel` (2) issues, and at activation.
    expect(rendered).toEqual([false, true, false, true]);
    expect(s.status).toBe("active");
    expect(ofType(last, "batch_link")).toHaveLength(4);
    expect(ofType(last, "start_ticket").map((e) => [e.ticket, e.title])).toEqual([["schema", REFINED.title]]);
  });

  test("aborting the batch ends its open refinements and cancels their Actions runs, even those named later", () => {
    const { state, ctx } = start();
    const [schema, api] = [ctx.attempts[0]!, ctx.attempts[1]!];
    const queued = reduceBatch(
      state,
      { type: "refine_queued", at: AT, ticket: "schema", attemptId: schema, workflowRunId: 501 },
      ctx,
    ).state;
    const aborted = reduceBatch(
      queued,
      { type: "abort", at: AT + 1, actor: "alice", reason: "issue closed" },
      ctx,
    );
    expect(aborted.state.status).toBe("aborted");
    expect(ofType(aborted.effects, "cancel_workflow_run")).toEqual([
      {
        type: "cancel_workflow_run",
        key: `batch:bat_1:cancel:schema:${schema}`,
        ticket: "schema",
        attemptId: schema,
        workflowRunId: 501,
      },
    ]);
    // No ticket issue is created for an aborted batch.
    expect(ofType(aborted.effects, "batch_issue")).toEqual([]);
    expect(aborted.state.tickets.slice(0, 2).map((t) => t.refine)).toMatchObject([
      { status: "failed", reason: "batch aborted: issue closed", abandoned: true },
      { status: "failed", reason: "batch aborted: issue closed", abandoned: true },
    ]);
    // The other attempt's run is named after the abort: cancelled then.
    const named = reduceBatch(
      aborted.state,
      { type: "refine_queued", at: AT + 2, ticket: "api", attemptId: api, workflowRunId: 502 },
      ctx,
    );
    expect(ofType(named.effects, "cancel_workflow_run").map((e) => e.workflowRunId)).toEqual([502]);
    // Deadlines coming due afterwards do nothing.
    expect(reduceBatch(named.state, deadline("api", api, AT + NOT_STARTED_LIMIT_MS), ctx).effects).toEqual(
      [],
    );
  });

  test("the dispatch's grant is kept on the refinement, and a capped claim is audited", () => {
    const { state, ctx } = start();
    const schema = ctx.attempts[0]!;
    const granted = reduceBatch(
      state,
      { type: "refine_queued", at: AT, ticket: "schema", attemptId: schema, costCapUsd: 0.75 },
      ctx,
    ).state;
    const refinement = granted.tickets.find((t) => t.key === "schema")!.refine!;
    expect(refinement).toMatchObject({ costCapUsd: 0.75 });
    expect(refinement.workflowRunId).toBeUndefined();
    const out = reduceBatch(
      granted,
      {
        type: "ticket_refined",
        at: AT,
        ticket: "schema",
        attemptId: schema,
        refined: REFINED,
        costUsd: 0.75,
        claimedUsd: 99,
      },
      ctx,
    );
    expect(out.state.tickets.find((t) => t.key === "schema")!.refine!.costUsd).toBe(0.75);
    expect(ofType(out.effects, "audit").find((a) => a.action === "refine_cost_capped")?.detail).toMatchObject(
      {
        ticket: "schema",
        attemptId: schema,
        claimedUsd: 99,
        chargedUsd: 0.75,
      },
    );
  });

  test("an aborted batch ignores refinements that finish later", () => {
    const { state, ctx } = start();
    const aborted = reduceBatch(state, { type: "abort", at: AT, actor: "alice", reason: "stop" }, ctx).state;
    const out = reduceBatch(
      aborted,
      {
        type: "ticket_refined",
        at: AT,
        ticket: "schema",
        attemptId: ctx.attempts[0]!,
        refined: REFINED,
        costUsd: 0,
      },
      ctx,
    );
    expect(out.effects).toEqual([]);
  });

  test("without refinement, or without a way to name attempts, raw tickets are created verbatim", () => {
    const off = start({ refine: undefined });
    expect(ofType(off.effects, "batch_refine")).toEqual([]);
    expect(ofType(off.effects, "batch_issue")).toHaveLength(4);
    expect(off.state.tickets.some((t) => t.refine)).toBe(false);

    const noIds = createBatch({
      id: "bat_2",
      repo: { owner: "o", name: "r" },
      trackingIssue: 2,
      title: "t",
      body: "- [ ] One thing",
      strategy: "parallel",
      parallel: 1,
      batchSize: 1,
      at: AT,
      actor: "a",
      refine: { parallel: 1 },
    });
    if (!noIds.ok) throw new Error("refused");
    expect(ofType(noIds.effects, "batch_issue")[0]!.create!.body).toContain("could not refine");
  });
});
