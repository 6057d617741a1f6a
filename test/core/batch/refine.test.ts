/** The batch reducer with refinement on: raw tickets go to the refine agent first, references never do. */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  batchCost,
  createBatch,
  reduceBatch,
  type BatchContext,
  type BatchEffect,
  type BatchState,
  type CreateBatchInput,
} from "../../../src/core/batch/machine.js";
import { NOT_STARTED_LIMIT_MS } from "../../../src/core/workflow/machine.js";
import { renderBatchStatus } from "../../../src/core/batch/render.js";

const AT = Date.parse("2026-11-21T10:00:00Z");

const BODY = [
  "Ship the API.",
  "",
  "- [ ] [schema] Design the schema est: 2",
  "- [ ] [api] Build the REST API (depends on [schema]) est: 3",
  "- [ ] #7 depends on [schema]",
  "- [ ] Write the docs after [api]",
  "- [x] [setup] Already done",
].join("\n");

function ids(): BatchContext & { attempts: string[] } {
  let runs = 0;
  const attempts: string[] = [];
  return {
    attempts,
    newRunId: () => `run_${++runs}`,
    newAttemptId: () => {
      const id = `att_refine${String(attempts.length + 1).padStart(6, "0")}`;
      attempts.push(id);
      return id;
    },
  };
}

function start(patch: Partial<CreateBatchInput> = {}, ctx = ids()) {
  const out = createBatch({
    id: "bat_1",
    repo: { owner: "octo", name: "repo" },
    trackingIssue: 1,
    title: "Ship the API",
    body: BODY,
    strategy: "dependency-aware",
    parallel: 2,
    batchSize: 2,
    at: AT,
    actor: "alice",
    refine: { parallel: 2 },
    newAttemptId: ctx.newAttemptId!,
    ...patch,
  });
  if (!out.ok) throw new Error(out.errors.join("\n"));
  return { ...out, ctx };
}

const ofType = <T extends BatchEffect["type"]>(effects: BatchEffect[], type: T) =>
  effects.filter((e): e is Extract<BatchEffect, { type: T }> => e.type === type);

const deadline = (ticket: string, attemptId: string, at: number) =>
  ({ type: "refine_deadline", at, ticket, attemptId }) as const;

const REFINED = {
  title: "Design the database schema for orders",
  body: "## Acceptance criteria\n\n- [ ] a migration creates `orders`",
  estimate: 5,
  labels: ["type:feature", "area:db"],
};

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

test("property: every raw ticket gets exactly one issue whatever its refinements do; keys never repeat; the refine limit holds", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 60 }),
      (n, limit, choices) => {
        const body = Array.from({ length: n }, (_, i) =>
          i % 4 === 3
            ? `- [ ] #${100 + i}`
            : `- [ ] [k${i}] Ticket ${i}${i > 0 && (i - 1) % 4 !== 3 ? ` after [k${i - 1}]` : ""}`,
        ).join("\n");
        const { state: first, effects, ctx } = start({ body, refine: { parallel: limit } });
        let state = first;
        const all = [...effects];
        for (let i = 0; ; i++) {
          const running = state.tickets.filter((t) => t.refine?.status === "running");
          expect(running.length).toBeLessThanOrEqual(limit);
          if (running.length === 0) break;
          const [pick, roll] = choices[i % choices.length]!;
          const t = running[pick % running.length]!;
          const attemptId = roll === 3 ? "att_stale0000000" : t.refine!.attemptId!;
          if (roll === 4) {
            // GitHub names the run (sometimes it starts), then its deadline passes: the run is cancelled.
            const runId = 9000 + i;
            // Later than any dispatch so far (a deadline event dispatches the next attempts at its time).
            const now = AT + (i + 1) * 3 * NOT_STARTED_LIMIT_MS;
            for (const e of [
              { type: "refine_queued", at: now, ticket: t.key, attemptId, workflowRunId: runId },
              ...(pick % 2 === 0
                ? [{ type: "refine_started", at: now + 1, ticket: t.key, attemptId } as const]
                : []),
              { type: "refine_deadline", at: now + 2 * NOT_STARTED_LIMIT_MS, ticket: t.key, attemptId },
            ] as const) {
              const out = reduceBatch(state, e, ctx);
              all.push(...out.effects);
              state = out.state;
            }
            expect(all.filter((e) => e.type === "cancel_workflow_run").at(-1)).toMatchObject({
              ticket: t.key,
              workflowRunId: runId,
            });
            continue;
          }
          const out =
            roll <= 1
              ? reduceBatch(
                  state,
                  {
                    type: "ticket_refined",
                    at: AT,
                    ticket: t.key,
                    attemptId,
                    refined: { ...REFINED, title: `R ${t.key}` },
                    costUsd: 0.01,
                  },
                  ctx,
                )
              : reduceBatch(
                  state,
                  { type: "ticket_refine_failed", at: AT, ticket: t.key, attemptId, reason: "x" },
                  ctx,
                );
          if (roll === 3) {
            expect(out.state).toBe(state);
            // A stale answer changes nothing; the real attempt then fails.
            const real = reduceBatch(
              state,
              {
                type: "ticket_refine_failed",
                at: AT,
                ticket: t.key,
                attemptId: t.refine!.attemptId!,
                reason: "x",
              },
              ctx,
            );
            all.push(...real.effects);
            state = real.state;
            continue;
          }
          all.push(...out.effects);
          state = out.state;
        }
        const raw = state.tickets.filter((t) => t.kind !== "issue");
        const creates = all.filter((e) => e.type === "batch_issue" && e.create);
        expect(creates.map((e) => (e as { ticket: string }).ticket).sort()).toEqual(
          raw.map((t) => t.key).sort(),
        );
        expect(raw.every((t) => t.refine?.status === "done" || t.refine?.status === "failed")).toBe(true);
        const keys = all.map((e) => e.key);
        expect(new Set(keys).size).toBe(keys.length);
      },
    ),
    { numRuns: 150 },
  );
});
