/** Run reducer: review loops. */
import { describe, expect, it } from "vitest";
import { Harness, stage } from "./support.js";

describe("review loops", () => {
  const loop = (then: "escalate_to_human" | "continue_others" = "continue_others") =>
    stage("design", {
      profile: "design",
      iterate: { reviewers: ["review", "qa"], threshold: 1, maxIterations: 2 },
      onFailure: { retries: 0, backoffSeconds: 0, then: { kind: then } },
    });

  it("dispatches every reviewer after the producer and succeeds when enough approve", () => {
    const h = new Harness([loop()]);
    h.start();
    const fx = h.finish("design");
    expect(h.of("dispatch", fx)).toMatchObject([
      { reviewer: "review", profile: "review" },
      { reviewer: "qa", profile: "qa" },
    ]);
    h.finish("design", { review: { verdict: "approve", comments: "ok" } }, "review");
    expect(h.status("design")).toBe("queued");
    h.finish("design", { review: { verdict: "approve", comments: "fine" } }, "qa");
    expect(h.status("design")).toBe("succeeded");
    expect(h.state.stages.design?.iteration).toBe(1);
  });

  it("iterates with the reviewers' comments until maxIterations, then applies the failure policy", () => {
    const h = new Harness([loop()]);
    h.start();
    h.finish("design");
    h.finish("design", { review: { verdict: "approve", comments: "ok" } }, "review");
    const fx = h.finish(
      "design",
      { review: { verdict: "request_changes", comments: "missing sequence diagram" } },
      "qa",
    );
    expect(h.of("dispatch", fx)).toMatchObject([{ stage: "design", profile: "design" }]);
    expect(h.of("dispatch", fx)[0]).not.toHaveProperty("reviewer");
    expect(h.state.stages.design?.feedback.at(-1)).toMatch(/qa: missing sequence diagram/);
    h.finish("design");
    h.finish("design", { review: { verdict: "request_changes", comments: "still no" } }, "review");
    h.finish("design", { review: { verdict: "approve", comments: "ok" } }, "qa");
    expect(h.status("design")).toBe("failed");
    expect(h.state.stages.design?.reason).toMatch(/after 2 iterations/);
    expect(h.state.status).toBe("failed");
  });
});
