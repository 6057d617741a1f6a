// `npm run bench:api [-- --json] [-- --tickets N] [-- --parallel N] [-- --record FILE] [-- --timeout SECONDS]
// [-- --no-refine]`:
// GitHub requests per ticket over a whole batch in the offline sandbox, with the Projects board enabled. Seeds a
// tracking issue with a 20-ticket task list with dependencies, labels it as a batch, merges the App's pull requests
// as a maintainer would (raw tickets are refined by the refine agent first, unless --no-refine), and counts every request the App and the Action made (REST and GraphQL, reads and writes).
// Exits 1 when the batch did not finish or a target is missed: > 40 requests per ticket, > 80 content-creating
// requests in any minute, or any secondary-rate-limit answer.
import { parseArgs } from "node:util";
import type { RunState } from "../../src/core/model.js";
import { apiFigures } from "../../sandbox/src/demo.js";
import { startSandbox, type RecordedRequest, type Sandbox } from "../../sandbox/src/sandbox.js";
import { repoFiles, trackingBody, type TicketSeed } from "../../sandbox/src/scenario.js";
import { listRuns } from "../../src/store/runs.js";

const TARGET_PER_TICKET = 40;
const TARGET_WRITES_PER_MINUTE = 80;
const HOURLY_BUDGET = 5_000;

const { values } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    tickets: { type: "string", default: "20" },
    parallel: { type: "string", default: "4" },
    record: { type: "string" },
    timeout: { type: "string", default: "600" },
    "no-refine": { type: "boolean", default: false },
  },
  allowPositionals: false,
});

/** A deterministic task list: a few roots, each later ticket depends on one or two earlier ones. */
export function benchTickets(count: number): TicketSeed[] {
  const tickets: TicketSeed[] = [];
  for (let i = 0; i < count; i++) {
    const deps = i < 4 ? [] : i % 3 === 0 ? [i - 4, i - 3] : [i - 4];
    tickets.push({
      key: `t${i + 1}`,
      title: `Feature number ${i + 1}`,
      estimate: 1 + (i % 3),
      dependsOn: deps.map((d) => `t${d + 1}`),
    });
  }
  return tickets;
}

/** GET /repos/o/r/issues/12/comments?per_page=100 → GET /repos/{owner}/{repo}/issues/{n}/comments. */
export function routeOf(r: Pick<RecordedRequest, "method" | "url" | "body">): string {
  const path = r.url
    .split("?")[0]!
    .replace(/^https?:\/\/[^/]+/, "")
    .replace(/^\/api\/v3/, "");
  if (path.endsWith("/graphql")) {
    const query = String((r.body as { query?: string } | undefined)?.query ?? "");
    // The operation's name, or its first field when anonymous.
    const named = /^\s*(query|mutation)\s+(\w+)/.exec(query);
    const field = /^\s*(query|mutation)?[^{]*\{\s*(\w+)/.exec(query);
    return `GRAPHQL ${named?.[1] ?? field?.[1] ?? "query"} ${named?.[2] ?? field?.[2] ?? "?"}`;
  }
  const route = path
    .replace(/^\/repos\/[^/]+\/[^/]+/, "/repos/{owner}/{repo}")
    .replace(/\/contents\/.*$/, "/contents/{path}")
    .replace(/\/branches\/.*$/, "/branches/{branch}")
    .replace(/\/git\/(refs?|matching-refs)\/.*$/, "/git/$1/{ref}")
    .replace(/\/commits\/[^/]+/, "/commits/{ref}")
    .replace(/\/(labels)\/[^/]+$/, "/$1/{name}")
    .replace(/\/(collaborators)\/[^/]+/, "/$1/{user}")
    .replace(/\/workflows\/[^/]+/, "/workflows/{workflow}")
    .replace(/\/\d+(?=\/|$)/g, "/{id}");
  return `${r.method} ${route}`;
}

async function play(
  sb: Sandbox,
  tickets: TicketSeed[],
  deadline: number,
): Promise<{ ok: boolean; reason: string; runs: RunState[] }> {
  const tracking = sb.human.openIssue({
    title: "Bench milestone",
    body: trackingBody(tickets),
    by: "octocat",
  });
  sb.human.label(tracking.number, "trellis:batch");
  const merging = new Set<number>();
  for (;;) {
    const repo = sb.repo();
    const runs = (await listRuns(sb.app.deps.db, { repo: { owner: repo.owner, name: repo.name } })).map(
      (r) => r.state,
    );
    for (const pr of repo.issues.values()) {
      if (!pr.pull || pr.state !== "open" || merging.has(pr.number)) continue;
      merging.add(pr.number);
      sb.human.merge(pr.number).catch(() => merging.delete(pr.number));
    }
    const failed = runs.find((r) => r.status === "failed" || r.status === "aborted");
    if (failed)
      return { ok: false, reason: `#${failed.issue} ${failed.status}: ${failed.reason ?? "?"}`, runs };
    const mine = runs.filter((r) => r.batch === tracking.number);
    const finished = [...repo.comments.values()].some(
      (c) => c.issueNumber === tracking.number && /Batch finished/i.test(c.body),
    );
    if (mine.length === tickets.length && mine.every((r) => r.status === "succeeded") && finished)
      return { ok: true, reason: "every ticket done", runs };
    if (Date.now() > deadline) {
      const done = mine.filter((r) => r.status === "succeeded").length;
      return { ok: false, reason: `timed out with ${done}/${tickets.length} tickets done`, runs };
    }
    await new Promise((r) => setTimeout(r, 400));
  }
}

const count = Number(values.tickets);
const parallel = Number(values.parallel);
const started = Date.now();
const sb = await startSandbox({
  repos: [{ name: "tiny-shop", files: repoFiles({ parallel, board: true, refine: !values["no-refine"] }) }],
  ...(values.record ? { recordFile: values.record } : {}),
});
let outcome: { ok: boolean; reason: string; runs: RunState[] };
try {
  outcome = await play(sb, benchTickets(count), started + Number(values.timeout) * 1000);
} catch (error) {
  outcome = { ok: false, reason: `crashed: ${(error as Error).stack ?? String(error)}`, runs: [] };
}
// Let the last effects (board, final comment edits) land before counting.
await new Promise((r) => setTimeout(r, 1500));
const wallMs = Date.now() - started;
const requests = [...sb.requests];
await sb.stop();

const api = apiFigures(requests);
const ours = requests.filter(
  (r) => r.by === "app" || r.by === "installation" || r.by === "user:github-actions[bot]",
);
const kinds = new Map<string, number>();
for (const r of ours) kinds.set(routeOf(r), (kinds.get(routeOf(r)) ?? 0) + 1);
const total = api.app + api.action;
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const perTicket = total / count;
// Extrapolation: the batch's fixed cost (set-up of the board, the tracking issue) is included in the per-ticket
// figure, so a 100-ticket batch is estimated as 100 × per-ticket — an upper bound, since the fixed part does not grow.
const hundred = Math.round(perTicket * 100);
const report = {
  ok: outcome.ok,
  reason: outcome.reason,
  tickets: count,
  parallel,
  refine: !values["no-refine"],
  wallSeconds: round(wallMs / 1000),
  requests: {
    total,
    perTicket: round(perTicket),
    app: api.app,
    action: api.action,
    rest: api.rest,
    graphql: api.graphql,
    reads: api.reads,
    writes: api.writes,
    perTicketBy: {
      app: round(api.app / count),
      action: round(api.action / count),
      rest: round(api.rest / count),
      graphql: round(api.graphql / count),
      reads: round(api.reads / count),
      writes: round(api.writes / count),
    },
  },
  topKinds: [...kinds]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([kind, n]) => ({ kind, count: n, perTicket: round(n / count, 2) })),
  maxWritesPerMinute: api.maxWritesPerMinute,
  secondaryRateLimitHits: api.rateLimited,
  errors: [...new Set(api.errors)],
  budget100: {
    requests: hundred,
    shareOfHourly: round(hundred / HOURLY_BUDGET, 3),
    method: `${round(perTicket)} requests per ticket (all requests of this ${count}-ticket batch, fixed costs included, divided by ${count}) × 100, against ${HOURLY_BUDGET}/hour`,
  },
  targets: {
    perTicket: perTicket <= TARGET_PER_TICKET,
    writesPerMinute: api.maxWritesPerMinute <= TARGET_WRITES_PER_MINUTE,
    rateLimit: api.rateLimited === 0,
  },
};
const pass = report.ok && Object.values(report.targets).every(Boolean);

if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else {
  const lines = [
    `API economy: ${count}-ticket batch, parallel ${parallel}, board on, refinement ${report.refine ? "on" : "off"} — ${report.ok ? "completed" : "FAILED"} (${report.reason}) in ${report.wallSeconds}s`,
    `Requests ${total} = ${round(perTicket)} per ticket (target ≤ ${TARGET_PER_TICKET}): App ${api.app}, Action ${api.action}; REST ${api.rest}, GraphQL ${api.graphql}; reads ${api.reads}, writes ${api.writes}`,
    `Content-creating requests: at most ${api.maxWritesPerMinute} in a minute (target ≤ ${TARGET_WRITES_PER_MINUTE}); secondary-rate-limit hits ${api.rateLimited}`,
    `A 100-ticket batch: ~${hundred} requests, ${round(report.budget100.shareOfHourly * 100)} % of the installation's ${HOURLY_BUDGET}/hour`,
    "Top request kinds:",
    ...report.topKinds.map(
      (k) => `  ${String(k.count).padStart(5)}  ${k.perTicket.toFixed(2).padStart(6)}/ticket  ${k.kind}`,
    ),
    ...(report.errors.length ? ["4xx/5xx answers:", ...report.errors.map((e) => `  ${e}`)] : []),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
process.exit(pass ? 0 : 1);
