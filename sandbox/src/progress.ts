/**
 * The demo's live board: every issue Trellis works on as a card in a kanban column, with its stage and cost. On a
 * terminal the board is redrawn in place; elsewhere (CI logs) each card movement is one line.
 */
import type { RunState } from "../../src/core/model.js";
import { currentStage } from "../../src/core/workflow/machine.js";

export const COLUMNS = [
  "Backlog",
  "Ready",
  "In progress",
  "Needs human",
  "In review",
  "Done",
  "Failed",
] as const;
export type Column = (typeof COLUMNS)[number];

export interface Card {
  issue: number;
  title: string;
  column: Column;
  stage?: string;
  costUsd: number;
  pr?: number;
}

/** Where a run's card belongs, from the App's own state of it. */
export function columnOf(run: RunState): Column {
  if (run.status === "succeeded") return "Done";
  if (run.status === "failed" || run.status === "aborted") return "Failed";
  if (run.status === "held") return "Backlog";
  const stage = currentStage(run);
  if (!stage) return "Ready";
  if (stage.status === "running") return "In progress";
  if (stage.status === "queued") return stage.attempts.length > 0 ? "In progress" : "Ready";
  if (stage.status === "waiting") return stage.waitingFor === "merge" ? "In review" : "Needs human";
  if (run.status === "waiting") return "Needs human";
  return "Ready";
}

/** Cards for the runs (the latest run of an issue wins) and Backlog cards for issues without one yet. */
export function cardsFrom(runs: RunState[], backlog: { issue: number; title: string }[] = []): Card[] {
  const byIssue = new Map<number, Card>();
  for (const run of [...runs].sort((a, b) => a.createdAt - b.createdAt)) {
    const stage = currentStage(run);
    const pr = Object.values(run.stages)
      .map((s) => s.prNumber)
      .filter((n): n is number => n !== undefined)
      .at(-1);
    byIssue.set(run.issue, {
      issue: run.issue,
      title: run.issueTitle,
      column: columnOf(run),
      ...(stage ? { stage: stage.id } : {}),
      costUsd: run.costUsd,
      ...(pr !== undefined ? { pr } : {}),
    });
  }
  for (const b of backlog)
    if (!byIssue.has(b.issue)) byIssue.set(b.issue, { ...b, column: "Backlog", costUsd: 0 });
  return [...byIssue.values()].sort((a, b) => a.issue - b.issue);
}

const money = (usd: number): string => `$${usd.toFixed(4)}`;
const cut = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, Math.max(0, n - 1))}…`);

/** The board as text: one block per non-empty column (fits any terminal width). */
export function renderBoard(
  cards: Card[],
  info: { elapsedMs: number; title?: string; width?: number },
): string {
  const width = Math.max(40, Math.min(info.width ?? 100, 120));
  const total = cards.reduce((n, c) => n + c.costUsd, 0);
  const lines = [
    `${info.title ?? "Trellis sandbox"} — ${(info.elapsedMs / 1000).toFixed(1)}s — ${cards.length} cards — ${money(total)}`,
    "─".repeat(width),
  ];
  for (const column of COLUMNS) {
    const inColumn = cards.filter((c) => c.column === column);
    lines.push(`${column} (${inColumn.length})`);
    for (const c of inColumn) {
      const meta = [c.stage ? `stage ${c.stage}` : "", c.pr ? `PR #${c.pr}` : "", money(c.costUsd)]
        .filter(Boolean)
        .join(" · ");
      lines.push(`  #${c.issue} ${cut(c.title, width - meta.length - 12)}  ${meta}`);
    }
  }
  return lines.join("\n");
}

/** What changed between two snapshots, as log lines ("#3 Compute sales tax: Ready → In progress (dev)"). */
export function movements(before: Card[], after: Card[]): string[] {
  const old = new Map(before.map((c) => [c.issue, c]));
  const out: string[] = [];
  for (const c of after) {
    const o = old.get(c.issue);
    if (o && o.column === c.column && o.stage === c.stage) continue;
    const from = o ? `${o.column} → ` : "";
    out.push(
      `#${c.issue} ${c.title}: ${from}${c.column}${c.stage ? ` (${c.stage})` : ""}${c.pr ? ` PR #${c.pr}` : ""}`,
    );
  }
  return out;
}

export interface Progress {
  update(cards: Card[], elapsedMs: number): void;
  /** A line of narration (printed above the board on a terminal). */
  note(line: string, elapsedMs?: number): void;
  /** Leaves the final board on screen. */
  finish(cards: Card[], elapsedMs: number): void;
}

export function createProgress(out: NodeJS.WriteStream = process.stdout): Progress {
  const tty = out.isTTY === true;
  let previous: Card[] = [];
  let drawn = 0;
  const notes: string[] = [];
  const stamp = (ms: number): string => `[${(ms / 1000).toFixed(1).padStart(5)}s]`;
  let last = 0;
  const draw = (cards: Card[], elapsedMs: number): void => {
    const text = [...notes.slice(-6), "", renderBoard(cards, { elapsedMs, width: out.columns })].join("\n");
    // Move to the top of the previous drawing and clear below it.
    if (drawn > 0) out.write(`\x1b[${drawn}F\x1b[0J`);
    out.write(`${text}\n`);
    drawn = text.split("\n").length;
  };
  return {
    update(cards, elapsedMs) {
      last = elapsedMs;
      if (tty) draw(cards, elapsedMs);
      else for (const line of movements(previous, cards)) out.write(`${stamp(elapsedMs)} ${line}\n`);
      previous = cards;
    },
    note(line, elapsedMs) {
      if (elapsedMs !== undefined) last = elapsedMs;
      if (tty) {
        notes.push(line);
        draw(previous, last);
      } else out.write(`${stamp(last)} ${line}\n`);
    },
    finish(cards, elapsedMs) {
      if (tty) draw(cards, elapsedMs);
      else {
        for (const line of movements(previous, cards)) out.write(`${stamp(elapsedMs)} ${line}\n`);
        out.write(`${renderBoard(cards, { elapsedMs })}\n`);
      }
      previous = cards;
    },
  };
}

/** An issue's card as the Projects (v2) board shows it: its Status option, Stage text and Cost number. */
export interface BoardItem {
  issue: number;
  status?: string;
  stage?: string;
  costUsd?: number;
}

/**
 * The board is the kanban: where it has a card for an issue, its column and stage win over the App's run state
 * (which still gives the PR, the exact cost, and the cards the board has not placed yet).
 */
export function overlayBoard(cards: Card[], items: BoardItem[]): Card[] {
  const byIssue = new Map(items.map((i) => [i.issue, i]));
  return cards.map((c) => {
    const item = byIssue.get(c.issue);
    const column = COLUMNS.find((name) => name.toLowerCase() === item?.status?.toLowerCase());
    if (!item || !column) return c;
    return {
      ...c,
      column,
      ...(item.stage ? { stage: item.stage } : {}),
      // The board's Cost is rounded to cents; the run's own figure is exact.
      ...(item.costUsd !== undefined && c.costUsd === 0 ? { costUsd: item.costUsd } : {}),
    };
  });
}
