import { describe, expect, it } from "vitest";
import { readBuiltins } from "../../src/builtins.js";
import { loadDefinitions, type Definitions } from "../../src/core/definitions.js";
import { runName } from "../../src/core/dispatch.js";
import type { RunState } from "../../src/core/model.js";
import {
  checkRunKey,
  closingPullRequests,
  decide,
  isAllowed,
  needsRole,
  type TriggerFacts,
} from "../../src/core/triggers.js";
import { createRun, reduceRun } from "../../src/core/workflow/machine.js";
import * as checkRun from "../../src/handlers/check-run.js";
import type { DomainEvent } from "../../src/core/events.js";
import type { WorkflowRunEvent } from "../../src/handlers/events.js";
import * as issueComment from "../../src/handlers/issue-comment.js";
import * as issues from "../../src/handlers/issues.js";
import * as pullRequest from "../../src/handlers/pull-request.js";
import * as workflowRun from "../../src/handlers/workflow-run.js";
import { agentResult } from "../support/app-harness.js";
import { PROPOSAL } from "./workflow/support.js";
import { examplePayload, examplePayloadAs } from "../support/webhooks.js";

const defs: Definitions = loadDefinitions({ builtins: await readBuiltins(), repo: new Map() }).value!;
const AT = Date.parse("2026-11-21T10:00:00Z");

const labeled = (label: string, sender: Record<string, unknown> = {}): DomainEvent =>
  issues.toDomainEvent(examplePayload("issues", "labeled", { label: { name: label }, sender }), "d1")!;
const comment = (body: string, sender: Record<string, unknown> = {}): DomainEvent =>
  issueComment.toDomainEvent(
    examplePayload("issue_comment", "created", { comment: { body }, sender }),
    "d2",
  )!;

function facts(event: DomainEvent, patch: Partial<TriggerFacts> = {}): TriggerFacts {
  return { event, defs, role: "admin", runs: [], at: AT, ...patch };
}

/** The run's repository as a webhook payload names it: reports about the run come from there. */
const RUN_REPOSITORY = { name: "Hello-World", owner: { login: "Codertocat" } };

function startedRun(): RunState {
  const run = createRun({
    id: "run_1",
    repo: { owner: "Codertocat", name: "Hello-World" },
    issue: 1,
    issueTitle: "Spelling error",
    workflow: defs.templates.get("single-agent")!,
    costCapUsd: 10,
    at: AT,
  });
  let n = 0;
  return reduceRun(
    run,
    { type: "start", at: AT, actor: "Codertocat" },
    { newAttemptId: () => `att_${String(++n).padStart(10, "0")}` },
  ).state;
}

describe("roles", () => {
  it("allows only the configured roles, and nobody without a role", () => {
    expect(["admin", "maintain", "write"].every((r) => isAllowed(r as "write", defs.config.roles))).toBe(
      true,
    );
    expect(isAllowed("triage", defs.config.roles)).toBe(false);
    expect(isAllowed("read", defs.config.roles)).toBe(false);
    expect(isAllowed(undefined, defs.config.roles)).toBe(false);
    expect(isAllowed("triage", ["triage"])).toBe(true);
  });

  it("looks a role up only for human actions that could steer", () => {
    expect(needsRole(labeled("agent:dev"), defs)).toBe(true);
    expect(needsRole(labeled("bug"), defs)).toBe(false);
    expect(needsRole(comment("thanks!"), defs)).toBe(false);
    expect(needsRole(comment("/status"), defs)).toBe(true);
    expect(needsRole(comment("/status", { type: "Bot", login: "ci[bot]" }), defs)).toBe(false);
  });
});

describe("labels", () => {
  it("agent:<profile> starts a one-stage run of that profile", () => {
    const [d] = decide(facts(labeled("agent:qa")));
    expect(d).toMatchObject({
      kind: "start_run",
      issue: 1,
      workflow: { stages: [{ id: "qa", profile: "qa" }] },
    });
  });

  it("workflow:<template> starts that template", () => {
    const [d] = decide(facts(labeled("workflow:feature")));
    expect(d).toMatchObject({ kind: "start_run", workflow: { name: "feature" } });
  });

  it("an unknown profile gets a reply naming the known ones, and starts nothing", () => {
    const out = decide(facts(labeled("agent:wizard")));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: "reply" });
    expect((out[0] as { body: string }).body).toMatch(/no agent profile .*wizard.*known: .*dev/);
  });

  it("a user without the role is refused politely, and audited", () => {
    const out = decide(facts(labeled("agent:dev"), { role: "read" }));
    expect(out.map((d) => d.kind)).toEqual(["reply", "audit"]);
    expect((out[0] as { body: string }).body).toMatch(/only people with the admin, maintain, write role/);
  });

  it("bots never trigger", () => {
    expect(decide(facts(labeled("agent:dev", { type: "Bot", login: "renovate[bot]" })))).toEqual([]);
  });

  it("a second trigger while a run is active only replies", () => {
    const out = decide(facts(labeled("agent:dev"), { runs: [startedRun()] }));
    expect(out).toMatchObject([{ kind: "reply" }]);
  });

  it("removing the trigger label holds the active run; the batch label starts a batch", () => {
    const removed = issues.toDomainEvent(
      examplePayload("issues", "unlabeled", { label: { name: "agent:dev" } }),
      "d3",
    )!;
    expect(decide(facts(removed, { runs: [startedRun()] }))).toMatchObject([
      { kind: "run_event", runId: "run_1", event: { type: "hold" } },
    ]);
    expect(decide(facts(labeled("trellis:batch")))).toMatchObject([
      { kind: "batch", action: { kind: "create" } },
    ]);
  });
});

describe("slash commands", () => {
  it("acknowledges with 👀, acts, and finishes with 🚀", () => {
    const out = decide(facts(comment("/approve\n/status"), { runs: [startedRun()] }));
    expect(out[0]).toMatchObject({ kind: "react", content: "eyes" });
    expect(out).toContainEqual(
      expect.objectContaining({ kind: "run_event", event: expect.objectContaining({ type: "approve" }) }),
    );
    expect(out).toContainEqual({ kind: "status", runId: "run_1" });
    expect(out.at(-1)).toMatchObject({ kind: "react", content: "rocket" });
  });

  it("unknown commands and commands with no run get one reply with help, and 😕", () => {
    const out = decide(facts(comment("/aprove\n/retry")));
    const reply = out.find((d) => d.kind === "reply") as { body: string };
    expect(reply.body).toMatch(/line 1/);
    expect(reply.body).toMatch(/no Trellis run on this issue/);
    expect(reply.body).toMatch(/\/help/);
    expect(out.at(-1)).toMatchObject({ kind: "react", content: "confused" });
  });

  it("/help replies with the generated help", () => {
    const out = decide(facts(comment("/help")));
    expect(out).toContainEqual(
      expect.objectContaining({ kind: "reply", body: expect.stringContaining("/approve") }),
    );
  });

  it("refuses users without the role with 😕 and a polite reply, before acting", () => {
    const out = decide(facts(comment("/abort"), { role: "triage", runs: [startedRun()] }));
    expect(out.map((d) => d.kind)).toEqual(["react", "reply", "audit"]);
    expect(out.some((d) => d.kind === "run_event")).toBe(false);
  });

  it("refuses again only with 😕 once a refusal was posted on the issue lately", () => {
    const out = decide(
      facts(comment("/abort"), { role: "triage", runs: [startedRun()], refusedLately: true }),
    );
    expect(out.map((d) => d.kind)).toEqual(["react", "audit"]);
    expect(out[1]).toMatchObject({ action: "refused", detail: { issue: 1 } });
  });

  it("ignores quoted and fenced commands, and comments from the App itself", () => {
    expect(decide(facts(comment("> /abort\n```\n/abort\n```"), { runs: [startedRun()] }))).toEqual([]);
    expect(
      decide(facts(comment("/abort", { type: "Bot", login: "trellis[bot]" }), { runs: [startedRun()] })),
    ).toEqual([]);
  });
});

describe("GitHub's reports", () => {
  const run = startedRun();
  const attemptId = run.stages.dev!.attempts[0]!.id;
  const wr = (fork: boolean) =>
    workflowRun.toDomainEvent(
      examplePayload("workflow_run", "completed", {
        workflow_run: {
          display_title: runName({ stage: "dev", issue: 1, attemptId }),
          head_repository: { full_name: fork ? "evil/Hello-World" : "Codertocat/Hello-World" },
        },
        repository: { full_name: "Codertocat/Hello-World" },
      }),
      "d4",
    )!;

  it("a completed run with a result finishes the attempt; without one, the attempt is lost with the reason", () => {
    const ok = decide(
      facts(wr(false), { runs: [run], result: { ok: true, result: agentResult(attemptId) } }),
    );
    expect(ok).toMatchObject([{ kind: "run_event", event: { type: "attempt_finished", attemptId } }]);
    const lost = decide(facts(wr(false), { runs: [run], result: { ok: false, error: "no artifact" } }));
    expect(lost).toMatchObject([
      { kind: "run_event", event: { type: "attempt_lost", reason: expect.stringMatching(/no artifact/) } },
    ]);
  });

  it("a requested run names the attempt's Actions run; in_progress starts its clock", () => {
    const report = (action: "requested" | "in_progress") =>
      workflowRun.toDomainEvent(
        action === "requested"
          ? examplePayload("workflow_run", "requested", {
              workflow_run: {
                id: 77,
                display_title: runName({ stage: "dev", issue: 1, attemptId }),
                event: "workflow_dispatch",
                path: ".github/workflows/trellis-agent.yml",
              },
              repository: RUN_REPOSITORY,
            })
          : examplePayloadAs("workflow_run", "in_progress", "requested", {
              workflow_run: {
                id: 77,
                status: "in_progress",
                display_title: runName({ stage: "dev", issue: 1, attemptId }),
                event: "workflow_dispatch",
                path: ".github/workflows/trellis-agent.yml",
              },
              repository: RUN_REPOSITORY,
            }),
        "d7",
      )!;
    expect(decide(facts(report("requested"), { runs: [run] }))).toMatchObject([
      { kind: "run_event", event: { type: "attempt_queued", attemptId, workflowRunId: 77 } },
    ]);
    expect(decide(facts(report("in_progress"), { runs: [run] }))).toMatchObject([
      { kind: "run_event", event: { type: "attempt_started", attemptId, workflowRunId: 77 } },
    ]);
  });

  it("acts only on dispatched runs of the agent workflow, never on the repository's other workflows (its CI)", () => {
    // A CI run on the App's pull request: its display title is the PR's title, which can carry a run-name marker.
    const other = (workflow_run: Record<string, unknown>) =>
      workflowRun.toDomainEvent(
        examplePayload("workflow_run", "completed", {
          workflow_run: {
            display_title: runName({ stage: "dev", issue: 1, attemptId }),
            head_repository: { full_name: "Codertocat/Hello-World" },
            ...workflow_run,
          },
          repository: { full_name: "Codertocat/Hello-World" },
        }),
        "d5",
      )!;
    const lost = { runs: [run], result: { ok: false as const, error: "no artifact" } };
    expect(decide(facts(other({ event: "pull_request", path: ".github/workflows/ci.yml" }), lost))).toEqual(
      [],
    );
    expect(
      decide(facts(other({ event: "push", path: ".github/workflows/trellis-agent.yml" }), lost)),
    ).toEqual([]);
    expect(
      decide(facts(other({ event: "workflow_dispatch", path: ".github/workflows/deploy.yml" }), lost)),
    ).toEqual([]);
    // The configured agent workflow's dispatched run is the attempt.
    expect(
      decide(facts(other({ event: "workflow_dispatch", path: ".github/workflows/trellis-agent.yml" }), lost)),
    ).toMatchObject([{ kind: "run_event", event: { type: "attempt_lost", attemptId } }]);
  });

  it("a forged report changes nothing: another repository's run, another Actions run than the attempt's", () => {
    const finished = { runs: [run], result: { ok: true as const, result: agentResult(attemptId) } };
    const genuine = wr(false) as WorkflowRunEvent;
    expect(decide(facts(genuine, finished))).toMatchObject([{ event: { type: "attempt_finished" } }]);
    // The same attempt id in a run of another repository of the installation.
    const elsewhere = { ...genuine, repo: { ...genuine.repo, name: "other-repo" } };
    expect(decide(facts(elsewhere, finished))).toEqual([]);
    // The repository's name in another case is the same repository (GitHub compares names case-insensitively).
    const upper = { ...genuine, repo: { ...genuine.repo, owner: genuine.repo.owner.toUpperCase() } };
    expect(decide(facts(upper, finished))).toMatchObject([{ event: { type: "attempt_finished" } }]);
    // Once dispatch told the App which Actions run is the attempt's, no other run speaks for it.
    const known = structuredClone(run);
    known.stages.dev!.attempts[0]!.workflowRunId = genuine.run.id + 1;
    expect(decide(facts(genuine, { ...finished, runs: [known] }))).toEqual([]);
    known.stages.dev!.attempts[0]!.workflowRunId = genuine.run.id;
    expect(decide(facts(genuine, { ...finished, runs: [known] }))).toMatchObject([
      { event: { type: "attempt_finished" } },
    ]);
  });

  it("never acts on a run whose code comes from a fork", () => {
    expect(
      decide(facts(wr(true), { runs: [run], result: { ok: true, result: agentResult(attemptId) } })),
    ).toEqual([]);
  });

  it("the check run's Re-run retries its stage", () => {
    const event = checkRun.toDomainEvent(
      examplePayload("check_run", "rerequested", {
        check_run: { external_id: checkRunKey("run_1", "dev"), app: { id: 123 } },
        repository: RUN_REPOSITORY,
      }),
      "d5",
      { id: 123 },
    )!;
    expect(decide(facts(event, { runs: [run] }))).toMatchObject([
      { kind: "run_event", runId: "run_1", event: { type: "retry", stage: "dev" } },
    ]);
  });

  it("a merged PR of the run completes it; a PR from a fork is ignored", () => {
    const withPr: RunState = { ...run, stages: { dev: { ...run.stages.dev!, prNumber: 2 } } };
    const merged = pullRequest.toDomainEvent(
      examplePayload("pull_request", "closed", { pull_request: { number: 2, merged: true } }),
      "d6",
    )!;
    expect(decide(facts(merged, { runs: [withPr] }))).toMatchObject([
      { kind: "run_event", event: { type: "pr_merged", prNumber: 2 } },
    ]);
  });
});

describe("PR events count only for the PR the App opened for the run: number and node id", () => {
  const ctx = { newAttemptId: () => "att_0000000099" };
  /** The run's PR #2 as GitHub answered the App that opened it (its node id). */
  const OURS = "PR_kwDOours";
  /** `null`: opened before node ids were kept. */
  function waitingForMerge(nodeId: string | null = OURS): RunState {
    let run = startedRun();
    const attemptId = run.stages.dev!.attempts[0]!.id;
    for (const event of [
      {
        type: "attempt_finished",
        at: AT,
        attemptId,
        result: agentResult(attemptId, { proposal: PROPOSAL }),
        workflowRunId: 9,
      },
      { type: "proposal_committed", at: AT, attemptId, branch: "trellis/1-x", headSha: "c".repeat(40) },
      { type: "pr_opened", at: AT, stage: "dev", prNumber: 2, ...(nodeId ? { nodeId } : {}) },
    ] as const)
      run = reduceRun(run, event, ctx).state;
    expect(run.stages.dev).toMatchObject({ waitingFor: "merge", prNumber: 2 });
    return run;
  }
  const prEvent = (nodeId: string, merged = true) =>
    pullRequest.toDomainEvent(
      examplePayload("pull_request", "closed", { pull_request: { number: 2, merged, node_id: nodeId } }),
      "d10",
    )!;
  const deliver = (run: RunState, event: DomainEvent): RunState => {
    for (const d of decide(facts(event, { runs: [run] })))
      if (d.kind === "run_event") run = reduceRun(run, d.event, ctx).state;
    return run;
  };

  it("the stage keeps the PR's node id", () => {
    expect(waitingForMerge().stages.dev!.prNodeId).toBe(OURS);
  });

  it("a PR with the run's number but another node id changes nothing, merged or closed", () => {
    const run = waitingForMerge();
    for (const merged of [true, false]) {
      expect(decide(facts(prEvent("PR_kwDOelsewhere", merged), { runs: [run] }))).toEqual([]);
      expect(deliver(run, prEvent("PR_kwDOelsewhere", merged))).toEqual(run);
    }
    // Nor does such an event reach the reducer some other way.
    const forged = reduceRun(
      run,
      { type: "pr_merged", at: AT, prNumber: 2, nodeId: "PR_kwDOelsewhere", actor: "mallory" },
      ctx,
    );
    expect(forged.state.stages.dev).toMatchObject({ status: "waiting", waitingFor: "merge" });
  });

  it("the right one still merges, and closing it unmerged still fails the stage", () => {
    expect(decide(facts(prEvent(OURS), { runs: [waitingForMerge()] }))).toMatchObject([
      { kind: "run_event", event: { type: "pr_merged", prNumber: 2, nodeId: OURS } },
    ]);
    const merged = deliver(waitingForMerge(), prEvent(OURS));
    expect(merged.status).toBe("succeeded");
    const closed = deliver(waitingForMerge(), prEvent(OURS, false));
    expect(closed.stages.dev!.status).not.toBe("succeeded");
    expect(closed.stages.dev!.prNodeId).toBeUndefined();
  });

  it("a run opened before node ids were kept matches by number, as before", () => {
    expect(deliver(waitingForMerge(null), prEvent("PR_kwDOanything")).status).toBe("succeeded");
  });

  it("an issue closed by a merge counts only when GitHub's PR has the stage's node id", () => {
    const closed = issues.toDomainEvent(
      examplePayloadAs("issues", "closed", "reopened", {
        issue: { number: 1, state: "closed", state_reason: "completed" },
      }),
      "d11",
    )!;
    const run = waitingForMerge();
    expect(
      decide(facts(closed, { runs: [run], pullRequests: [{ number: 2, nodeId: OURS, merged: true }] })),
    ).toMatchObject([{ kind: "run_event", event: { type: "closed_by_merge", prNumber: 2, nodeId: OURS } }]);
    const other = decide(
      facts(closed, { runs: [run], pullRequests: [{ number: 2, nodeId: "PR_kwDOelsewhere", merged: true }] }),
    );
    expect(other.some((d) => d.kind === "run_event" && d.event.type === "closed_by_merge")).toBe(false);
  });
});

describe("an issue closed by the merge of the run's PR (`Closes #1`)", () => {
  // GitHub delivers the merge's pull_request.closed and issues.closed in no fixed order.
  const ctx = { newAttemptId: () => "att_0000000099" };
  function waitingForMerge(): RunState {
    let run = startedRun();
    const attemptId = run.stages.dev!.attempts[0]!.id;
    const result = agentResult(attemptId, { proposal: PROPOSAL });
    for (const event of [
      { type: "attempt_finished", at: AT, attemptId, result, workflowRunId: 9 },
      {
        type: "proposal_committed",
        at: AT,
        attemptId,
        branch: "trellis/1-spelling-error",
        headSha: "c".repeat(40),
      },
      { type: "pr_opened", at: AT, stage: "dev", prNumber: 2 },
    ] as const)
      run = reduceRun(run, event, ctx).state;
    expect(run.stages.dev).toMatchObject({ status: "waiting", waitingFor: "merge", prNumber: 2 });
    return run;
  }
  const issueClosed = (stateReason: "completed" | "not_planned" = "completed") =>
    issues.toDomainEvent(
      examplePayloadAs("issues", "closed", "reopened", {
        issue: { number: 1, state: "closed", state_reason: stateReason },
      }),
      "d7",
    )!;
  const prClosed = pullRequest.toDomainEvent(
    examplePayload("pull_request", "closed", { pull_request: { number: 2, merged: true } }),
    "d8",
  )!;
  /** The shell's part: load the PRs the core asks for (as GitHub reports them: merged), decide, reduce. */
  function deliver(run: RunState, event: DomainEvent, merged = true): RunState {
    const pullRequests = closingPullRequests(event, [run]).map((number) => ({ number, merged }));
    for (const d of decide(facts(event, { runs: [run], pullRequests })))
      if (d.kind === "run_event") run = reduceRun(run, d.event, ctx).state;
    return run;
  }

  it("asks for the active run's PR only for a close that a merge could have made", () => {
    const run = waitingForMerge();
    expect(closingPullRequests(issueClosed(), [run])).toEqual([2]);
    expect(closingPullRequests(issueClosed("not_planned"), [run])).toEqual([]);
    expect(closingPullRequests(issueClosed(), [startedRun()])).toEqual([]);
    expect(closingPullRequests(issueClosed(), [{ ...run, status: "succeeded" }])).toEqual([]);
    expect(closingPullRequests(prClosed, [run])).toEqual([]);
  });

  it("ends the run as merged in either order, never aborted", () => {
    const issueFirst = deliver(deliver(waitingForMerge(), issueClosed()), prClosed);
    const prFirst = deliver(deliver(waitingForMerge(), prClosed), issueClosed());
    for (const run of [issueFirst, prFirst]) {
      expect(run.status).toBe("succeeded");
      expect(run.stages.dev?.status).toBe("succeeded");
    }
    expect(
      decide(
        facts(issueClosed(), { runs: [waitingForMerge()], pullRequests: [{ number: 2, merged: true }] }),
      ),
    ).toMatchObject([{ kind: "run_event", event: { type: "closed_by_merge", prNumber: 2 } }]);
  });

  it("aborts as before when the PR is not merged, unknown, not the run's, or the close is not planned", () => {
    const run = waitingForMerge();
    const abort = [{ kind: "run_event", event: { type: "abort", reason: "issue closed" } }];
    expect(
      decide(facts(issueClosed(), { runs: [run], pullRequests: [{ number: 2, merged: false }] })),
    ).toMatchObject(abort);
    expect(decide(facts(issueClosed(), { runs: [run] }))).toMatchObject(abort);
    expect(
      decide(facts(issueClosed(), { runs: [run], pullRequests: [{ number: 3, merged: true }] })),
    ).toMatchObject(abort);
    expect(
      decide(facts(issueClosed("not_planned"), { runs: [run], pullRequests: [{ number: 2, merged: true }] })),
    ).toMatchObject(abort);
    expect(deliver(run, issueClosed(), false).status).toBe("aborted");
  });
  it("a close by someone without the role, or by another bot, stops nothing; a merge still ends the run", () => {
    const run = waitingForMerge();
    const stake = { runs: [run], isBatch: false };
    expect(needsRole(issueClosed(), defs, stake)).toBe(true);
    expect(needsRole(issueClosed(), defs, { runs: [], isBatch: false })).toBe(false);
    expect(needsRole(issueClosed(), defs, { runs: [], isBatch: true })).toBe(true);
    for (const f of [
      facts(issueClosed(), { runs: [run], role: undefined }),
      facts(issueClosed(), { runs: [run], role: "triage", isBatch: true }),
    ]) {
      const out = decide(f);
      expect(out.filter((d) => d.kind === "run_event" || d.kind === "batch")).toEqual([]);
      expect(out).toMatchObject([
        { kind: "reply", body: expect.stringMatching(/does not stop Trellis/) },
        {},
      ]);
    }
    const bot = issues.toDomainEvent(
      examplePayloadAs("issues", "closed", "reopened", {
        issue: { number: 1, state: "closed" },
        sender: { login: "stale[bot]", type: "Bot" },
      }),
      "d9",
    )!;
    expect(needsRole(bot, defs, stake)).toBe(false);
    expect(decide(facts(bot, { runs: [run], role: undefined })).some((d) => d.kind === "run_event")).toBe(
      false,
    );
    expect(
      decide(
        facts(issueClosed(), { runs: [run], role: undefined, pullRequests: [{ number: 2, merged: true }] }),
      ),
    ).toMatchObject([{ kind: "run_event", event: { type: "closed_by_merge", prNumber: 2 } }]);
  });
});
