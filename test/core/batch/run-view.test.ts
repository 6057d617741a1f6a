import { describe, expect, it } from "vitest";
import { ticketRunUpdate, ticketRunView } from "../../../src/core/batch/run-view.js";
import type { RunState } from "../../../src/core/model.js";
import { createRun, reduceRun } from "../../../src/core/workflow/machine.js";
import { stage, template } from "../workflow/support.js";

const AT = Date.parse("2026-11-21T10:00:00Z");

function ticketRun(batch?: number): { before: RunState; after: RunState } {
  const before = createRun({
    id: "run_1",
    repo: { owner: "octo", name: "repo" },
    issue: 7,
    issueTitle: "Alpha",
    workflow: template([stage("dev")]),
    costCapUsd: 5,
    at: AT,
    ...(batch !== undefined ? { batch } : {}),
  });
  const after = reduceRun(
    before,
    { type: "start", at: AT, actor: "trellis" },
    { newAttemptId: () => "att_0000000001" },
  ).state;
  return { before, after };
}

describe("a ticket's run on its tracking issue", () => {
  it("shows the run's status, stage, agent, check and cost", () => {
    expect(ticketRunView(ticketRun(1).after)).toEqual({
      status: "active",
      stage: "dev",
      agent: "dev",
      check: expect.any(String),
      costUsd: 0,
    });
  });

  it("a change the tracking issue shows becomes the batch's run_update", () => {
    const { before, after } = ticketRun(1);
    expect(ticketRunUpdate(before, after, AT + 1)).toEqual({
      type: "run_update",
      at: AT + 1,
      runId: "run_1",
      ...ticketRunView(after),
    });
  });

  it("nothing for a change it does not show, or for a run outside a batch", () => {
    const { after } = ticketRun(1);
    expect(ticketRunUpdate(after, { ...after, updatedAt: after.updatedAt + 1 }, AT)).toBeUndefined();
    const solo = ticketRun();
    expect(ticketRunUpdate(solo.before, solo.after, AT)).toBeUndefined();
  });
});
