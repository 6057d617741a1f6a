/** The App commits the agent's proposal: the run waits for the App's own commit, and a refusal fails the attempt. */
import { describe, expect, it } from "vitest";
import { Harness, PROPOSAL, result, stage } from "./support.js";

describe("the App commits the agent's proposal", () => {
  const finishWithProposal = (h: Harness) =>
    h.send({
      type: "attempt_finished",
      at: h.now,
      attemptId: h.attempt("dev"),
      workflowRunId: 77,
      // The job's own claims of a branch and head are ignored: the App names the branch and reports its own commit.
      result: result({
        attemptId: h.attempt("dev"),
        proposal: PROPOSAL,
        branch: "evil",
        headSha: "e".repeat(40),
      }),
    });

  it("asks the shell to verify and commit it on the run's branch, and goes on only with the App's commit", () => {
    const h = new Harness([stage("dev", { openPr: true })]);
    h.start();
    const fx = finishWithProposal(h);
    expect(h.of("commit_proposal", fx)).toEqual([
      {
        type: "commit_proposal",
        key: `commit:dev:${h.attempt("dev")}`,
        stage: "dev",
        attemptId: h.attempt("dev"),
        workflowRunId: 77,
        branch: "trellis/7-add-login",
      },
    ]);
    expect(h.of("open_pr", fx)).toEqual([]);
    expect(h.status("dev")).toBe("queued");
    const done = h.send({
      type: "proposal_committed",
      at: h.now,
      attemptId: h.attempt("dev"),
      branch: "trellis/7-add-login",
      headSha: "c".repeat(40),
    });
    expect(h.of("open_pr", done)).toMatchObject([{ branch: "trellis/7-add-login" }]);
    expect(h.state.stages.dev?.attempts[0]?.commit).toEqual({
      branch: "trellis/7-add-login",
      headSha: "c".repeat(40),
    });
    // A second report of the same outcome changes nothing.
    const again = h.send({
      type: "proposal_committed",
      at: h.now,
      attemptId: h.attempt("dev"),
      branch: "x",
      headSha: "f".repeat(40),
    });
    expect(again).toEqual([]);
  });

  it("a refused proposal fails the attempt with a check run naming the rule and the path", () => {
    const h = new Harness([
      stage("dev", {
        openPr: true,
        onFailure: { retries: 1, backoffSeconds: 0, then: { kind: "abort_all" } },
      }),
    ]);
    h.start();
    finishWithProposal(h);
    const first = h.attempt("dev");
    const fx = h.send({
      type: "proposal_refused",
      at: h.now,
      attemptId: first,
      rule: "workflow_file",
      path: ".github/workflows/ci.yml",
      message: "agents may not change GitHub Actions workflows",
    });
    const [check] = h.of("check_run", fx);
    expect(check).toMatchObject({
      conclusion: "failure",
      title: "Refused: workflow_file (.github/workflows/ci.yml)",
    });
    expect(check?.summary).toContain("rule workflow\\_file on .github/workflows/ci.yml");
    expect(h.state.stages.dev?.feedback.at(-1)).toContain("workflow_file");
    expect(h.of("open_pr", fx)).toEqual([]);
    expect(h.of("dispatch", fx)).toMatchObject([{ attempt: 2 }]);
    expect(h.state.stages.dev?.attempts[0]?.refusal).toMatchObject({ rule: "workflow_file" });
  });
});
