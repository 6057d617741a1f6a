/** Shared by the refinement tests of the batch reducer: a batch with raw tickets and references, refinement on. */
import {
  createBatch,
  type BatchContext,
  type BatchEffect,
  type CreateBatchInput,
} from "../../../src/core/batch/machine.js";

export const AT = Date.parse("2026-11-21T10:00:00Z");

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

export function start(patch: Partial<CreateBatchInput> = {}, ctx = ids()) {
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

export const ofType = <T extends BatchEffect["type"]>(effects: BatchEffect[], type: T) =>
  effects.filter((e): e is Extract<BatchEffect, { type: T }> => e.type === type);

export const deadline = (ticket: string, attemptId: string, at: number) =>
  ({ type: "refine_deadline", at, ticket, attemptId }) as const;

export const REFINED = {
  title: "Design the database schema for orders",
  body: "## Acceptance criteria\n\n- [ ] a migration creates `orders`",
  estimate: 5,
  labels: ["type:feature", "area:db"],
};
