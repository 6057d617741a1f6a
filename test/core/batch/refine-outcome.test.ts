import { describe, expect, it } from "vitest";
import { readBuiltins } from "../../../src/builtins.js";
import { REFINE_TIMEOUT_MINUTES } from "../../../src/core/batch/machine.js";
import {
  refineAttemptOf,
  refineFailure,
  refineGrantUsd,
  refineRunEvent,
  refineStage,
  refineTimeoutMinutes,
  type RefineRunFacts,
} from "../../../src/core/batch/refine-outcome.js";
import { loadDefinitions, type Definitions } from "../../../src/core/definitions.js";
import { runName } from "../../../src/core/dispatch.js";
import type { WorkflowRunEvent } from "../../../src/core/events.js";
import { result } from "../workflow/support.js";

const defs: Definitions = loadDefinitions({ builtins: await readBuiltins(), repo: new Map() }).value!;
const AT = Date.parse("2026-11-21T10:00:00Z");
const ATT = "att_0000000001";

function runEvent(
  patch: Partial<WorkflowRunEvent> = {},
  run: Partial<WorkflowRunEvent["run"]> = {},
): WorkflowRunEvent {
  return {
    kind: "workflow_run",
    deliveryId: "d1",
    installationId: 1,
    repo: { owner: "octo", name: "repo" },
    actor: { login: "octo", type: "User", isBot: false, isSelf: false },
    action: "completed",
    fromFork: false,
    ...patch,
    run: {
      id: 99,
      runAttempt: 1,
      name: "Trellis agent",
      displayTitle: runName({ stage: "refine", issue: 12, attemptId: ATT }),
      attemptId: ATT,
      status: "completed",
      conclusion: "success",
      htmlUrl: "https://github.com/octo/repo/actions/runs/99",
      headSha: "a".repeat(40),
      headBranch: "main",
      path: ".github/workflows/trellis-agent.yml",
      event: "workflow_dispatch",
      ...run,
    },
  } as WorkflowRunEvent;
}

const REFINED =
  "# Format prices\n\n## Acceptance criteria\n\n- [ ] `formatMoney(1.5)` is `$1.50`\n\nest: 2\n";

const facts = (patch: Partial<RefineRunFacts> = {}): RefineRunFacts => ({
  event: runEvent(),
  ticket: "t3",
  attemptId: ATT,
  labels: defs.config.labels,
  grantedUsd: 10,
  at: AT,
  ...patch,
});

describe("the refine workflow", () => {
  it("is the repository's refine template and its refine stage; the time limit falls back to the profile's", () => {
    expect(refineStage(defs).stage?.id).toBe("refine");
    expect(refineTimeoutMinutes(defs)).toBe(15);
    const noTemplate: Definitions = { ...defs, templates: new Map() };
    expect(refineStage(noTemplate)).toEqual({ template: undefined, stage: undefined });
    const profiles = new Map(defs.profiles);
    profiles.set("refine", { ...profiles.get("refine")!, timeoutMinutes: 7 });
    expect(refineTimeoutMinutes({ ...noTemplate, profiles })).toBe(7);
    expect(refineTimeoutMinutes({ ...noTemplate, profiles: new Map() })).toBe(REFINE_TIMEOUT_MINUTES);
  });
});

describe("refineAttemptOf", () => {
  it("names the attempt and the tracking issue of a dispatched agent run", () => {
    expect(refineAttemptOf(runEvent(), "trellis-agent.yml")).toEqual({ attemptId: ATT, trackingIssue: 12 });
  });

  it("is nothing for a fork's run, another workflow's, or a run name without an issue", () => {
    expect(refineAttemptOf(runEvent({ fromFork: true }), "trellis-agent.yml")).toBeUndefined();
    expect(refineAttemptOf(runEvent({}, { event: "push" }), "trellis-agent.yml")).toBeUndefined();
    expect(refineAttemptOf(runEvent(), "other.yml")).toBeUndefined();
    expect(
      refineAttemptOf(runEvent({}, { displayTitle: `Trellis [trellis:${ATT}]` }), "trellis-agent.yml"),
    ).toBe(undefined);
  });
});

describe("refineRunEvent", () => {
  it("a requested run is named, a started one starts the timeout", () => {
    expect(refineRunEvent(facts({ event: runEvent({ action: "requested" }) }))).toEqual({
      type: "refine_queued",
      at: AT,
      ticket: "t3",
      attemptId: ATT,
      workflowRunId: 99,
    });
    expect(refineRunEvent(facts({ event: runEvent({ action: "in_progress" }) }))).toMatchObject({
      type: "refine_started",
      workflowRunId: 99,
    });
  });

  it("a readable refined.md refines the ticket, with its cost", () => {
    const out = refineRunEvent(
      facts({ result: { ok: true, result: result({ refined: REFINED, costUsd: 0.3 }) } }),
    );
    expect(out).toMatchObject({
      type: "ticket_refined",
      ticket: "t3",
      attemptId: ATT,
      costUsd: 0.3,
      refined: { title: "Format prices", estimate: 2 },
    });
  });

  it("a claimed cost above the attempt's grant is charged only the grant, and says what was claimed", () => {
    const refined = refineRunEvent(
      facts({ grantedUsd: 0.5, result: { ok: true, result: result({ refined: REFINED, costUsd: 900 }) } }),
    );
    expect(refined).toMatchObject({ type: "ticket_refined", costUsd: 0.5, claimedUsd: 900 });
    const failed = refineRunEvent(
      facts({ grantedUsd: 0.5, result: { ok: true, result: result({ costUsd: 42 }) } }),
    );
    expect(failed).toMatchObject({ type: "ticket_refine_failed", costUsd: 0.5, claimedUsd: 42 });
    // Within the grant: charged as claimed, nothing to say.
    const normal = refineRunEvent(
      facts({ grantedUsd: 0.5, result: { ok: true, result: result({ refined: REFINED, costUsd: 0.25 }) } }),
    );
    expect(normal).toMatchObject({ costUsd: 0.25 });
    expect(normal).not.toHaveProperty("claimedUsd");
  });

  it("the grant is the dispatch's, else (unknown) a run's whole cap", () => {
    expect(refineGrantUsd({ status: "running", attempts: 1, costUsd: 0, costCapUsd: 1.5 }, 10)).toBe(1.5);
    expect(refineGrantUsd({ status: "running", attempts: 1, costUsd: 0 }, 10)).toBe(10);
    expect(refineGrantUsd(undefined, 10)).toBe(10);
  });

  it("anything else fails the refinement, saying why", () => {
    const failed = (f: Partial<RefineRunFacts>) => refineRunEvent(facts(f));
    expect(failed({ result: { ok: true, result: result({ costUsd: 0.1 }) } })).toEqual({
      type: "ticket_refine_failed",
      at: AT,
      ticket: "t3",
      attemptId: ATT,
      reason: "the agent wrote no .trellis/refined.md",
      costUsd: 0.1,
    });
    expect(failed({ result: { ok: true, result: result({ refined: "no title here" }) } })).toMatchObject({
      reason: expect.stringMatching(/^unreadable refined\.md: /),
    });
    expect(failed({ result: { ok: false, error: "no result artifact" } })).toMatchObject({
      reason: "no result artifact",
    });
    expect(failed({ event: runEvent({}, { conclusion: "cancelled" }) })).toMatchObject({
      reason: "the workflow run ended cancelled",
    });
    expect(failed({ event: runEvent({}, { conclusion: null }) })).toMatchObject({
      reason: "the workflow run ended without a conclusion",
    });
  });
});

describe("refineFailure", () => {
  it("says in one line why an attempt gave no ticket", () => {
    expect(refineFailure(result({ status: "needs_input", question: "Which\n  currency?" }))).toBe(
      "the agent asked a question instead: Which currency?",
    );
    expect(refineFailure(result({ status: "error", reason: "crashed" }))).toBe("the agent errored: crashed");
    expect(refineFailure(result({ status: "failed" }))).toBe("the agent failed: no reason given");
  });
});
