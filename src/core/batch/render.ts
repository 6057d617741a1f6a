/**
 * The tracking issue's status comment for a batch (pure): a Mermaid DAG coloured by ticket state with
 * links to the ticket issues, a progress line (done / running / waiting / failed, cost, estimated time
 * left from the schedule) and the table of tickets with their stage, agent, pull request and check.
 * Ticket titles are untrusted: they pass through `inline` (table) and the Mermaid label escaping.
 */
import { formatDuration, formatUsd, inline, truncate, MAX_OUTPUT_CHARS } from "../render.js";
import { renderMermaid } from "./mermaid.js";
import type { BatchState, BatchTicket } from "./types.js";
import { batchCost, batchProgress, blockedTickets, plannerTickets } from "./views.js";
import { batchStates, planBatch, type TicketState } from "./schedule.js";

export interface BatchRenderOptions {
  /** The hidden marker the comment is found again by. */
  marker: string;
  /** Epoch ms, for the time running tickets have taken so far. */
  now: number;
}

/** Room left for the table when the DAG is drawn. */
export const MAX_DAG_CHARS = 30_000;

const STATUS_LABEL: Record<BatchState["status"], string> = {
  creating: "🛠️ Creating ticket issues",
  active: "🔄 In progress",
  succeeded: "✅ Succeeded",
  failed: "❌ Failed",
  aborted: "🛑 Aborted",
};

const STATE_LABEL: Record<TicketState, string> = {
  pending: "⚪ pending",
  ready: "🔵 ready",
  running: "🔄 running",
  done: "✅ done",
  failed: "❌ failed",
  blocked: "⛔ blocked",
};

const issueUrl = (s: BatchState, n: number): string =>
  `https://github.com/${encodeURIComponent(s.repo.owner)}/${encodeURIComponent(s.repo.name)}/issues/${n}`;

/** Each ticket's display state: running, done, failed, blocked by a failure, ready or pending. */
export function ticketStates(state: BatchState): Map<string, TicketState> {
  return batchStates(plannerTickets(state), batchProgress(state));
}

export interface RemainingEstimate {
  /** Makespan of what is left, in estimate units, under the batch's strategy and limit. */
  units: number;
  /** Milliseconds, when finished tickets tell how long an estimate unit takes here. */
  ms?: number;
}

/**
 * Time left: the schedule of the tickets not yet done (failed and blocked ones will not run), converted
 * to time by the observed pace (total duration / total estimate of finished tickets) when there is one.
 */
export function remainingEstimate(state: BatchState): RemainingEstimate {
  const blocked = blockedTickets(state);
  const settled = new Set(
    state.tickets
      .filter((t) => t.status === "done" || t.status === "failed" || blocked.has(t.key))
      .map((t) => t.key),
  );
  const tickets = plannerTickets(state).map((t) => ({ ...t, done: t.done || settled.has(t.key) }));
  let units = 0;
  if (tickets.some((t) => !t.done)) {
    try {
      units = planBatch(tickets, {
        strategy: state.strategy,
        parallel: state.parallel,
        batchSize: Math.min(state.batchSize, state.parallel),
      }).makespan;
    } catch {
      units = tickets.filter((t) => !t.done).reduce((sum, t) => sum + t.estimate, 0);
    }
  }
  let work = 0;
  let took = 0;
  for (const t of state.tickets) {
    if (t.status !== "done" || t.startedAt === undefined || t.finishedAt === undefined) continue;
    work += t.estimate;
    took += Math.max(0, t.finishedAt - t.startedAt);
  }
  return work > 0 && took > 0 ? { units, ms: Math.round((units * took) / work) } : { units };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

export function progressLine(state: BatchState): string {
  const states = ticketStates(state);
  const count = (s: TicketState) => [...states.values()].filter((x) => x === s).length;
  const waiting = count("pending") + count("ready");
  const parts = [
    `${count("done")}/${state.tickets.length} done`,
    `${count("running")} running`,
    `${waiting} waiting`,
    `${count("failed")} failed`,
  ];
  const blocked = count("blocked");
  if (blocked > 0) parts.push(`${blocked} blocked`);
  parts.push(`cost ${formatUsd(batchCost(state))}`);
  if (state.status === "active" || state.status === "creating") {
    const left = remainingEstimate(state);
    if (left.units > 0)
      parts.push(
        left.ms !== undefined
          ? `≈ ${formatDuration(left.ms)} left (${plural(left.units, "estimate unit")})`
          : `≈ ${plural(left.units, "estimate unit")} left`,
      );
  }
  return `**Progress:** ${parts.join(" · ")}`;
}

function ticketCell(state: BatchState, t: BatchTicket): string {
  const name = t.kind === "keyed" ? `\`${t.key.replace(/`/g, "")}\` ` : "";
  const title = inline(t.title || t.ref, 80);
  const link = t.issue !== undefined ? ` [#${t.issue}](${issueUrl(state, t.issue)})` : "";
  return `${name}${title}${link}`;
}

function ticketTable(state: BatchState, states: Map<string, TicketState>, now: number): string[] {
  const byKey = new Map(state.tickets.map((t) => [t.key, t]));
  const blocked = blockedTickets(state);
  const rows = [
    "| Ticket | State | Depends on | Stage | Agent | PR | Check | Time | Cost |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const t of state.tickets) {
    const s = states.get(t.key) ?? "pending";
    let label = STATE_LABEL[s];
    if (s === "blocked") {
      const by = (blocked.get(t.key) ?? []).map((k) => {
        const d = byKey.get(k);
        return d?.issue !== undefined ? `#${d.issue}` : inline(k, 30);
      });
      label += ` by ${by.join(", ")}`;
    } else if (s === "failed" && t.reason) label += `: ${inline(t.reason, 80)}`;
    else if (t.issue === undefined && t.refine?.status === "running") label = "✏️ refining";
    else if (t.issue === undefined && t.refine?.status === "waiting") label = "⏳ to refine";
    const deps =
      t.deps
        .map((k) => {
          const d = byKey.get(k);
          return d?.issue !== undefined ? `#${d.issue}` : `\`${k.replace(/`/g, "")}\``;
        })
        .join(", ") || "—";
    const time =
      t.startedAt !== undefined
        ? formatDuration((t.finishedAt ?? Math.max(now, t.startedAt)) - t.startedAt)
        : "—";
    const cost = t.costUsd + (t.refine?.costUsd ?? 0);
    const cell = (v: string | undefined) => (v ? `\`${v.replace(/[`|\r\n]/g, "")}\`` : "—");
    rows.push(
      `| ${ticketCell(state, t)} | ${label} | ${deps} | ${cell(t.stage)} | ${cell(t.agent)} | ${
        t.prNumber !== undefined ? `#${t.prNumber}` : "—"
      } | ${t.check ? inline(t.check, 40) : "—"} | ${time} | ${cost > 0 ? formatUsd(cost) : "—"} |`,
    );
  }
  return rows;
}

function nextSteps(state: BatchState): string[] {
  if (state.status === "succeeded" || state.status === "aborted") return [];
  if (state.status === "failed") return ["`/retry` on a failed ticket's issue to run it again"];
  const steps = state.held
    ? ["`/unhold` to let new tickets start"]
    : ["`/hold` to stop starting new tickets (running ones go on)"];
  steps.push(
    "`/batch [sequential|parallel|dependency-aware] [--parallel N]` to re-plan",
    "`/abort <reason>` to stop every running ticket and the batch",
    "`/status` to refresh this comment",
  );
  return steps;
}

/** The whole status comment, within GitHub's comment size limit. */
export function renderBatchStatus(state: BatchState, opts: BatchRenderOptions): string {
  const states = ticketStates(state);
  const links = new Map<string, string>();
  for (const t of state.tickets) if (t.issue !== undefined) links.set(t.key, issueUrl(state, t.issue));
  const held =
    state.held && (state.status === "active" || state.status === "creating") ? " · ⏸️ on hold" : "";
  const lines = [
    opts.marker,
    "",
    `### ${STATUS_LABEL[state.status]}${held} · Trellis batch on #${state.trackingIssue}`,
    "",
    `**${inline(state.title, 200) || "(untitled)"}** — ${plural(state.tickets.length, "ticket")}, strategy \`${state.strategy}\`, at most ${state.parallel} at once`,
  ];
  if (state.reason) lines.push("", `_${inline(state.reason, 500)}_`);
  const dag = renderMermaid(plannerTickets(state), states, links).trimEnd();
  lines.push("", progressLine(state), "");
  // A huge DAG would push the table out of the comment; the table matters more.
  if (dag.length <= MAX_DAG_CHARS) lines.push("```mermaid", dag, "```");
  else lines.push("_The dependency graph is too large to draw here; see the table._");
  lines.push("", ...ticketTable(state, states, opts.now));
  const next = nextSteps(state);
  if (next.length > 0) lines.push("", "#### What you can do next", "", ...next.map((n) => `- ${n}`));
  return truncate(lines.join("\n"), MAX_OUTPUT_CHARS);
}
