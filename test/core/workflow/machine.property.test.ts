import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type {
  PermissionLevel,
  RunEvent,
  StageDef,
  TerminalFailureStrategy,
} from "../../../src/core/model.js";
import type { AgentResult } from "../../../src/core/result.js";
import { isTerminal, nextWake } from "../../../src/core/workflow/index.js";
import { Harness, stage } from "./support.js";

// ---------------------------------------------------------------------------------------------
// Random workflow templates: a DAG (needs only point backwards) with random policies.

const strategyArb: fc.Arbitrary<TerminalFailureStrategy> = fc.oneof(
  fc.constant({ kind: "abort_all" } as const),
  fc.constant({ kind: "continue_others" } as const),
  fc.constant({ kind: "escalate_to_human" } as const),
  fc.constant({ kind: "retry_with_different_agent", profile: "alt" } as const),
);

const stageShape = fc.record({
  needMask: fc.nat(),
  timeoutMinutes: fc.integer({ min: 1, max: 30 }),
  approvals: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 2 })),
  retries: fc.integer({ min: 0, max: 2 }),
  backoffSeconds: fc.integer({ min: 0, max: 60 }),
  then: strategyArb,
  iterate: fc.option(
    fc.record({
      reviewers: fc.subarray(["rev1", "rev2"], { minLength: 1 }),
      threshold: fc.constantFrom(0.5, 1),
      maxIterations: fc.integer({ min: 1, max: 3 }),
    }),
    { freq: 4 },
  ),
  openPr: fc.boolean(),
});

const templateArb: fc.Arbitrary<StageDef[]> = fc
  .array(stageShape, { minLength: 1, maxLength: 6 })
  .map((shapes) =>
    shapes.map((s, i) => {
      const needs = Array.from({ length: i }, (_, j) => j)
        .filter((j) => (s.needMask >> j) & 1)
        .map((j) => `s${j}`);
      return stage(`s${i}`, {
        needs,
        timeoutMinutes: s.timeoutMinutes,
        approvals: s.approvals,
        onFailure: { retries: s.retries, backoffSeconds: s.backoffSeconds, then: s.then },
        ...(s.iterate ? { iterate: s.iterate } : {}),
        openPr: s.openPr,
      });
    }),
  );

const permissionsArb: fc.Arbitrary<Record<string, PermissionLevel>> = fc.record({
  dev: fc.constantFrom<PermissionLevel>("autonomous", "autonomous", "supervised", "human-required"),
  alt: fc.constantFrom<PermissionLevel>("autonomous", "supervised"),
  rev1: fc.constant<PermissionLevel>("autonomous"),
  rev2: fc.constant<PermissionLevel>("autonomous"),
});

type Outcome =
  "succeeded" | "failed" | "error" | "needs_input" | "approve" | "request_changes" | "lost" | "timeout";
const outcomeArb = fc.constantFrom<Outcome>(
  "succeeded",
  "succeeded",
  "failed",
  "error",
  "needs_input",
  "approve",
  "request_changes",
  "lost",
  "timeout",
);

function agentResult(outcome: Outcome, reviewer: boolean, n: number): Partial<AgentResult> {
  const review = reviewer
    ? {
        review: {
          verdict: outcome === "request_changes" || outcome === "failed" ? "request_changes" : "approve",
          comments: `c${n}`,
        } as const,
      }
    : {};
  const status =
    outcome === "failed" || outcome === "error" || outcome === "needs_input"
      ? outcome
      : ("succeeded" as const);
  return { status, reason: `r${n}`, question: `q${n}?`, branch: `trellis/7-b${n}`, costUsd: 0.01, ...review };
}

// ---------------------------------------------------------------------------------------------
// Invariants checked after every step

function checkInvariants(h: Harness, defs: StageDef[]): void {
  const stages = h.state.stages;
  for (const def of defs) {
    const s = stages[def.id]!;
    const open = s.attempts.filter((a) => a.finishedAt === undefined);
    if (s.status === "queued" || s.status === "running") {
      // No stage starts before all its needs succeeded.
      for (const n of def.needs) expect(stages[n]?.status, `${def.id} runs before ${n}`).toBe("succeeded");
      expect(open.length).toBeGreaterThan(0);
    } else {
      expect(open, `${def.id} is ${s.status} with attempts in flight`).toEqual([]);
    }
    if (s.status === "waiting") expect(s.waitingFor).toBeDefined();
  }
  // Every dispatch of this step is for a stage whose needs succeeded.
  for (const d of h.of("dispatch")) {
    const def = defs.find((x) => x.id === d.stage)!;
    for (const n of def.needs) expect(stages[n]?.status).toBe("succeeded");
  }
  expect(h.of("audit").filter((a) => a.action === "reducer_error")).toEqual([]);
  if (h.state.status === "succeeded")
    for (const s of Object.values(stages)) expect(["succeeded", "skipped"]).toContain(s.status);
  if (h.state.status === "succeeded")
    expect(Object.values(stages).some((s) => s.status === "failed")).toBe(false);
}

/** Attempts a stage may make without humans re-opening it: 1 + retries + fallback + extra review rounds. */
function attemptBound(def: StageDef, humanRestarts: number, answers: number): number {
  const fallback = def.onFailure.then.kind === "retry_with_different_agent" ? 1 : 0;
  const rounds = def.iterate ? def.iterate.maxIterations - 1 : 0;
  return (1 + humanRestarts) * (1 + def.onFailure.retries + fallback + rounds) + answers;
}

function checkAttemptBounds(
  h: Harness,
  defs: StageDef[],
  restarts: Map<string, number>,
  answers: Map<string, number>,
) {
  for (const def of defs) {
    const s = h.state.stages[def.id]!;
    const producers = s.attempts.filter((a) => a.reviewer === undefined).length;
    expect(producers).toBeLessThanOrEqual(
      attemptBound(def, restarts.get(def.id) ?? 0, answers.get(def.id) ?? 0),
    );
    const reviews = s.attempts.length - producers;
    expect(reviews).toBeLessThanOrEqual(producers * (def.iterate?.reviewers.length ?? 0));
  }
}

// ---------------------------------------------------------------------------------------------
// A fair driver: agents finish everything dispatched (with scripted outcomes, then success),
// time advances to the next wake-up, and a human resolves waits.

function drive(
  defs: StageDef[],
  permissions: Record<string, PermissionLevel>,
  script: Outcome[],
  human: number[],
) {
  const h = new Harness(defs, { permissions });
  const restarts = new Map<string, number>();
  const answers = new Map<string, number>();
  let n = 0;
  let humanChoice = 0;
  const nextHuman = () => human[humanChoice++ % Math.max(1, human.length)] ?? 0;
  h.start();
  checkInvariants(h, defs);
  for (let steps = 0; steps < 2000 && !isTerminal(h.state); steps++) {
    const open = Object.values(h.state.stages).flatMap((s) =>
      s.attempts.filter((a) => a.finishedAt === undefined).map((a) => ({ s, a })),
    );
    if (open.length > 0) {
      const { a } = open[0]!;
      const outcome = n < script.length ? script[n]! : "succeeded";
      n++;
      h.advance(1000);
      if (a.startedAt === undefined) h.send({ type: "attempt_started", at: h.now, attemptId: a.id });
      if (outcome === "lost")
        h.send({ type: "attempt_lost", at: h.now, attemptId: a.id, reason: "runner died" });
      else if (outcome === "timeout") {
        h.now = Math.max(h.now, nextWake(h.state) ?? h.now);
        h.send({ type: "tick", at: h.now });
      } else
        h.send({
          type: "attempt_finished",
          at: h.now,
          attemptId: a.id,
          result: { ...baseResult(a.id), ...agentResult(outcome, a.reviewer !== undefined, n) },
        });
    } else {
      const wake = nextWake(h.state);
      const waiting = Object.values(h.state.stages).find(
        (s) => s.status === "waiting" && s.waitingFor !== "retry_backoff",
      );
      if (h.state.status === "held") h.send({ type: "unhold", at: h.now, actor: "human" });
      else if (wake !== undefined && (waiting === undefined || wake <= h.now)) {
        h.now = Math.max(h.now, wake);
        h.send({ type: "tick", at: h.now });
      } else if (waiting) {
        const choice = nextHuman();
        const id = waiting.id;
        const actor = `human${waiting.approvals.length}`;
        switch (waiting.waitingFor) {
          case "approval":
            if (choice % 5 === 0) h.send({ type: "reject", at: h.now, actor, stage: id, reason: "no" });
            else h.send({ type: "approve", at: h.now, actor, stage: id });
            break;
          case "answer":
            answers.set(id, (answers.get(id) ?? 0) + 1);
            h.send({ type: "answer", at: h.now, actor, text: "yes" });
            break;
          case "human":
            if (!waiting.reason) h.send({ type: "approve", at: h.now, actor, stage: id });
            else if (choice % 3 === 0 && (restarts.get(id) ?? 0) < 2) {
              restarts.set(id, (restarts.get(id) ?? 0) + 1);
              h.send({ type: "retry", at: h.now, actor, stage: id });
            } else h.send({ type: "abort", at: h.now, actor, reason: "giving up" });
            break;
          case "merge": {
            const pr = waiting.prNumber ?? 100 + n;
            if (waiting.prNumber === undefined)
              h.send({ type: "pr_opened", at: h.now, stage: id, prNumber: pr });
            if (choice % 4 === 0) h.send({ type: "pr_closed", at: h.now, prNumber: pr, actor });
            else h.send({ type: "pr_merged", at: h.now, prNumber: pr, actor });
            break;
          }
          default:
            h.send({ type: "abort", at: h.now, actor, reason: "stuck" });
        }
      } else {
        throw new Error(`stuck: run ${h.state.status} with nothing to do: ${JSON.stringify(h.state.stages)}`);
      }
    }
    checkInvariants(h, defs);
    checkAttemptBounds(h, defs, restarts, answers);
  }
  return h;
}

function baseResult(attemptId: string): AgentResult {
  return {
    version: 1,
    attemptId,
    stage: "s",
    profile: "p",
    status: "succeeded",
    summary: "s",
    filesChanged: [],
    criteria: [],
    annotations: [],
    costUsd: 0,
    tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    turns: 0,
    durationMs: 0,
  };
}

describe("run reducer properties", () => {
  it("every run terminates under a fair scheduler, respecting needs and attempt bounds", () => {
    fc.assert(
      fc.property(
        templateArb,
        permissionsArb,
        fc.array(outcomeArb, { maxLength: 40 }),
        fc.array(fc.nat(20), { maxLength: 20 }),
        (defs, permissions, script, human) => {
          const h = drive(defs, permissions, script, human);
          expect(isTerminal(h.state), `not terminal: ${h.state.status}`).toBe(true);
          expect(nextWake(h.state)).toBeUndefined();
        },
      ),
      { numRuns: 400 },
    );
  });

  // Arbitrary interleavings, including nonsense: commands out of place, unknown ids and stages, duplicates.
  const stepArb = fc.oneof(
    fc.record({ kind: fc.constant("finish" as const), pick: fc.nat(), outcome: outcomeArb }),
    fc.record({ kind: fc.constant("started" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("stale" as const), pick: fc.nat(), outcome: outcomeArb }),
    fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 40 * 60_000 }) }),
    fc.record({
      kind: fc.constant("human" as const),
      type: fc.constantFrom(
        "approve",
        "reject",
        "answer",
        "hold",
        "unhold",
        "abort",
        "retry",
        "assign",
        "start",
      ),
      stage: fc.option(fc.constantFrom("s0", "s1", "s2", "s5", "nope"), { nil: undefined }),
      actor: fc.constantFrom("alice", "bob", "carol"),
    }),
    fc.record({ kind: fc.constant("refuse" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("pr" as const), pick: fc.nat(), merged: fc.boolean(), n: fc.nat(3) }),
  );

  it("never throws, never repeats an effect key, and keeps its invariants under arbitrary events", () => {
    fc.assert(
      fc.property(
        templateArb,
        permissionsArb,
        fc.array(stepArb, { maxLength: 60 }),
        (defs, permissions, steps) => {
          const h = new Harness(defs, { permissions });
          h.start();
          let n = 0;
          for (const s of steps) {
            n++;
            const all = Object.values(h.state.stages).flatMap((st) => st.attempts);
            const open = all.filter((a) => a.finishedAt === undefined);
            const at = h.now;
            let event: RunEvent | undefined;
            switch (s.kind) {
              case "finish":
              case "stale": {
                const pool = s.kind === "finish" ? open : all;
                const a = pool.length > 0 ? pool[s.pick % pool.length] : undefined;
                if (!a) break;
                if (s.outcome === "lost")
                  event = { type: "attempt_lost", at, attemptId: a.id, reason: "lost" };
                else
                  event = {
                    type: "attempt_finished",
                    at,
                    attemptId: a.id,
                    result: { ...baseResult(a.id), ...agentResult(s.outcome, a.reviewer !== undefined, n) },
                  };
                break;
              }
              case "started": {
                const a = all.length > 0 ? all[s.pick % all.length] : undefined;
                if (a) event = { type: "attempt_started", at, attemptId: a.id, runUrl: "https://x" };
                break;
              }
              case "tick":
                h.advance(s.ms);
                event = { type: "tick", at: h.now };
                break;
              case "refuse": {
                const a = open.length > 0 ? open[s.pick % open.length] : undefined;
                event = {
                  type: "dispatch_refused",
                  at,
                  attemptId: a?.id ?? "att_unknown0000",
                  reason: "over budget",
                };
                break;
              }
              case "pr": {
                const withPr = Object.values(h.state.stages).filter(
                  (st) => st.status === "waiting" && st.waitingFor === "merge",
                );
                const st = withPr.length > 0 ? withPr[s.pick % withPr.length] : undefined;
                if (st && st.prNumber === undefined)
                  event = { type: "pr_opened", at, stage: st.id, prNumber: 50 + s.n };
                else
                  event = s.merged
                    ? {
                        // The merge's two deliveries: the PR's close, or the close it caused.
                        type: s.n % 3 === 0 ? "closed_by_merge" : "pr_merged",
                        at,
                        prNumber: st?.prNumber ?? 50 + s.n,
                        actor: "bob",
                      }
                    : { type: "pr_closed", at, prNumber: st?.prNumber ?? 50 + s.n, actor: "bob" };
                break;
              }
              case "human": {
                const base = { at, actor: s.actor };
                const st = s.stage;
                event =
                  s.type === "approve"
                    ? { type: "approve", ...base, ...(st ? { stage: st } : {}) }
                    : s.type === "reject"
                      ? { type: "reject", ...base, ...(st ? { stage: st } : {}), reason: "not good" }
                      : s.type === "answer"
                        ? { type: "answer", ...base, text: "42" }
                        : s.type === "retry"
                          ? { type: "retry", ...base, ...(st ? { stage: st } : {}) }
                          : s.type === "assign"
                            ? { type: "assign", ...base, stage: st ?? "s0", profile: "alt" }
                            : s.type === "abort"
                              ? { type: "abort", ...base, reason: "stop" }
                              : s.type === "hold"
                                ? { type: "hold", ...base }
                                : s.type === "unhold"
                                  ? { type: "unhold", ...base }
                                  : { type: "start", ...base };
                break;
              }
            }
            if (!event) continue;
            const before = JSON.stringify(h.state);
            const fx = h.send(event); // throws on a repeated effect key
            if (fx.length === 0) expect(JSON.stringify(h.state)).toBe(before);
            if ("actor" in event && event.type !== "pr_merged" && event.type !== "pr_closed")
              // Every human command is either acted on (audited) or answered.
              expect(h.of("audit", fx).length + h.of("reply", fx).length).toBeGreaterThan(0);
            checkInvariants(h, defs);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
