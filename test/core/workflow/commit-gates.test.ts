/**
 * The outsiders gate: when text by people outside the repository's collaborators reached the agent, its proposal waits
 * for a human's `/approve` before the App commits it; `/reject <reason>` fails the attempt instead.
 */
import { describe, expect, it } from "vitest";
import { renderStatusComment } from "../../../src/core/render.js";
import { boardColumn } from "../../../src/core/workflow/machine.js";
import { Harness, PROPOSAL, result, stage } from "./support.js";

const WHY = "issue #7 was opened by @mallory, who is not a collaborator";
const FILES = [
  ...PROPOSAL.files,
  { path: "src/new.ts", status: "A" as const, mode: "100644", blob: "e".repeat(40) },
  { path: "old.txt", status: "D" as const },
];

/** A dev stage of a run whose issue an outsider opened, its attempt finished with a proposal (Actions run 77). */
function proposed(opts: { outsiderText?: string; retries?: number } = { outsiderText: WHY }) {
  const h = new Harness(
    [
      stage("dev", {
        openPr: true,
        onFailure: { retries: opts.retries ?? 1, backoffSeconds: 0, then: { kind: "escalate_to_human" } },
      }),
    ],
    opts.outsiderText !== undefined ? { outsiderText: opts.outsiderText } : {},
  );
  h.start();
  const attemptId = h.attempt("dev");
  h.send({
    type: "attempt_started",
    at: h.now,
    attemptId,
    runUrl: "https://github.com/acme/app/actions/runs/77",
  });
  const fx = h.send({
    type: "attempt_finished",
    at: h.now,
    attemptId,
    workflowRunId: 77,
    result: result({ attemptId, stage: "dev", proposal: { ...PROPOSAL, files: FILES } }),
  });
  return { h, attemptId, fx };
}

describe("the outsiders gate before the App commits", () => {
  it("holds the proposal: the stage waits for a human, the check run and a reply say why and what it changes", () => {
    const { h, attemptId, fx } = proposed();
    expect(h.of("commit_proposal", fx)).toEqual([]);
    expect(h.status("dev")).toBe("waiting:commit_approval");
    expect(h.state.status).toBe("waiting");
    expect(boardColumn(h.state)).toBe("Needs human");
    expect(h.of("check_run", fx).at(-1)).toMatchObject({
      attemptId,
      status: "completed",
      conclusion: "action_required",
      title: "Waiting for approval before commit",
    });
    const [reply] = h.of("reply", fx);
    // The reason is the run's own text, with the login neutralised (no mention) and Markdown escaped.
    expect(reply?.body).toContain(
      "approval: issue \\#7 was opened by `@mallory`, who is not a collaborator.",
    );
    expect(reply?.body).toContain("- modify `a.txt`\n- add `src/new.ts`\n- delete `old.txt`");
    expect(reply?.body).toContain("https://github.com/acme/app/actions/runs/77");
    expect(reply?.body).toContain(
      "`/approve dev` to let the App commit it, `/reject dev <reason>` to refuse it",
    );
    expect(h.of("audit", fx).map((a) => a.action)).toContain("commit_approval_requested");
    const comment = renderStatusComment(h.state, { marker: "<!-- m -->" });
    expect(comment).toContain("waiting for approval to commit");
    expect(comment).toContain("Why: issue \\#7 was opened by `@mallory`, who is not a collaborator.");
    expect(comment).toContain("`/approve dev` to let the App commit the agent's proposed change");
  });

  it("/approve lets the App commit it, from the Actions run that holds it; the run then goes on as usual", () => {
    const { h, attemptId } = proposed();
    const fx = h.send({ type: "approve", at: h.now, actor: "alice" });
    expect(h.of("commit_proposal", fx)).toEqual([
      {
        type: "commit_proposal",
        key: `commit:dev:${attemptId}`,
        stage: "dev",
        attemptId,
        workflowRunId: 77,
        branch: "trellis/7-add-login",
      },
    ]);
    expect(h.state.stages.dev!.attempts[0]!.commitApprovedBy).toBe("alice");
    expect(h.of("audit", fx)).toMatchObject([{ actor: "alice", action: "commit_approved" }]);
    expect(h.status("dev")).toBe("running");
    const done = h.send({
      type: "proposal_committed",
      at: h.now,
      attemptId,
      branch: "trellis/7-add-login",
      headSha: "c".repeat(40),
    });
    expect(h.of("open_pr", done)).toMatchObject([{ branch: "trellis/7-add-login" }]);
    expect(h.status("dev")).toBe("waiting:merge");
    // A second /approve has nothing left to approve.
    expect(h.of("commit_proposal", h.send({ type: "approve", at: h.now, actor: "bob" }))).toEqual([]);
  });

  it("/reject <reason> fails the attempt with the reason as feedback, and nothing is committed", () => {
    const { h, attemptId } = proposed();
    const fx = h.send({ type: "reject", at: h.now, actor: "alice", reason: "it touches billing" });
    expect(h.of("commit_proposal", fx)).toEqual([]);
    expect(h.of("check_run", fx)[0]).toMatchObject({
      attemptId,
      conclusion: "failure",
      title: "Rejected by alice",
    });
    expect(h.state.stages.dev!.feedback.at(-1)).toBe(
      "Attempt 1 failed: alice refused to let the App commit the proposed change: it touches billing",
    );
    expect(h.of("audit", fx)[0]).toMatchObject({ actor: "alice", action: "commit_rejected" });
    // The stage's failure policy applies: one retry, dispatched at once (no backoff), gated again when it proposes.
    expect(h.of("dispatch", fx)).toMatchObject([{ stage: "dev", attempt: 2 }]);
  });

  it("without a retry left, a rejection escalates to a human like any failure", () => {
    const { h } = proposed({ outsiderText: WHY, retries: 0 });
    h.send({ type: "reject", at: h.now, actor: "alice", reason: "no" });
    expect(h.status("dev")).toBe("waiting:human");
  });

  it("a run with nothing to approve (a collaborator's issue, or the gate turned off) commits at once", () => {
    const { h, attemptId, fx } = proposed({});
    expect(h.of("commit_proposal", fx)).toMatchObject([{ attemptId, workflowRunId: 77 }]);
    expect(h.of("reply", fx)).toEqual([]);
    expect(h.status("dev")).toBe("running");
  });

  it("a proposal-less success is not gated: there is nothing to commit", () => {
    const h = new Harness([stage("dev")], { outsiderText: WHY });
    h.start();
    h.finish("dev");
    expect(h.status("dev")).toBe("succeeded");
  });

  it("/abort still ends a run whose proposal waits", () => {
    const { h } = proposed();
    h.send({ type: "abort", at: h.now, actor: "alice", reason: "no" });
    expect(h.state.status).toBe("aborted");
  });
});
