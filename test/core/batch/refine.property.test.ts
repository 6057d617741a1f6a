/** Property test of the batch reducer with refinement on: whatever the refinements do, each raw ticket gets one issue. */
import fc from "fast-check";
import { expect, test } from "vitest";
import { reduceBatch } from "../../../src/core/batch/machine.js";
import { NOT_STARTED_LIMIT_MS } from "../../../src/core/workflow/machine.js";
import { AT, REFINED, start } from "./refine-support.js";

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
