/**
 * Batch refinement through the real App: a tracking issue labeled `trellis:batch` with refinement on (the default)
 * → the refine profile is dispatched for each raw ticket (never for an issue reference) → the Action's result carries
 * refined.md → the ticket issue is created with the refined title, body and labels (reserved labels dropped) → made
 * a sub-issue, "blocked by" recorded → the ticket runs start. A refinement that asks a question instead falls back to
 * the ticket as written, saying so. GitHub is nock (network disabled).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { BatchState } from "../../src/core/batch/machine.js";
import { DispatchSpecSchema, runName } from "../../src/core/dispatch.js";
import { listAudit } from "../../src/store/audit.js";
import { findBatchByTrackingIssue } from "../../src/store/batches.js";
import { monthlyCost, yearMonthOf } from "../../src/store/costs.js";
import type { Db } from "../../src/store/db.js";
import { agentResult, installation, resultZip, startHarness, type Harness } from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload, examplePayloadAs } from "../support/webhooks.js";
import { agentRunPayload, fakeGitHub, OWNER, type FakeGitHub } from "./batch-github.js";

const CONFIG = "batch:\n  parallel_limit: 2\n";
const TASKS = [
  "Prices for the shop.",
  "",
  "- [ ] [money] Format prices as money",
  "- [ ] [tax] Compute sales tax (depends on [money]) est: 2",
  "- [ ] #7",
].join("\n");

const REFINED = [
  "# Format prices as money in US dollars",
  "",
  "## Context",
  "",
  "Prices are plain numbers in `src/index.js`.",
  "",
  "## Acceptance criteria",
  "",
  "- [ ] `formatMoney(1.5)` returns `$1.50`",
  "- [ ] negative amounts are shown as `-$1.50`",
  "",
  "est: 3",
  "labels: type:feature, agent:dev, area:pricing",
  "",
].join("\n");

/** A `workflow_run` delivery for a refine attempt's Actions run (in_progress is built from GitHub's requested example). */
const refineRun = (
  action: "requested" | "in_progress" | "completed",
  inputs: Record<string, string>,
  runId: number,
) =>
  examplePayloadAs("workflow_run", action, action === "in_progress" ? "requested" : action, {
    installation,
    workflow_run: {
      event: "workflow_dispatch",
      path: ".github/workflows/trellis-agent.yml",
      id: runId,
      display_title: runName({
        stage: inputs.stage!,
        issue: Number(inputs.issue),
        attemptId: inputs.attempt_id!,
      }),
      status: action === "requested" ? "queued" : action,
      conclusion: action === "completed" ? "success" : null,
      html_url: `https://github.com/${OWNER}/Hello-World/actions/runs/${runId}`,
      head_repository: { full_name: `${OWNER}/Hello-World` },
      repository: { full_name: `${OWNER}/Hello-World` },
    },
    repository: { full_name: `${OWNER}/Hello-World`, name: "Hello-World", owner: { login: OWNER } },
  });

/** The Action finishes a refine attempt: `requested`, then `completed` with its result artifact. */
async function finishRefine(
  h: Harness,
  gh: FakeGitHub,
  inputs: Record<string, string>,
  runId: number,
  patch: Parameters<typeof agentResult>[1],
): Promise<void> {
  const attemptId = inputs.attempt_id!;
  gh.artifacts.set(runId, {
    attemptId,
    zip: resultZip(
      agentResult(attemptId, {
        stage: "refine",
        profile: "refine",
        branch: undefined,
        filesChanged: [],
        criteria: [],
        tests: undefined,
        costUsd: 0.05,
        ...patch,
      }),
    ),
  });
  const payload = (action: "requested" | "completed") =>
    agentRunPayload(action, { stage: inputs.stage!, issue: Number(inputs.issue), attemptId, runId });
  await h.deliver("workflow_run", payload("requested"));
  await h.deliver("workflow_run", payload("completed"));
  await h.drain();
}

/**
 * Tracking issue `number` with raw tickets (one by default), labeled `trellis:batch`: a refine attempt is
 * dispatched for each. `firstIssue` keeps the ticket issues apart from other tests' (they share a database);
 * `now` starts the App's clock.
 */
async function batchOf(
  db: Db,
  tracking: { number: number; title: string },
  {
    tasks = "- [ ] [solo] Print a receipt",
    firstIssue,
    now,
  }: { tasks?: string; firstIssue?: number; now?: number } = {},
) {
  githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
  const gh = fakeGitHub({ config: CONFIG, tasks, ...(firstIssue ? { firstIssue } : {}) });
  gh.issues.set(tracking.number, { ...tracking, id: 5000 + tracking.number, body: tasks, labels: [] });
  const h = await startHarness(db, now === undefined ? {} : { now });
  await h.deliver(
    "issues",
    examplePayload("issues", "labeled", {
      label: { name: "trellis:batch" },
      issue: { ...tracking, body: tasks },
      installation,
    }),
  );
  await h.drain();
  // Earlier tests' runs (same database) may be dispatched too, once this App's clock lets them.
  const refines = gh.dispatches.filter((d) => d.stage === "refine" && d.issue === String(tracking.number));
  expect(refines).toHaveLength(tasks.split("\n").length);
  return { gh, h, inputs: refines[0]! };
}

/** The refine dispatch of the ticket `key`. */
const refineOf = (gh: FakeGitHub, key: string) =>
  gh.dispatches.find((d) => (JSON.parse(d.spec!) as { ticket?: { key: string } }).ticket?.key === key)!;

describe.each(engineCases())("batch refinement ($title)", ({ engine, skip }) => {
  useGitHubNock();
  let db: Db;
  beforeAll(async () => {
    if (skip) return;
    db = await engine.open();
  });
  afterAll(async () => {
    await db?.close();
  });

  test.skipIf(skip)(
    "raw tickets refined by the refine agent → refined issues with labels → sub-issues → runs; a question falls back to verbatim",
    async () => {
      githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
      const gh = fakeGitHub({ config: CONFIG, tasks: TASKS });
      gh.issues.set(1, { number: 1, id: 5001, title: "Prices", body: TASKS, labels: [] });
      const h = await startHarness(db);

      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", {
          label: { name: "trellis:batch" },
          issue: { number: 1, title: "Prices", body: TASKS },
          installation,
        }),
      );
      await h.drain();

      // Both raw tickets went to the refine agent; the reference #7 was only looked up; nothing created yet.
      expect(gh.created).toEqual([]);
      expect(gh.dispatches).toHaveLength(2);
      const specs = gh.dispatches.map((d) => DispatchSpecSchema.parse(JSON.parse(d.spec!)));
      expect(
        gh.dispatches.every((d) => d.profile === "refine" && d.stage === "refine" && d.issue === "1"),
      ).toBe(true);
      expect(specs.map((s) => s.ticket).sort((a, b) => a!.key.localeCompare(b!.key))).toMatchObject([
        { key: "money", text: "Format prices as money", trackingIssue: 1 },
        { key: "tax", text: "Compute sales tax", trackingIssue: 1 },
      ]);
      expect(specs.every((s) => s.workflow === "refine" && s.issue === 1)).toBe(true);
      // The tracking issue travels as context, so the Action need not read it.
      expect(specs[0]!.ticket!.context).toEqual({
        title: "Prices",
        body: [
          "The batch of #1 has 3 tickets:",
          "",
          "- [money] Format prices as money",
          "- [tax] Compute sales tax (depends on money)",
          // Looked up before the refine dispatches (one batch's effects run in order).
          "- #7 Fix the login bug",
        ].join("\n"),
      });
      const status = () => gh.comments.get(1)!.find((c) => c.body.includes("trellis:batch-status"))!.body;
      expect(status()).toContain("✏️ refining");

      const inputsOf = (key: string) => refineOf(gh, key);
      await finishRefine(h, gh, inputsOf("money"), 61_001, { refined: REFINED });
      expect(gh.created).toHaveLength(1);
      const money = gh.created[0]!;
      expect(money.title).toBe("Format prices as money in US dollars");
      expect(money.labels).toEqual(["type:feature", "area:pricing"]);
      expect(money.body).toContain("## Acceptance criteria\n\n- [ ] `formatMoney(1.5)` returns `$1.50`");
      expect(money.body).toContain("Part of #1 (batch ticket `money`, estimate 3).");
      expect(money.body).toMatch(/<!-- trellis:batch-ticket=bat_\w+:money -->/);
      expect(money.body).not.toContain("est: 3");

      // The second refinement asks a question instead: the ticket is created as written, saying why.
      await finishRefine(h, gh, inputsOf("tax"), 61_002, {
        status: "needs_input",
        question: "Which tax rate?",
        reason: "the agent asked a question",
      });
      expect(gh.created).toHaveLength(2);
      const tax = gh.created[1]!;
      expect(tax.title).toBe("Compute sales tax");
      expect(tax.labels).toBeUndefined();
      expect(tax.body).toContain(
        "Trellis could not refine this ticket (the agent asked a question instead: Which tax rate?)",
      );

      // Every ticket has its issue: sub-issues, blocked-by, and the runs start (money first; #7 alongside).
      const num = { money: 10, tax: 11, bug: 7 };
      const id = (n: number) => 5000 + n;
      expect(gh.subIssues.get(1)).toEqual([num.money, num.tax, num.bug].map(id));
      expect(gh.blockedBy.get(num.tax)).toEqual([id(num.money)]);
      const devDispatches = gh.dispatches.slice(2);
      expect(
        devDispatches.map((d) => [d.profile, Number(d.issue)]).sort((a, b) => Number(a[1]) - Number(b[1])),
      ).toEqual([
        ["dev", num.bug],
        ["dev", num.money],
      ]);
      expect(devDispatches.every((d) => !("ticket" in (JSON.parse(d.spec!) as object)))).toBe(true);

      const batch = await findBatchByTrackingIssue<BatchState>(db, `${OWNER}/Hello-World`, 1);
      expect(batch!.status).toBe("active");
      const m = batch!.state.tickets.find((t) => t.key === "money")!;
      expect([m.title, m.estimate, m.refine?.status, m.issue]).toEqual([
        "Format prices as money in US dollars",
        3,
        "done",
        num.money,
      ]);
      expect(batch!.state.tickets.find((t) => t.key === "tax")!.refine?.status).toBe("failed");
      expect(status()).toMatch(/cost \$0\.10/);
      // Refinement costs count against the repository's monthly budget.
      expect(await monthlyCost(db, `${OWNER}/Hello-World`, yearMonthOf(h.app.deps.now()))).toBeCloseTo(0.1);
      const audit = await listAudit(db, { repo: `${OWNER}/Hello-World` });
      const refined = audit.find((a) => a.action === "ticket_refined")!;
      expect(refined.detail).toMatchObject({
        ticket: "money",
        labels: ["type:feature", "area:pricing"],
        notes: ['dropped the reserved label "agent:dev"'],
      });
      expect(audit.map((a) => a.action)).toContain("ticket_refine_failed");

      // A redelivered completion changes nothing: the refinement was answered.
      const before = gh.created.length;
      await finishRefine(h, gh, inputsOf("money"), 61_001, { refined: REFINED });
      expect(gh.created).toHaveLength(before);
      await h.close();
    },
    240_000,
  );

  test.skipIf(skip)(
    "a refine run that fails without a result falls back to the ticket as written",
    async () => {
      const { gh, h, inputs } = await batchOf(db, { number: 2, title: "One" });
      // The job died before uploading a result: the artifact is missing.
      gh.artifacts.set(62_001, { attemptId: "att_someoneelse00", zip: Buffer.from("") });
      await h.deliver(
        "workflow_run",
        agentRunPayload("completed", {
          stage: "refine",
          issue: 2,
          attemptId: inputs.attempt_id!,
          runId: 62_001,
          conclusion: "failure",
        }),
      );
      await h.drain();
      expect(gh.created).toHaveLength(1);
      expect(gh.created[0]!.title).toBe("Print a receipt");
      expect(gh.created[0]!.body).toMatch(
        /could not refine this ticket \(workflow run 62001 has no artifact/,
      );
      // The ticket's run started on the created issue.
      expect(gh.dispatches.slice(1).map((d) => [d.profile, d.issue])).toEqual([["dev", "10"]]);
      await h.close();
    },
  );

  test.skipIf(skip)(
    "a refine run that waits for a runner: its timeout counts from its start, then its Actions run is cancelled and the ticket created as written",
    async () => {
      const { gh, h, inputs } = await batchOf(db, { number: 3, title: "Lost" }, { firstIssue: 20 });
      expect(JSON.parse(inputs.spec!)).toMatchObject({ timeoutMinutes: 15 });
      // GitHub named the run in its answer to the dispatch; the batch keeps it.
      const workflowRunId = gh.workflowRuns.get(inputs.attempt_id!)!;
      const stored = async () =>
        (await findBatchByTrackingIssue<BatchState>(db, `${OWNER}/Hello-World`, 3))!.state.tickets[0]!;
      expect((await stored()).refine).toMatchObject({ status: "running", workflowRunId });
      // The run waits 30 minutes for a runner: past the 15 minutes from the dispatch, nothing is given up.
      h.clock.now += 16 * 60_000;
      await h.drain();
      h.clock.now += 14 * 60_000;
      await h.deliver("workflow_run", refineRun("requested", inputs, workflowRunId));
      await h.deliver("workflow_run", refineRun("in_progress", inputs, workflowRunId));
      await h.drain();
      expect(gh.created).toHaveLength(0);
      expect((await stored()).refine).toMatchObject({ status: "running", startedAt: h.clock.now });
      // 14 minutes into the run: still nothing.
      h.clock.now += 14 * 60_000;
      await h.drain();
      expect(gh.created).toHaveLength(0);
      expect(gh.cancelled).toEqual([]);
      // Past 15 minutes from its start, the ticket is created as written, saying why, and its run is cancelled.
      h.clock.now += 2 * 60_000;
      await h.drain();
      expect(gh.created.map((c) => c.title)).toEqual(["Print a receipt"]);
      expect(gh.created[0]!.body).toContain(
        "could not refine this ticket (the refine agent gave no result within 15 minutes)",
      );
      expect(gh.cancelled).toEqual([workflowRunId]);
      // The refine run reports after all: its result changes nothing, and nothing is cancelled again.
      await finishRefine(h, gh, inputs, workflowRunId, { refined: REFINED });
      expect(gh.created).toHaveLength(1);
      expect(gh.cancelled).toEqual([workflowRunId]);
      // Its run started (the earlier tests' runs keep dev at its max_parallel, so it waits to be dispatched).
      expect(await stored()).toMatchObject({
        issue: 20,
        status: "running",
        runId: expect.stringMatching(/^run_/),
        refine: { status: "failed", reason: "the refine agent gave no result within 15 minutes" },
      });
      await h.close();
    },
  );

  test.skipIf(skip)(
    "/abort on the tracking issue while tickets are refined cancels their Actions runs and creates nothing",
    async () => {
      const tracking = { number: 5, title: "Stop it" };
      const { gh, h } = await batchOf(db, tracking, {
        tasks: "- [ ] [one] Print a receipt\n- [ ] [two] Email the receipt",
        firstIssue: 40,
      });
      const runs = ["one", "two"].map((key) => gh.workflowRuns.get(refineOf(gh, key).attempt_id!)!);
      expect(runs.every((id) => id > 0)).toBe(true);
      await h.deliver(
        "issue_comment",
        examplePayload("issue_comment", "created", {
          installation,
          issue: { ...tracking, body: "" },
          comment: { body: "/abort" },
        }),
      );
      await h.drain();
      const batch = await findBatchByTrackingIssue<BatchState>(db, `${OWNER}/Hello-World`, tracking.number);
      expect(batch!.status).toBe("aborted");
      expect([...gh.cancelled].sort()).toEqual([...runs].sort());
      expect(gh.created).toEqual([]);
      // Their deadlines coming due later create nothing and cancel nothing again.
      h.clock.now += 2 * 60 * 60_000;
      await h.drain();
      expect(gh.created).toEqual([]);
      // (Earlier tests' ticket runs, in the same database, time out meanwhile and have their own runs cancelled.)
      expect(gh.cancelled.filter((id) => runs.includes(id))).toHaveLength(2);
      await h.close();
    },
  );

  test.skipIf(skip)(
    "a cost is charged to the month of the App's clock: the last second of a month, then the first of the next",
    async () => {
      // The database's clock is elsewhere (today's date): only the App's decides the month.
      const { gh, h } = await batchOf(
        db,
        { number: 4, title: "Year end" },
        {
          tasks: "- [ ] [eve] Close the books\n- [ ] [day] Open the books",
          firstIssue: 30,
          now: Date.parse("2026-12-31T23:59:59Z"),
        },
      );
      const spent = (month: string) => monthlyCost(db, `${OWNER}/Hello-World`, month);
      await finishRefine(h, gh, refineOf(gh, "eve"), 64_001, { refined: REFINED, costUsd: 0.25 });
      h.clock.now = Date.parse("2027-01-01T00:00:00Z");
      await finishRefine(h, gh, refineOf(gh, "day"), 64_002, { refined: REFINED, costUsd: 0.5 });
      expect(gh.created).toHaveLength(2);
      expect(await spent("2026-12")).toBeCloseTo(0.25);
      expect(await spent("2027-01")).toBeCloseTo(0.5);
      // The budget is read for the App's month too: January's spend is what a dispatch now checks.
      expect(await spent(yearMonthOf(h.app.deps.now()))).toBeCloseTo(0.5);
      // Refine attempts count like stage attempts: by their profile and outcome, with their cost.
      const metrics = await h.app.deps.metrics.render(db);
      expect(metrics).toMatch(/^trellis_stage_outcomes_total\{profile="refine",status="succeeded"\} 2$/m);
      expect(metrics).toMatch(/^trellis_cost_usd_total\{profile="refine"\} 0.75$/m);
      await h.close();
    },
  );
});
