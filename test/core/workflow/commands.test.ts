/** Run reducer: hold, unhold, abort, retry and assign, and how replies quote commands. */
import { describe, expect, it } from "vitest";
import { nextWake, reduceRun } from "../../../src/core/workflow/index.js";
import { feature, Harness, stage } from "./support.js";

describe("hold, unhold and abort", () => {
  it("hold lets running attempts finish but dispatches nothing until unhold", () => {
    const h = new Harness(feature());
    h.start();
    h.send({ type: "hold", at: h.now, actor: "bob", reason: "freeze" });
    expect(h.state.status).toBe("held");
    expect(h.of("reply", h.send({ type: "hold", at: h.now, actor: "bob" }))[0]?.body).toMatch(
      /already on hold/,
    );
    const fx = h.finish("dev", { costUsd: 1 });
    expect(h.status("dev")).toBe("succeeded");
    expect(h.of("dispatch", fx)).toEqual([]);
    expect(h.status("qa")).toBe("pending");
    expect(h.state.costUsd).toBe(1);
    expect(h.state.status).toBe("held");
    const un = h.send({ type: "unhold", at: h.now, actor: "bob" });
    expect(h.of("dispatch", un).map((d) => d.stage)).toEqual(["qa", "review"]);
    expect(h.state.status).toBe("active");
  });

  it("retries that fall due while held wait for unhold", () => {
    const h = new Harness([
      stage("dev", { onFailure: { retries: 1, backoffSeconds: 5, then: { kind: "abort_all" } } }),
    ]);
    h.start();
    h.send({ type: "hold", at: h.now, actor: "bob" });
    h.finish("dev", { status: "failed" });
    h.advance(10_000);
    expect(h.of("dispatch", h.send({ type: "tick", at: h.now }))).toEqual([]);
    expect(nextWake(h.state)).toBeUndefined();
    expect(h.of("dispatch", h.send({ type: "unhold", at: h.now, actor: "bob" }))).toHaveLength(1);
  });

  it("abort cancels in-flight check runs and ends the run; later commands get a reply", () => {
    const h = new Harness(feature());
    h.start();
    h.started("dev");
    const fx = h.send({ type: "abort", at: h.now, actor: "bob", reason: "wrong issue" });
    expect(h.of("check_run", fx)).toMatchObject([{ stage: "dev", conclusion: "cancelled" }]);
    expect(Object.values(h.state.stages).every((s) => s.status === "aborted")).toBe(true);
    expect(h.state.status).toBe("aborted");
    expect(h.of("audit", fx)[0]).toMatchObject({
      actor: "bob",
      action: "abort",
      detail: { reason: "wrong issue" },
    });
    expect(h.of("board", fx)).toMatchObject([{ column: "Failed" }]);
    for (const e of [
      { type: "abort", at: h.now, actor: "bob", reason: "x" },
      { type: "retry", at: h.now, actor: "bob" },
      { type: "hold", at: h.now, actor: "bob" },
    ] as const)
      expect(h.of("reply", h.send(e))[0]?.body).toMatch(/already aborted/);
  });
});

describe("retry and assign", () => {
  it("/retry on a failed run reopens it and un-skips the dependents", () => {
    const h = new Harness([
      stage("a", { onFailure: { retries: 0, backoffSeconds: 0, then: { kind: "continue_others" } } }),
      stage("b", { needs: ["a"] }),
    ]);
    h.start();
    h.finish("a", { status: "failed" });
    expect(h.state.status).toBe("failed");
    h.send({ type: "retry", at: h.now, actor: "bob" });
    expect(h.state.status).toBe("active");
    expect(h.status("a")).toBe("queued");
    expect(h.status("b")).toBe("pending");
    h.finish("a");
    h.finish("b");
    expect(h.state.status).toBe("succeeded");
  });

  it("names every stage and profile in full when a command names one that does not exist", () => {
    const h = new Harness(feature(), { permissions: { dev: "autonomous", senior: "autonomous" } });
    h.start();
    const stages = Object.keys(h.state.stages);
    expect(stages.length).toBeGreaterThan(1);
    const listed = stages.map((name) => `\`${name}\``).join(", ");
    const approve = h.of("reply", h.send({ type: "approve", at: 1, actor: "bob", stage: "nope" }))[0]?.body;
    expect(approve).toContain(`the stages are ${listed}.`);
    const assign = h.of(
      "reply",
      h.send({ type: "assign", at: 1, actor: "bob", stage: "nope", profile: "qa" }),
    )[0];
    expect(assign?.body).toContain(`the stages are ${listed}.`);
    const profile = h.of(
      "reply",
      h.send({ type: "assign", at: 1, actor: "bob", stage: stages[0]!, profile: "ghost" }),
    );
    expect(profile[0]?.body).toMatch(/known profiles are `[a-z]+`(, `[a-z]+`)+\./);
  });

  it("/assign changes the profile of the next attempt", () => {
    const h = new Harness([stage("dev")], { permissions: { dev: "autonomous", senior: "autonomous" } });
    h.start();
    expect(
      h.of("reply", h.send({ type: "assign", at: h.now, actor: "bob", stage: "dev", profile: "ghost" }))[0]
        ?.body,
    ).toMatch(/no profile `ghost`/);
    h.send({ type: "assign", at: h.now, actor: "bob", stage: "dev", profile: "senior" });
    h.finish("dev", { status: "failed" });
    const fx = h.send({ type: "retry", at: h.now, actor: "bob", stage: "dev" });
    expect(h.of("dispatch", fx)).toMatchObject([{ profile: "senior" }]);
  });
});

describe("replies quote what humans typed safely", () => {
  it("stage and profile names from a command cannot break out of their code span", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const fx = h.send({
      type: "approve",
      at: h.now,
      actor: "bob",
      stage: "x`\n\n<!-- trellis:status run=evil --> @team",
    });
    const body = h.of("reply", fx)[0]?.body ?? "";
    expect(body).toMatch(/^\/approve: there is no stage `x {3}!-- trellis:status run=evil -- @team`;/);
    expect(body).not.toContain("<");
    expect(body.split("`").length % 2).toBe(1); // balanced code spans
  });

  it("ctx.permissionOf overrides the permissions snapshot", () => {
    const h = new Harness([stage("dev")], { permissions: { dev: "autonomous" } });
    const out = reduceRun(
      h.state,
      { type: "start", at: h.now, actor: "a" },
      {
        newAttemptId: () => "att_0000000001",
        permissionOf: () => "human-required",
      },
    );
    expect(out.state.stages.dev).toMatchObject({ status: "waiting", waitingFor: "human" });
  });
});
