/**
 * `npm run demo [-- --record FILE] [-- --timeout SECONDS]`: Trellis end to end on this machine, offline. Starts the
 * sandbox (GitHub stand-in, the real App on PGlite, the scripted Messages API, the runner with the real Action and
 * Claude Code CLI), seeds a tiny repository with issues and a tracking issue, labels it as a batch and plays the
 * humans (approving, merging) until every ticket is done. Prints a live board, then a summary. Exit 0 on success.
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { RunState } from "../../src/core/model.js";
import { listRuns } from "../../src/store/runs.js";
import { createChaos, faultsInjected, parseNodeId, type Chaos, type Repository } from "./github/index.js";
import { cardsFrom, createProgress, overlayBoard, type BoardItem, type Card } from "./progress.js";
import { startSandbox, type RecordedRequest, type Sandbox } from "./sandbox.js";
import { DEMO_TICKETS, generatedTickets, repoFiles, trackingBody, type TicketSeed } from "./scenario.js";

interface DemoIssues {
  tracking: number;
  bdd: number;
}

export interface ApiFigures {
  app: number;
  action: number;
  rest: number;
  graphql: number;
  reads: number;
  writes: number;
  errors: string[];
  maxWritesPerMinute: number;
  rateLimited: number;
}

/** Counts the requests made to the stand-in by the App and by the Action. */
export function apiFigures(requests: RecordedRequest[]): ApiFigures {
  const byApp = (r: RecordedRequest): boolean => r.by === "app" || r.by === "installation";
  const byAction = (r: RecordedRequest): boolean => r.by === "user:github-actions[bot]";
  const ours = requests.filter((r) => byApp(r) || byAction(r));
  const isGraphQL = (r: RecordedRequest): boolean => r.url.split("?")[0]!.endsWith("/graphql");
  // GraphQL queries are reads; mutations and non-GET REST calls create or change content.
  const isWrite = (r: RecordedRequest): boolean =>
    isGraphQL(r)
      ? /^\s*mutation\b/.test(String((r.body as { query?: string } | undefined)?.query ?? ""))
      : r.method !== "GET" && r.method !== "HEAD";
  const writes = ours.filter(isWrite).map((r) => r.at);
  let maxWritesPerMinute = 0;
  for (let i = 0, j = 0; j < writes.length; j++) {
    while (writes[j]! - writes[i]! >= 60_000) i++;
    maxWritesPerMinute = Math.max(maxWritesPerMinute, j - i + 1);
  }
  return {
    app: ours.filter(byApp).length,
    action: ours.filter(byAction).length,
    rest: ours.filter((r) => !isGraphQL(r)).length,
    graphql: ours.filter(isGraphQL).length,
    reads: ours.length - writes.length,
    writes: writes.length,
    errors: ours
      .filter((r) => r.status >= 400)
      .map((r) => `${r.method} ${r.url.split("?")[0]} → ${r.status}`),
    maxWritesPerMinute,
    rateLimited: ours.filter((r) => r.rateLimited === true).length,
  };
}

export interface Duplicates {
  issues: number;
  prs: number;
  comments: number;
  checkRuns: number;
  /** A few of them, for the summary. */
  examples: string[];
}

/**
 * What the App wrote twice (a retried or redelivered write that was not idempotent): issues it created with the same
 * title, PRs from the same branch, comments on one issue with the same hidden marker (or, without one, the same
 * body), check runs with the same head and external id.
 */
export function duplicatesIn(repo: Repository): Duplicates {
  const examples: string[] = [];
  const repeats = (what: string, keys: string[]): number => {
    const seen = new Map<string, number>();
    for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
    let n = 0;
    for (const [k, count] of seen)
      if (count > 1) {
        n += count - 1;
        if (examples.length < 5) examples.push(`${what} ${k} ×${count}`);
      }
    return n;
  };
  const issues = [...repo.issues.values()];
  const byApp = (login: string): boolean => login.endsWith("[bot]");
  const marker = (body: string): string => /<!--\s*trellis:[^>]*-->/.exec(body)?.[0] ?? body;
  return {
    issues: repeats(
      "issue",
      issues.filter((i) => !i.pull && byApp(i.user)).map((i) => `“${i.title}”`),
    ),
    prs: repeats(
      "PR from",
      issues.flatMap((i) => (i.pull ? [i.pull.head] : [])),
    ),
    comments: repeats(
      "comment",
      [...repo.comments.values()]
        .filter((c) => c.viaApp)
        .map((c) => `#${c.issueNumber} ${marker(c.body).slice(0, 80)}`),
    ),
    checkRuns: repeats(
      "check run",
      [...repo.checkRuns.values()].map((c) => `${c.name} ${c.headSha.slice(0, 7)} ${c.externalId ?? c.id}`),
    ),
    examples,
  };
}

/**
 * The demo passes when the scenario completed, the App wrote nothing twice and the stand-in answered and delivered
 * nothing that GitHub's published schemas refuse.
 */
export function verdict(
  outcome: DemoOutcome,
  sb: Sandbox,
): { ok: boolean; reason: string; dup: Duplicates; schemaProblems: string[] } {
  const dup = duplicatesIn(sb.repo());
  const schemaProblems = sb.github.schemaProblems();
  const twice = dup.issues + dup.prs + dup.comments + dup.checkRuns;
  const fail = (reason: string) => ({ ok: false, reason, dup, schemaProblems });
  if (outcome.ok && twice > 0) return fail(`the App wrote ${twice} things twice`);
  if (outcome.ok && schemaProblems.length > 0)
    return fail(`${schemaProblems.length} answers or deliveries break GitHub's schemas`);
  return { ok: outcome.ok, reason: outcome.reason, dup, schemaProblems };
}

async function seed(sb: Sandbox, tickets: TicketSeed[]): Promise<DemoIssues> {
  sb.human.openIssue({
    title: "Explain the shop in the README",
    body: "Nobody knows what tiny-shop does. (Left for a human: not labelled.)",
    by: "monalisa",
  });
  const bdd = sb.human.openIssue({
    title: "Cart: adding apples",
    body: "Implement the approved scenarios in features/cart.feature.\n\n- [ ] adding apples counts them",
    by: "monalisa",
  });
  const tracking = sb.human.openIssue({
    title: "Checkout milestone",
    body: trackingBody(tickets),
    by: "octocat",
  });
  // A maintainer starts the work: the BDD issue (with its approval gate) and the batch.
  sb.human.label(bdd.number, "workflow:cart-bdd");
  sb.human.label(tracking.number, "trellis:batch");
  return { tracking: tracking.number, bdd: bdd.number };
}

/** The cards of the repository's issues on the "Trellis" Projects (v2) board of the organisation, if there is one. */
export function boardItems(sb: Sandbox): BoardItem[] {
  const repo = sb.repo();
  const project = sb.state.projects.find((p) => p.owner.toLowerCase() === repo.owner.toLowerCase());
  if (!project) return [];
  const field = (name: string) => project.fields.find((f) => f.name === name);
  const [status, stage, cost] = [field("Status"), field("Stage"), field("Cost")];
  const items: BoardItem[] = [];
  for (const item of project.items) {
    const ref = parseNodeId(item.contentNodeId);
    if (ref?.prefix !== "I") continue;
    const issue = [...repo.issues.values()].find((i) => i.id === ref.id);
    if (!issue) continue;
    const s = status ? item.values.get(status.id) : undefined;
    const t = stage ? item.values.get(stage.id) : undefined;
    const c = cost ? item.values.get(cost.id) : undefined;
    items.push({
      issue: issue.number,
      ...(s && "singleSelectOptionId" in s
        ? { status: status?.options.find((o) => o.id === s.singleSelectOptionId)?.name }
        : {}),
      ...(t && "text" in t ? { stage: t.text } : {}),
      ...(c && "number" in c ? { costUsd: c.number } : {}),
    });
  }
  return items;
}

async function runsOf(sb: Sandbox): Promise<RunState[]> {
  const stored = await listRuns(sb.app.deps.db, { repo: { owner: sb.repo().owner, name: sb.repo().name } });
  return stored.map((r) => r.state);
}

export interface DemoOutcome {
  ok: boolean;
  reason: string;
  cards: Card[];
  runs: RunState[];
}

/** Plays the scenario until it completes, fails, or `deadline` passes. */
export async function playDemo(
  sb: Sandbox,
  options: {
    deadline: number;
    started: number;
    out?: NodeJS.WriteStream;
    tickets?: TicketSeed[];
    parallel?: number;
  },
): Promise<DemoOutcome> {
  const progress = createProgress(options.out);
  const elapsed = (): number => Date.now() - options.started;
  const seeded = options.tickets ?? DEMO_TICKETS;
  const issues = await seed(sb, seeded);
  progress.note(
    `Seeded ${sb.repo().owner}/${sb.repo().name}: tracking issue #${issues.tracking} (${seeded.length} raw tickets, parallel limit ${options.parallel ?? 2}), BDD issue #${issues.bdd}`,
    elapsed(),
  );
  const approved = new Set<string>();
  const merging = new Set<number>();
  let cards: Card[] = [];
  let runs: RunState[] = [];
  for (;;) {
    runs = await runsOf(sb);
    const tracking = sb.repo().issues.get(issues.tracking);
    const backlog = (tracking?.subIssues ?? [])
      .map((id) => [...sb.repo().issues.values()].find((i) => i.id === id))
      .filter((i) => i !== undefined)
      .map((i) => ({ issue: i.number, title: i.title }));
    cards = overlayBoard(cardsFrom(runs, backlog), boardItems(sb));
    progress.update(cards, elapsed());

    // The humans: approve what waits for approval, merge the App's pull requests.
    for (const run of runs)
      for (const stage of Object.values(run.stages)) {
        const key = `${run.id}:${stage.id}:${stage.attempts.length}`;
        if (stage.status === "waiting" && stage.waitingFor === "approval" && !approved.has(key)) {
          approved.add(key);
          sb.human.comment(run.issue, `/approve ${stage.id}`, "octocat");
          progress.note(`@octocat approves stage ${stage.id} of #${run.issue}`, elapsed());
        }
      }
    for (const pr of sb.repo().issues.values()) {
      if (!pr.pull || pr.state !== "open" || merging.has(pr.number)) continue;
      merging.add(pr.number);
      progress.note(`@octocat merges PR #${pr.number} “${pr.title}”`, elapsed());
      sb.human
        .merge(pr.number)
        .catch((error: unknown) => progress.note(`merge #${pr.number} failed: ${String(error)}`));
    }

    const tickets = runs.filter((r) => r.batch === issues.tracking);
    const failed = runs.find((r) => r.status === "failed" || r.status === "aborted");
    if (failed) {
      progress.finish(cards, elapsed());
      return {
        ok: false,
        reason: `#${failed.issue} ${failed.status}: ${failed.reason ?? "no reason given"}`,
        cards,
        runs,
      };
    }
    const bddDone = runs.some((r) => r.issue === issues.bdd && r.status === "succeeded");
    const batchDone = tickets.length === seeded.length && tickets.every((r) => r.status === "succeeded");
    const finished = [...sb.repo().comments.values()].some(
      (c) => c.issueNumber === issues.tracking && /Batch finished/i.test(c.body),
    );
    if (bddDone && batchDone && finished) {
      progress.finish(cards, elapsed());
      return { ok: true, reason: "every ticket done", cards, runs };
    }
    if (Date.now() > options.deadline) {
      progress.finish(cards, elapsed());
      const waiting = cards.filter((c) => c.column !== "Done").map((c) => `#${c.issue} in ${c.column}`);
      return {
        ok: false,
        reason: `timed out; not done: ${waiting.join(", ") || (finished ? "—" : "the batch's final status")}`,
        cards,
        runs,
      };
    }
    await new Promise((r) => setTimeout(r, 400));
  }
}

export function summary(
  sb: Sandbox,
  outcome: DemoOutcome,
  wallMs: number,
  paths: Record<string, string>,
  chaos?: Chaos,
): string {
  const repo = sb.repo();
  const { ok, reason, dup, schemaProblems } = verdict(outcome, sb);
  const prs = [...repo.issues.values()].filter((i) => i.pull);
  const checks = [...repo.checkRuns.values()];
  const conclusions = new Map<string, number>();
  for (const c of checks) {
    const k = c.conclusion ?? c.status;
    conclusions.set(k, (conclusions.get(k) ?? 0) + 1);
  }
  const stages = outcome.runs.flatMap((r) => Object.values(r.stages));
  const attempts = stages.reduce((n, s) => n + s.attempts.length, 0);
  const cost = outcome.runs.reduce((n, r) => n + r.costUsd, 0);
  const api = apiFigures(sb.requests);
  // Refine attempts are Actions runs of the refine agent on the tracking issue, before any ticket run exists.
  const refines = sb.runner.jobs.filter((j) => j.stage === "refine");
  const refineCost = refines.reduce((n, j) => n + (j.costUsd ?? 0), 0);
  const worked = outcome.runs.length || 1;
  const perTicket = (api.app + api.action) / worked;
  const lines = [
    "",
    `Trellis sandbox demo: ${ok ? "✅ completed" : "❌ failed"} — ${reason}`,
    "",
    ...(chaos
      ? [
          `Chaos        seed ${chaos.seed}: ${faultsInjected(chaos.counts)} faults injected into the App's API requests (${chaos.counts.serverErrors} 5xx, ${chaos.counts.rateLimits} 429 rate limit, ${chaos.counts.secondaryLimits} secondary-limit 403); ${chaos.counts.duplicated} deliveries duplicated, ${chaos.counts.reordered} reordered`,
        ]
      : []),
    `Schemas      ${schemaProblems.length} answers or deliveries that GitHub's OpenAPI, GraphQL or webhook schemas refuse${schemaProblems.length ? ` (${schemaProblems.slice(0, 3).join("; ")})` : ""}`,
    `Duplicates   ${dup.issues} issues, ${dup.prs} PRs, ${dup.comments} comments, ${dup.checkRuns} check runs written twice${dup.examples.length ? ` (${dup.examples.join("; ")})` : ""}`,
    `Tickets      ${outcome.cards.filter((c) => c.column === "Done").length}/${outcome.cards.length} done (${outcome.runs.filter((r) => r.batch !== undefined).length} in the batch)`,
    `Stages       ${stages.length} stages, ${attempts} agent runs (real Claude Code CLI, scripted model), cost $${cost.toFixed(4)}`,
    `Refinement   ${refines.length} raw tickets sent to the refine agent, ${refines.filter((j) => j.resultStatus === "succeeded").length} refined (issues created from .trellis/refined.md), cost $${refineCost.toFixed(4)}`,
    `PRs          ${prs.length} opened by the App, ${prs.filter((p) => p.pull?.merged).length} merged`,
    `Board        Projects (v2) “${sb.state.projects[0]?.title ?? "—"}”: ${boardItems(sb).length} issue cards (${[...new Set(boardItems(sb).map((i) => i.status))].join(", ")})`,
    `Check runs   ${checks.length} (${[...conclusions].map(([k, n]) => `${n} ${k}`).join(", ")})`,
    `API requests ${api.app + api.action}: App ${api.app}, Action ${api.action}; REST ${api.rest}, GraphQL ${api.graphql}; reads ${api.reads}, writes ${api.writes}`,
    `             ${perTicket.toFixed(1)} per ticket; at most ${api.maxWritesPerMinute} content-creating requests in a minute; ${api.rateLimited} rate-limited; ${api.errors.length} 4xx/5xx answers${api.errors.length ? ` (${[...new Set(api.errors)].slice(0, 4).join("; ")})` : ""}`,
    `             a 100-ticket batch at this rate: ≈ ${Math.round(perTicket * 100)} requests, ${((perTicket * 100 * 100) / 5000).toFixed(0)} % of an installation's hourly budget (5,000)`,
    `Wall time    ${(wallMs / 1000).toFixed(1)}s`,
    "",
    "Inspect the sandbox:",
    ...Object.entries(paths).map(([k, v]) => `  ${k.padEnd(12)} ${v}`),
    "",
  ];
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      record: { type: "string" },
      timeout: { type: "string", default: "170" },
      // A larger generated batch, for the API-economy figures.
      tickets: { type: "string" },
      parallel: { type: "string", default: "2" },
      // GitHub on a bad day: API faults, duplicated and reordered deliveries, seeded (the seed is printed).
      chaos: { type: "boolean", default: false },
      seed: { type: "string" },
    },
    allowPositionals: false,
  });
  const chaos = values.chaos
    ? createChaos({ seed: values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31) })
    : undefined;
  const parallel = Number(values.parallel);
  const tickets = values.tickets ? generatedTickets(Number(values.tickets)) : DEMO_TICKETS;
  const started = Date.now();
  const deadline = started + Number(values.timeout) * 1000;
  const out = process.stdout;
  out.write("Starting the sandbox: GitHub stand-in, Trellis App (PGlite), scripted Anthropic API…\n");
  if (chaos)
    out.write(
      `Chaos on, seed ${chaos.seed} (replay with --chaos --seed ${chaos.seed}): ~10 % of the App's API requests fail, deliveries are duplicated and reordered\n`,
    );
  const sb = await startSandbox({
    cleanup: false,
    repos: [{ name: "tiny-shop", files: repoFiles({ board: true, parallel }) }],
    ...(values.record ? { recordFile: values.record } : {}),
    ...(chaos ? { chaos } : {}),
  });
  out.write(
    `GitHub stand-in ${sb.github.apiUrl} · App ${sb.appUrl} · up in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
  let outcome: DemoOutcome;
  const guard = setTimeout(
    () => {
      out.write("The demo is stuck past its deadline; stopping.\n");
      process.exit(2);
    },
    deadline - Date.now() + 20_000,
  );
  try {
    outcome = await playDemo(sb, { deadline, started, out, tickets, parallel });
  } catch (error) {
    outcome = {
      ok: false,
      reason: `crashed: ${(error as Error).stack ?? String(error)}`,
      cards: [],
      runs: [],
    };
  }
  const wall = Date.now() - started;
  const state = await sb.dumpState();
  out.write(
    summary(
      sb,
      outcome,
      wall,
      {
        state: state,
        "App log": `${sb.dir}/app.log`,
        "job logs": `${sb.dir}/jobs/`,
        repository: `${sb.dir}/repos/`,
        ...(values.record ? { requests: values.record } : {}),
      },
      chaos,
    ),
  );
  const { ok } = verdict(outcome, sb);
  await sb.stop();
  clearTimeout(guard);
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main().catch((error: unknown) => {
    process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  });
  // Whatever a library left running (timers, sockets), the demo is over.
  process.exit(code);
}
