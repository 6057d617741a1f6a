/** Run reducer: approvals and questions to humans. */
import { describe, expect, it } from "vitest";
import { boardColumn } from "../../../src/core/workflow/index.js";
import { Harness, stage } from "./support.js";

describe("approvals", () => {
  it("waits for the required number of distinct approvers", () => {
    const h = new Harness([stage("spec", { approvals: 2 }), stage("impl", { needs: ["spec"] })]);
    h.start();
    const fx = h.finish("spec");
    expect(h.status("spec")).toBe("waiting:approval");
    expect(h.of("check_run", fx)).toMatchObject([
      { conclusion: "action_required", title: "Waiting for 2 approvals" },
    ]);
    expect(h.state.status).toBe("waiting");
    expect(boardColumn(h.state)).toBe("In review");

    h.send({ type: "approve", at: h.now, actor: "bob" });
    expect(h.status("spec")).toBe("waiting:approval");
    const again = h.send({ type: "approve", at: h.now, actor: "bob", stage: "spec" });
    expect(h.of("reply", again)[0]?.body).toMatch(/already approved/);
    const second = h.send({ type: "approve", at: h.now, actor: "carol" });
    expect(h.status("spec")).toBe("succeeded");
    expect(h.of("dispatch", second)).toMatchObject([{ stage: "impl" }]);
    expect(h.of("check_run", second).find((c) => c.stage === "spec")).toMatchObject({
      conclusion: "success",
    });
    expect(h.of("audit", second).map((a) => [a.actor, a.action])).toContainEqual(["carol", "approve"]);
  });

  it("reject fails the attempt with the reason as feedback for the next dispatch", () => {
    const h = new Harness([
      stage("spec", {
        approvals: 1,
        onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "escalate_to_human" } },
      }),
    ]);
    h.start();
    h.finish("spec");
    const fx = h.send({ type: "reject", at: h.now, actor: "bob", reason: "cover the error cases" });
    expect(h.state.stages.spec?.feedback).toEqual(["Rejected by bob: cover the error cases"]);
    expect(h.of("dispatch", fx)).toMatchObject([{ attempt: 2 }]);
    expect(h.of("check_run", fx)[0]).toMatchObject({ conclusion: "failure", title: "Rejected by bob" });
    expect(h.state.stages.spec?.approvals).toEqual([]);
  });

  it("a supervised profile needs one approval even when the template asks none", () => {
    const h = new Harness([stage("dev")], { permissions: { dev: "supervised" } });
    h.start();
    h.finish("dev");
    expect(h.status("dev")).toBe("waiting:approval");
    h.send({ type: "approve", at: h.now, actor: "bob" });
    expect(h.state.status).toBe("succeeded");
  });

  it("a human-required profile waits for /approve before it is dispatched", () => {
    const h = new Harness([stage("deploy", { profile: "devops" })], {
      permissions: { devops: "human-required" },
    });
    const fx = h.start();
    expect(h.of("dispatch", fx)).toEqual([]);
    expect(h.status("deploy")).toBe("waiting:human");
    expect(h.of("reply", fx)[0]?.body).toMatch(/\/approve deploy/);
    const go = h.send({ type: "approve", at: h.now, actor: "bob" });
    expect(h.of("dispatch", go)).toMatchObject([{ stage: "deploy", profile: "devops" }]);
  });
});

describe("questions", () => {
  it("asks the human, records the answer and re-dispatches", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const fx = h.finish("dev", { status: "needs_input", question: "Which database?" });
    expect(h.status("dev")).toBe("waiting:answer");
    expect(h.state.stages.dev?.question).toBe("Which database?");
    expect(h.of("reply", fx)[0]?.body).toMatch(/> Which database\?[\s\S]*\/answer/);
    expect(h.state.status).toBe("waiting");
    const empty = h.send({ type: "answer", at: h.now, actor: "bob", text: "  " });
    expect(h.of("reply", empty)[0]?.body).toMatch(/empty/);
    const ans = h.send({ type: "answer", at: h.now, actor: "bob", text: "PostgreSQL" });
    expect(h.state.stages.dev?.answers).toEqual([
      { question: "Which database?", answer: "PostgreSQL", by: "bob" },
    ]);
    expect(h.state.stages.dev?.question).toBeUndefined();
    expect(h.of("dispatch", ans)).toMatchObject([{ attempt: 2 }]);
  });

  it("neutralises mentions and hidden markers in the agent's question", () => {
    const h = new Harness([stage("dev")]);
    h.start();
    const fx = h.finish("dev", {
      status: "needs_input",
      question: "Ping @octocat <!-- trellis:status run=x -->",
    });
    const body = h.of("reply", fx)[0]?.body ?? "";
    expect(body).toContain("@\u2060octocat");
    expect(body).not.toContain("<!--");
  });
});
