/**
 * Reconciliation through the real App (Probot, the pipeline, the store) against the GitHub stand-in, which delivers
 * its webhooks to the App over HTTP, records every delivery as GitHub does, and lets the App list and redeliver them.
 * - A delivery that never reached the App is redelivered by a pass and processed once, however often it comes again.
 * - An attempt whose `workflow_run.completed` was lost (while GitHub's delivery log was unavailable too) gets its
 *   result from a pass that looks its Actions run up.
 * - Two replicas on one database: only one pass runs.
 * - Passes run on the App's timer until it closes, and each is bounded and paced.
 */
import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { afterEach, describe, expect, it } from "vitest";
import { trellis, type TrellisApp } from "../../src/index.js";
import type { ReconcileOptions } from "../../src/app/reconcile.js";
import { redeliverDelivery } from "../../src/github/deliveries.js";
import type { Db } from "../../src/store/db.js";
import { findRunsByIssue } from "../../src/store/runs.js";
import { attemptIdFromRunName } from "../../src/core/dispatch.js";
import { resultArtifactName } from "../../src/core/result.js";
import {
  addLabels,
  createGitHubServer,
  createGitHubState,
  createIssue,
  type Chaos,
  type GitHubServer,
  type GitHubServerOptions,
  type GitHubState,
  type RequestLogEntry,
} from "../../sandbox/src/github/index.js";
import { repoFiles } from "../../sandbox/src/scenario.js";
import { agentResult, resultZip } from "../support/app-harness.js";
import { engineCases, useDb } from "../support/engines.js";

const ORG = "octo-org";
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
// Probot's Octokit without retries or the throttling plugin's pacing: each request the App makes is one request.
const untimedOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...(options.throttle as object | undefined), enabled: false },
}));
const MINUTE = 60_000;

/** GitHub on a chosen bad day: the deliveries `drop` picks never connect; the requests `fail` picks get a 502. */
function chaosOf(picks: {
  drop?: (event: { name: string; action?: string }) => boolean;
  fail?: (method: string, path: string) => boolean;
}): Chaos {
  const counts = {
    serverErrors: 0,
    rateLimits: 0,
    secondaryLimits: 0,
    duplicated: 0,
    reordered: 0,
    dropped: 0,
  };
  return {
    seed: 0,
    counts,
    fault: (by, method, path) => {
      if (by !== "app" || !picks.fail?.(method, path)) return undefined;
      counts.serverErrors++;
      return {
        status: 502,
        headers: { "content-type": "application/json" },
        body: { message: "Server Error" },
      };
    },
    delivery: (event) => {
      const drop = event !== undefined && picks.drop?.(event) === true;
      if (drop) counts.dropped++;
      return { duplicate: false, holdBack: false, drop };
    },
  };
}

interface World {
  state: GitHubState;
  github: GitHubServer;
  /** Requests the stand-in answered, with when (ms). */
  requests: (RequestLogEntry & { at: number })[];
  clock: { offsetMs: number };
  apps: TrellisApp[];
  /** Starts one more App (a replica) on `db`, receiving webhooks only when it is the first. */
  startApp(db: Db, reconcile?: ReconcileOptions, worker?: boolean): Promise<TrellisApp>;
  /** Delivers and processes until nothing is left: webhooks sent, the App's worker drained. */
  settle(): Promise<void>;
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  closers.length = 0;
});

async function world(chaos: Chaos): Promise<World> {
  const state = createGitHubState({
    users: [{ login: ORG, type: "Organization" }, "octocat"],
    repos: [
      {
        owner: ORG,
        name: "tiny-shop",
        files: repoFiles(),
        collaborators: { octocat: "admin" },
        workflows: [
          {
            path: ".github/workflows/trellis-agent.yml",
            name: "Trellis agent",
            runName: "Trellis ${{ inputs.stage }} #${{ inputs.issue }} [trellis:${{ inputs.attempt_id }}]",
          },
        ],
      },
    ],
  });
  const requests: (RequestLogEntry & { at: number })[] = [];
  const secret = "reconcile-test-secret";
  // The stand-in reads its webhook target at each delivery: set once the App listens.
  const options: GitHubServerOptions = {
    chaos,
    rateLimits: false,
    onRequest: (entry) => requests.push({ ...entry, at: performance.now() }),
  };
  const github = await createGitHubServer(state, options);
  closers.push(() => github.close());
  const clock = { offsetMs: 0 };
  const apps: TrellisApp[] = [];
  let receiver: Server | undefined;

  const startApp = async (db: Db, reconcile: ReconcileOptions = {}, worker = false): Promise<TrellisApp> => {
    const probot = new Probot({
      appId: state.app.id,
      privateKey,
      secret,
      baseUrl: github.apiUrl,
      log: pino({ level: "silent" }),
      Octokit: untimedOctokit,
    });
    const fn = trellis({
      db,
      worker,
      now: () => Date.now() + clock.offsetMs,
      reconcile: { pauseMs: 0, ...reconcile },
    });
    await probot.load(fn);
    const app = await fn.ready;
    closers.push(() => app.close());
    apps.push(app);
    if (!receiver) {
      const middleware = await probot.getNodeMiddleware({ path: "/api/github/webhooks" });
      const server = createServer((req, res) => {
        void Promise.resolve(middleware(req, res)).then((handled) => {
          if (!handled) res.writeHead(404).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      receiver = server;
      closers.push(() => new Promise<void>((r) => server.close(() => r())));
      const port = (server.address() as AddressInfo).port;
      options.webhook = { url: `http://127.0.0.1:${port}/api/github/webhooks`, secret };
    }
    return app;
  };

  const settle = async (): Promise<void> => {
    for (let round = 0; round < 50; round++) {
      await github.idle();
      let done = 0;
      for (const app of apps) done += await app.worker.drain();
      await github.idle();
      if (done === 0) return;
    }
    throw new Error("the App did not settle");
  };
  return { state, github, requests, clock, apps, startApp, settle };
}

/** True for the first event `matches` accepts, and never again. */
function firstOnly(matches: (event: { name: string; action?: string }) => boolean) {
  let done = false;
  return (event: { name: string; action?: string }): boolean => {
    if (done || !matches(event)) return false;
    done = true;
    return true;
  };
}

describe.each(engineCases())("reconciliation on '$title'", ({ engine, skip }) => {
  const getDb = useDb(engine, skip);

  it.skipIf(skip)(
    "a delivery that never reached the App is redelivered by a pass and processed once",
    async () => {
      const w = await world(
        chaosOf({ drop: firstOnly((e) => e.name === "issues" && e.action === "labeled") }),
      );
      const app = await w.startApp(getDb());
      const repo = w.state.repos.get(`${ORG}/tiny-shop`)!;
      const issue = createIssue(w.state, repo, { title: "Add a cart", body: "Please.", user: "octocat" });
      addLabels(w.state, repo, issue, ["workflow:ship"], "octocat");
      await w.settle();
      // GitHub recorded the label's delivery as failed; the App never heard of it.
      const [lost] = w.state.hookDeliveries.filter((d) => d.event === "issues" && d.action === "labeled");
      expect(lost).toMatchObject({ statusCode: 502, status: "failed to connect" });
      expect(await findRunsByIssue(getDb(), `${ORG}/tiny-shop`, issue.number)).toEqual([]);

      const report = await app.reconciler.pass();
      expect(report).toMatchObject({ ran: true, errors: [] });
      expect(report.redelivered).toEqual([
        { deliveryId: lost!.id, guid: lost!.guid, event: "issues", action: "labeled" },
      ]);
      await w.settle();
      const runs = await findRunsByIssue(getDb(), `${ORG}/tiny-shop`, issue.number);
      expect(runs).toHaveLength(1);
      expect(repo.workflowRuns.size).toBe(1);

      // Nothing failed any more: the next pass asks for nothing; a redelivery asked by hand changes nothing.
      expect((await app.reconciler.pass()).redelivered).toEqual([]);
      await redeliverDelivery(await app.deps.github(undefined), lost!.id);
      await w.settle();
      expect(w.state.hookDeliveries.filter((d) => d.guid === lost!.guid).map((d) => d.status)).toEqual([
        "failed to connect",
        "OK",
        "OK",
      ]);
      expect(await findRunsByIssue(getDb(), `${ORG}/tiny-shop`, issue.number)).toHaveLength(1);
      expect(repo.workflowRuns.size).toBe(1);
      expect(w.github.schemaProblems()).toEqual([]);
    },
  );

  it.skipIf(skip)(
    "an attempt whose completion never arrived gets its result from a pass that looks its Actions run up",
    async () => {
      const w = await world(
        chaosOf({
          drop: firstOnly((e) => e.name === "workflow_run" && e.action === "completed"),
          // GitHub's delivery log is unavailable too: only looking the run up can recover the completion.
          fail: (method, path) => method === "GET" && path.includes("/app/hook/deliveries"),
        }),
      );
      const app = await w.startApp(getDb());
      const repo = w.state.repos.get(`${ORG}/tiny-shop`)!;
      const issue = createIssue(w.state, repo, { title: "Add a cart", body: "Please.", user: "octocat" });
      addLabels(w.state, repo, issue, ["workflow:ship"], "octocat");
      await w.settle();
      const [run] = [...repo.workflowRuns.values()];
      const attemptId = attemptIdFromRunName(run!.displayTitle)!;
      const attempt = async () =>
        (await findRunsByIssue(getDb(), `${ORG}/tiny-shop`, issue.number))[0]!.state.stages["dev"]!
          .attempts[0]!;
      expect(await attempt()).toMatchObject({ id: attemptId, workflowRunId: run!.id });

      w.github.completeWorkflowRun(run!.id, {
        conclusion: "success",
        artifacts: [{ name: resultArtifactName(attemptId), zip: resultZip(agentResult(attemptId)) }],
      });
      await w.settle();
      // The start was heard, the completion was not.
      expect(await attempt()).toMatchObject({ startedAt: expect.any(Number) });
      expect((await attempt()).result).toBeUndefined();

      // Heard of a moment ago: not looked up yet.
      expect(await app.reconciler.pass()).toMatchObject({ ran: true, lookedUp: 0, completed: [] });
      w.clock.offsetMs = 6 * MINUTE;
      const report = await app.reconciler.pass();
      expect(report).toMatchObject({ ran: true, lookedUp: 1, completed: [run!.id], redelivered: [] });
      expect(report.errors).toEqual([expect.stringMatching(/^deliveries: .*Server Error/)]);
      await w.settle();
      expect((await attempt()).result).toMatchObject({ attemptId, status: "succeeded", costUsd: 0.42 });
      // Applied once: nothing is in flight any more, and the completion is not ingested again.
      expect(await app.reconciler.pass()).toMatchObject({ lookedUp: 0, completed: [] });
      expect(w.github.schemaProblems()).toEqual([]);
    },
  );

  it.skipIf(skip)("two replicas on one database: only one of two passes started together runs", async () => {
    const w = await world(chaosOf({}));
    const db = getDb();
    // PostgreSQL: a pool of its own, as another process has; PGlite is one connection, shared.
    const other: Db = engine.name === "postgres" ? await db.reopen() : db;
    if (other !== db) closers.push(() => other.close());
    const a = await w.startApp(db);
    const b = await w.startApp(other);
    createIssue(w.state, w.state.repos.get(`${ORG}/tiny-shop`)!, { title: "x", user: "octocat" });
    await w.settle();
    const listings = () => w.requests.filter((r) => r.url.startsWith("/api/v3/app/hook/deliveries")).length;

    const reports = await Promise.all([a.reconciler.pass(), b.reconciler.pass()]);
    expect(reports.map((r) => r.ran).sort()).toEqual([false, true]);
    expect(listings()).toBe(1);
    // Once it is over, the other replica may run one.
    expect((await b.reconciler.pass()).ran).toBe(true);
    expect(listings()).toBe(2);
  });

  it.skipIf(skip)("runs on the App's timer from its start, and stops when the App closes", async () => {
    const w = await world(chaosOf({}));
    const listings = () => w.requests.filter((r) => r.url.startsWith("/api/v3/app/hook/deliveries")).length;
    const app = await w.startApp(getDb(), { firstAfterMs: 0, everyMs: 100 }, true);
    const deadline = Date.now() + 10_000;
    while (listings() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(listings()).toBeGreaterThanOrEqual(2);
    await app.close();
    const after = listings();
    await new Promise((r) => setTimeout(r, 300));
    expect(listings()).toBe(after);
  });

  it.skipIf(skip)(
    "a pass is bounded and paced: the oldest events first, requests spaced, the rest next time",
    async () => {
      const w = await world(chaosOf({ drop: (e) => e.name === "issues" && e.action === "opened" }));
      const app = await w.startApp(getDb(), { maxRedeliveries: 2, pauseMs: 150 });
      const repo = w.state.repos.get(`${ORG}/tiny-shop`)!;
      const issues = ["one", "two", "three"].map((title) =>
        createIssue(w.state, repo, { title, user: "octocat" }),
      );
      await w.settle();
      const guids = w.state.hookDeliveries.map((d) => d.guid);
      expect(guids).toHaveLength(issues.length);

      const start = w.requests.length;
      const first = await app.reconciler.pass();
      expect(first.redelivered.map((r) => r.guid)).toEqual(guids.slice(0, 2));
      const asked = w.requests.slice(start).filter((r) => r.url.includes("/app/hook/deliveries"));
      expect(asked.map((r) => r.method)).toEqual(["GET", "POST", "POST"]);
      for (let i = 1; i < asked.length; i++)
        expect(asked[i]!.at - asked[i - 1]!.at).toBeGreaterThanOrEqual(100);

      // Chaos drops every opening, redeliveries too: the next pass asks for the third first, then the oldest again.
      expect((await app.reconciler.pass()).redelivered.map((r) => r.guid)).toEqual([guids[2], guids[0]]);
      expect((await app.reconciler.pass()).redelivered.map((r) => r.guid)).toEqual([guids[1], guids[2]]);
    },
  );
});
