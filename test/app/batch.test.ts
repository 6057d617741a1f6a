/**
 * A batch through the real App: a tracking issue labeled `trellis:batch` → ticket issues created, made
 * sub-issues, "blocked by" recorded → the first tickets dispatched under the parallel limit → each ticket's
 * workflow run completes → PR → merged → its dependents start → the batch succeeds, with the Mermaid DAG
 * in the tracking issue's status comment. And a cyclic task list refused with a reply naming the cycle.
 * GitHub is nock (network disabled); every request is checked against GitHub's REST description.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { executeBatchEffect } from "../../src/app/batch-effects.js";
import type { BatchState } from "../../src/core/batch/machine.js";
import { runName } from "../../src/core/dispatch.js";
import { listAudit } from "../../src/store/audit.js";
import { findBatchByTrackingIssue, listTickets } from "../../src/store/batches.js";
import type { Db } from "../../src/store/db.js";
import { listRuns } from "../../src/store/runs.js";
import {
  agentResult,
  type Harness,
  installation,
  INSTALLATION_ID,
  startHarness,
} from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload, examplePayloadAs } from "../support/webhooks.js";
import { buildProposal, proposalZip } from "../support/app-commits.js";
import { BASE_SHA, fakeGitHub as fakeGitHubWith, OWNER, prNodeId } from "./batch-github.js";

const CONFIG = "batch:\n  parallel_limit: 2\n  refine: false\n";

const TASKS = [
  "We ship the API in one go.",
  "",
  "- [ ] [schema] Design the schema est: 2",
  "- [ ] [ui] Sketch the UI est: 1",
  "- [ ] [api] Build the REST API (depends on [schema]) est: 3",
  "- [ ] #7",
  "- [ ] [docs] Write the docs after [api] and [ui] est: 1",
].join("\n");

const fakeGitHub = () => fakeGitHubWith({ config: CONFIG, tasks: TASKS });

describe.each(engineCases())("a batch of tickets ($title)", ({ engine, skip }) => {
  useGitHubNock();
  let db: Db;
  let h: Harness;
  beforeAll(async () => {
    if (skip) return;
    db = await engine.open();
  });
  afterAll(async () => {
    await db?.close();
  });

  test.skipIf(skip)(
    "label → ticket issues, sub-issues, blocked-by → 2 runs at a time → results, PRs, merges → all done",
    async () => {
      githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
      const gh = fakeGitHub();
      h = await startHarness(db);

      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", {
          label: { name: "trellis:batch" },
          issue: { number: 1, title: "Ship the API", body: TASKS },
          installation,
        }),
      );
      await h.drain();

      // Raw tickets became issues verbatim, linked back; #7 was looked up, not created.
      expect(gh.created.map((c) => c.title)).toEqual([
        "Design the schema",
        "Sketch the UI",
        "Build the REST API",
        "Write the docs",
      ]);
      expect(gh.created[0]!.body).toContain("Part of #1");
      expect(gh.created[0]!.body).toMatch(/<!-- trellis:batch-ticket=bat_\w+:schema -->/);
      const num = { schema: 10, ui: 11, api: 12, docs: 13, bug: 7 };
      const id = (n: number) => 5000 + n;
      expect(gh.subIssues.get(1)).toEqual([num.schema, num.ui, num.api, num.bug, num.docs].map(id));
      expect(gh.blockedBy.get(num.api)).toEqual([id(num.schema)]);
      expect(gh.blockedBy.get(num.docs)).toEqual([id(num.api), id(num.ui)]);
      expect(gh.blockedBy.has(num.bug)).toBe(false);
      // Only two run at once: the longest chain's head (schema) and ui; their dispatches are separate
      // runs' effects, carried out concurrently, so their order on the wire is not fixed.
      expect(gh.dispatches.map((d) => Number(d.issue)).sort((a, b) => a - b)).toEqual([num.schema, num.ui]);
      const status = () => gh.comments.get(1)!.find((c) => c.body.includes("trellis:batch-status"))!.body;
      expect(status()).toContain("```mermaid\nflowchart TD");
      expect(status()).toContain('click n0 "https://github.com/Codertocat/Hello-World/issues/10" _blank');
      expect(status()).toMatch(/0\/5 done · 2 running · 3 waiting · 0 failed/);

      /**
       * The Action finishes the ticket's run; the App opens its PR; a human merges it, which closes the ticket's
       * issue (`Closes #N`): GitHub delivers the two closes in either order, so the tickets alternate.
       */
      let merges = 0;
      const complete = async (issue: number) => {
        const inputs = gh.dispatches.find((d) => Number(d.issue) === issue)!;
        const attemptId = inputs.attempt_id!;
        const spec = JSON.parse(inputs.spec!) as { branch: string };
        // The Actions run GitHub created for the dispatch (its id came back from the dispatch request).
        const runId = gh.workflowRuns.get(attemptId)!;
        expect(runId).toBeDefined();
        const built = buildProposal(BASE_SHA, { [`ticket-${issue}.md`]: `work for #${issue}\n` });
        gh.artifacts.set(runId, {
          attemptId,
          zip: proposalZip(agentResult(attemptId, { proposal: built.proposal }), built),
        });
        const payload = (action: "requested" | "completed") =>
          examplePayload("workflow_run", action, {
            installation,
            workflow_run: {
              event: "workflow_dispatch",
              path: ".github/workflows/trellis-agent.yml",
              id: runId,
              display_title: runName({ stage: "dev", issue, attemptId }),
              status: action === "completed" ? "completed" : "queued",
              conclusion: action === "completed" ? "success" : null,
              html_url: `https://github.com/${OWNER}/Hello-World/actions/runs/${runId}`,
              head_repository: { full_name: `${OWNER}/Hello-World` },
              repository: { full_name: `${OWNER}/Hello-World` },
            },
            repository: { full_name: `${OWNER}/Hello-World`, name: "Hello-World", owner: { login: OWNER } },
          });
        await h.deliver("workflow_run", payload("requested"));
        await h.deliver("workflow_run", payload("completed"));
        await h.drain();
        // The App committed the ticket's proposal on the branch it named, and opened the PR from it.
        expect(gh.git.commits.find((c) => c.branch === spec.branch)?.additions).toMatchObject([
          { path: `ticket-${issue}.md` },
        ]);
        const pr = gh.pulls.find((p) => p.head === spec.branch)!;
        expect(pr.body).toContain(`Closes #${issue}`);
        pr.merged = true;
        const prClosed = () =>
          h.deliver(
            "pull_request",
            examplePayload("pull_request", "closed", {
              installation,
              pull_request: {
                number: pr.number,
                node_id: prNodeId(pr.number),
                merged: true,
                body: pr.body,
                head: { ref: spec.branch },
              },
            }),
          );
        const issueClosed = () =>
          h.deliver(
            "issues",
            examplePayloadAs("issues", "closed", "reopened", {
              installation,
              issue: {
                number: issue,
                id: 5000 + issue,
                node_id: `I_${issue}`,
                state: "closed",
                state_reason: "completed",
              },
            }),
          );
        for (const deliver of merges++ % 2 === 0 ? [issueClosed, prClosed] : [prClosed, issueClosed]) {
          await deliver();
          await h.drain();
        }
        const ticket = (await findBatchByTrackingIssue<BatchState>(
          db,
          `${OWNER}/Hello-World`,
          1,
        ))!.state.tickets.find((t) => t.issue === issue);
        expect(ticket?.status).toBe("done");
      };
      await complete(num.schema);
      // schema done: api (on the critical path) starts; the limit keeps #7 waiting.
      expect(gh.dispatches.map((d) => Number(d.issue)).sort((a, b) => a - b)).toEqual([
        num.schema,
        num.ui,
        num.api,
      ]);
      await complete(num.ui);
      expect(gh.dispatches.map((d) => Number(d.issue)).sort((a, b) => a - b)).toEqual([
        num.bug,
        num.schema,
        num.ui,
        num.api,
      ]);
      await complete(num.api);
      // docs waited for api and ui.
      expect(gh.dispatches.map((d) => Number(d.issue)).slice(4)).toEqual([num.docs]);
      await complete(num.bug);
      await complete(num.docs);
      expect(gh.dispatches).toHaveLength(5);

      const batch = await findBatchByTrackingIssue<BatchState>(db, `${OWNER}/Hello-World`, 1);
      expect(batch!.status).toBe("succeeded");
      expect(batch!.state.tickets.every((t) => t.status === "done")).toBe(true);
      const tickets = await listTickets(db, batch!.id);
      expect(tickets.map((t) => [t.key, t.issue, t.status])).toEqual(
        expect.arrayContaining([
          ["schema", num.schema, "done"],
          ["#7", num.bug, "done"],
        ]),
      );
      const runs = await listRuns(db, { batchId: batch!.id });
      expect(runs).toHaveLength(5);
      expect(runs.every((r) => r.state.status === "succeeded" && r.state.batch === 1)).toBe(true);
      expect(status()).toContain("### ✅ Succeeded");
      expect(status()).toMatch(/5\/5 done · 0 running · 0 waiting · 0 failed · cost \$2\.10/);
      expect(status()).toMatch(/class n0,n1,n2,n3,n4 done/);
      expect(gh.comments.get(1)!.some((c) => /Batch finished: all 5 tickets done/.test(c.body))).toBe(true);
      const audit = (await listAudit(db, { repo: `${OWNER}/Hello-World` })).map((a) => a.action);
      expect(audit).toEqual(expect.arrayContaining(["batch_create", "batch_created", "batch_succeeded"]));

      // A redelivered label changes nothing: the batch exists and is finished.
      const before = gh.created.length;
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", {
          label: { name: "trellis:batch" },
          issue: { number: 1, title: "Ship the API", body: TASKS },
          installation,
        }),
      );
      await h.drain();
      expect(gh.created).toHaveLength(before);

      // A crash between creating a ticket's issue and recording it: the effect runs again and finds the
      // issue by its hidden marker instead of creating a second one.
      const octokit = await h.app.deps.github(INSTALLATION_ID);
      await executeBatchEffect(
        h.app.deps,
        octokit,
        {
          installationId: INSTALLATION_ID,
          repo: { owner: OWNER, name: "Hello-World" },
          issue: 1,
          batchId: batch!.id,
        },
        {
          type: "batch_issue",
          key: `batch:${batch!.id}:issue:schema`,
          ticket: "schema",
          create: { title: "Design the schema", body: "again" },
        },
      );
      expect(gh.created).toHaveLength(before);
      expect((await findBatchByTrackingIssue(db, `${OWNER}/Hello-World`, 1))!.version).toBe(batch!.version);
      await h.close();
    },
    240_000,
  );

  test.skipIf(skip)(
    "steering from the tracking issue: unlabel holds, /batch re-plans, /unhold resumes, closing aborts",
    async () => {
      githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
      const gh = fakeGitHub();
      h = await startHarness(db);
      const body = "- [ ] [a] Alpha\n- [ ] [b] Beta\n- [ ] [c] Gamma\n- [ ] [d] Delta after [a]";
      const issue = { number: 3, title: "Three at once", body };
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", { label: { name: "trellis:batch" }, issue, installation }),
      );
      await h.drain();
      expect(gh.dispatches).toHaveLength(2);
      const stored = () => findBatchByTrackingIssue<BatchState>(db, `${OWNER}/Hello-World`, 3);
      const status = () => gh.comments.get(3)!.find((c) => c.body.includes("trellis:batch-status"))!.body;

      // Removing the label holds the batch; a re-plan under hold starts nothing.
      await h.deliver(
        "issues",
        examplePayload("issues", "unlabeled", { label: { name: "trellis:batch" }, issue, installation }),
      );
      let n = 0;
      const comment = (text: string) =>
        h.deliver(
          "issue_comment",
          examplePayload("issue_comment", "created", {
            issue,
            comment: { id: 800 + ++n, body: text },
            installation,
          }),
        );
      await comment("/batch --parallel 3\n/status");
      await h.drain();
      expect((await stored())!.status).toBe("held");
      expect((await stored())!.parallel).toBe(3);
      expect(gh.dispatches).toHaveLength(2);
      expect(status()).toContain("⏸️ on hold");
      expect(status()).toContain("at most 3 at once");

      // /unhold: the new limit lets the third ticket start.
      await comment("/unhold");
      await h.drain();
      expect(gh.dispatches).toHaveLength(3);
      expect((await stored())!.status).toBe("active");

      // Closing the tracking issue aborts the batch and every running ticket's run.
      await h.deliver(
        "issues",
        examplePayloadAs("issues", "closed", "reopened", {
          issue: { ...issue, state: "closed", state_reason: "not_planned" },
          installation,
        }),
      );
      await h.drain();
      const batch = (await stored())!;
      expect(batch.status).toBe("aborted");
      const runs = await listRuns(db, { batchId: batch.id });
      expect(runs.map((r) => r.state.status)).toEqual(["aborted", "aborted", "aborted"]);
      expect(status()).toContain("### 🛑 Aborted");
      expect(gh.dispatches).toHaveLength(3); // d never started
      await h.close();
    },
    240_000,
  );

  test.skipIf(skip)(
    "a cyclic task list is refused with a reply naming the cycle; nothing is created",
    async () => {
      githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
      const gh = fakeGitHub();
      h = await startHarness(db);
      const body =
        "- [ ] [a] First after [c]\n- [ ] [b] Second after [a]\n- [ ] [c] Third after [b]\n- [ ] [d] Fine";
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", {
          label: { name: "trellis:batch" },
          issue: { number: 2, title: "Loop", body },
          installation,
        }),
      );
      await h.drain();
      const replies = gh.comments.get(2) ?? [];
      expect(replies).toHaveLength(1);
      expect(replies[0]!.body).toMatch(/nothing was created/);
      expect(replies[0]!.body).toMatch(/dependency cycle: \\\[a\\\] → \\\[c\\\] → \\\[b\\\] → \\\[a\\\]/);
      expect(gh.created).toEqual([]);
      expect(gh.dispatches).toEqual([]);
      expect(await findBatchByTrackingIssue(db, `${OWNER}/Hello-World`, 2)).toBeUndefined();
      await h.close();
    },
  );

  test.skipIf(skip)(
    "a task list past GitHub's 100 sub-issues per parent is refused up front, saying how to split it",
    async () => {
      githubApi().get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
      const gh = fakeGitHub();
      h = await startHarness(db);
      const body = Array.from({ length: 101 }, (_, i) => `- [ ] Ticket ${i + 1}`).join("\n");
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", {
          label: { name: "trellis:batch" },
          issue: { number: 4, title: "Too big", body },
          installation,
        }),
      );
      await h.drain();
      const replies = gh.comments.get(4) ?? [];
      expect(replies).toHaveLength(1);
      expect(replies[0]!.body).toMatch(/nothing was created/);
      expect(replies[0]!.body).toMatch(
        /GitHub allows at most 100 sub-issues per issue, and this batch would add 101/,
      );
      expect(replies[0]!.body).toMatch(/keep lines 1–100 here and move line 101 onwards to a new one/);
      // Before, 101 issues were created and the 101st link refused by GitHub half-way through.
      expect(gh.created).toEqual([]);
      expect(gh.subIssues.get(4)).toBeUndefined();
      expect(gh.dispatches).toEqual([]);
      expect(await findBatchByTrackingIssue(db, `${OWNER}/Hello-World`, 4)).toBeUndefined();
      const audit = (await listAudit(db, { repo: `${OWNER}/Hello-World` })).map((a) => a.action);
      expect(audit).toContain("batch_refused");
      await h.close();
    },
  );
});
