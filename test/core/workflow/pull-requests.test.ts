/** Run reducer: pull requests opened, merged and closed. */
import { describe, expect, it } from "vitest";
import { boardColumn } from "../../../src/core/workflow/index.js";
import { Harness, stage } from "./support.js";

describe("pull requests", () => {
  it("opens a PR for a successful branch; the stage is done when it merges", () => {
    const h = new Harness([stage("dev", { openPr: true })]);
    h.start();
    const fx = h.commit("dev", "trellis/7-add-login");
    expect(h.of("open_pr", fx)).toMatchObject([
      { stage: "dev", branch: "trellis/7-add-login", title: "Add login (#7, dev)" },
    ]);
    expect(h.status("dev")).toBe("waiting:merge");
    expect(boardColumn(h.state)).toBe("In review");
    h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
    expect(h.state.stages.dev?.prNumber).toBe(12);
    h.send({ type: "pr_merged", at: h.now, prNumber: 12, actor: "bob" });
    expect(h.state.status).toBe("succeeded");
  });

  it("a PR closed unmerged fails the stage by its strategy", () => {
    const h = new Harness([
      stage("dev", {
        openPr: true,
        onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "continue_others" } },
      }),
    ]);
    h.start();
    h.commit("dev", "b");
    h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
    const fx = h.send({ type: "pr_closed", at: h.now, prNumber: 12, actor: "bob" });
    expect(h.of("dispatch", fx)).toMatchObject([{ attempt: 2 }]);
    expect(h.state.stages.dev?.feedback.at(-1)).toMatch(/#12 was closed without merging/);
  });

  describe("an issue closed by the merge of the run's PR (GitHub sends the two deliveries in either order)", () => {
    const waitingForMerge = (stages = [stage("dev", { openPr: true })]) => {
      const h = new Harness(stages);
      h.start();
      h.commit("dev", "b");
      h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
      return h;
    };
    const closedByMerge = { type: "closed_by_merge", prNumber: 12, actor: "bob" } as const;
    const prMerged = { type: "pr_merged", prNumber: 12, actor: "bob" } as const;

    it("the issue's close first: the run ends as merged, and the PR's close after it changes nothing", () => {
      const h = waitingForMerge();
      h.send({ ...closedByMerge, at: h.now });
      expect(h.state.status).toBe("succeeded");
      expect(h.status("dev")).toBe("succeeded");
      expect(h.of("audit").map((a) => a.action)).toEqual(
        expect.arrayContaining(["issue_closed_by_merge", "pr_merged", "stage_succeeded", "run_succeeded"]),
      );
      const before = h.state;
      expect(h.send({ ...prMerged, at: h.now })).toEqual([]);
      expect(h.state).toBe(before);
    });

    it("the PR's close first: the run is done, and the issue's close after it changes nothing", () => {
      const h = waitingForMerge();
      h.send({ ...prMerged, at: h.now });
      expect(h.state.status).toBe("succeeded");
      const before = h.state;
      h.send({ ...closedByMerge, at: h.now });
      expect(h.state.status).toBe("succeeded");
      expect(h.state.stages).toEqual(before.stages);
    });

    it("stages after the merged one are skipped (their work cancelled) in either order, never aborted", () => {
      const stages = [stage("dev", { openPr: true }), stage("qa", { profile: "qa", needs: ["dev"] })];
      const issueFirst = waitingForMerge(stages);
      issueFirst.send({ ...closedByMerge, at: issueFirst.now });
      issueFirst.send({ ...prMerged, at: issueFirst.now });

      const prFirst = waitingForMerge(stages);
      prFirst.send({ ...prMerged, at: prFirst.now });
      expect(prFirst.status("qa")).toBe("queued"); // the merge let qa start before the issue's close arrived
      const fx = prFirst.send({ ...closedByMerge, at: prFirst.now });
      expect(prFirst.of("check_run", fx)).toMatchObject([{ status: "completed", conclusion: "cancelled" }]);

      for (const h of [issueFirst, prFirst]) {
        expect(h.state.status).toBe("succeeded");
        expect(h.status("dev")).toBe("succeeded");
        expect(h.status("qa")).toBe("skipped");
        expect(h.state.stages.qa?.reason).toBe("issue #7 was closed by the merge of pull request #12");
      }
    });

    it("a PR merged while its stage was still at work: that stage succeeds with the merge", () => {
      const h = new Harness([stage("dev", { openPr: true })]);
      h.start();
      h.commit("dev", "b");
      h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
      h.send({ type: "retry", at: h.now, actor: "alice", stage: "dev" });
      h.send({ type: "pr_opened", at: h.now, stage: "dev", prNumber: 12 });
      expect(h.status("dev")).toBe("queued");
      h.send({ ...closedByMerge, at: h.now });
      expect(h.status("dev")).toBe("succeeded");
      expect(h.state.status).toBe("succeeded");
    });
  });

  it("without a branch there is nothing to open and the stage succeeds", () => {
    const h = new Harness([stage("dev", { openPr: true })]);
    h.start();
    expect(h.of("open_pr", h.finish("dev"))).toEqual([]);
    expect(h.state.status).toBe("succeeded");
  });
});
