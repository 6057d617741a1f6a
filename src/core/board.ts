/**
 * The Projects (v2) board as Trellis's kanban, decided purely: which fields the project needs (and
 * what is missing), what a run's card should show, what changed since the last write, whether a
 * write would move a card backwards, and what a human's move on the board asks of Trellis.
 * The shell (src/app/board.ts) reads and writes GitHub; this module only decides.
 */
import type { TrellisConfig } from "./config.js";
import type { Definitions } from "./definitions.js";
import type { BoardColumn, RunEvent, RunState } from "./model.js";
import { outsiderText, type IssueAuthor } from "./outsiders.js";
import { resolveWorkflow, type Decision } from "./triggers.js";
import { boardColumn, currentStage, isTerminal } from "./workflow/machine.js";

export type BoardConfig = TrellisConfig["board"];
type ColumnKey = keyof BoardConfig["columns"];

const COLUMN_KEYS: Record<BoardColumn, ColumnKey> = {
  Backlog: "backlog",
  Ready: "ready",
  "In progress": "in_progress",
  "Needs human": "needs_human",
  "In review": "in_review",
  Done: "done",
  Failed: "failed",
};

export const BOARD_COLUMNS = Object.keys(COLUMN_KEYS) as BoardColumn[];

/** The configured name of a column (the Status option's name). */
export function columnName(config: BoardConfig, column: BoardColumn): string {
  return config.columns[COLUMN_KEYS[column]];
}

/** The column a Status option stands for; names compare case-insensitively ("In Progress" is ours). */
export function columnOf(config: BoardConfig, optionName: string): BoardColumn | undefined {
  const wanted = normal(optionName);
  return BOARD_COLUMNS.find((c) => normal(columnName(config, c)) === wanted);
}

const normal = (s: string): string => s.trim().toLowerCase();

// ---------------------------------------------------------------------------------------------
// Fields

export const FIELD_NAMES = {
  status: "Status",
  stage: "Stage",
  agent: "Agent",
  cost: "Cost",
  batch: "Batch",
  iteration: "Iteration",
} as const;

export type CardField = "status" | "stage" | "agent" | "cost" | "batch" | "iteration";

export type FieldDataType = "SINGLE_SELECT" | "TEXT" | "NUMBER" | "ITERATION" | "DATE";

export interface SelectOption {
  id: string;
  name: string;
  color?: string;
  description?: string;
}

export interface Iteration {
  id: string;
  /** YYYY-MM-DD */
  startDate: string;
  /** Days. */
  duration: number;
}

/** A project field as read from GitHub (only what Trellis needs). */
export interface ProjectField {
  id: string;
  name: string;
  dataType: string;
  options?: SelectOption[];
  iterations?: Iteration[];
}

export type OptionColor = "BLUE" | "GRAY" | "GREEN" | "ORANGE" | "PINK" | "PURPLE" | "RED" | "YELLOW";

export interface OptionInput {
  name: string;
  color: OptionColor;
  description: string;
}

export type FieldChange =
  | { op: "create"; field: CardField; name: string; dataType: FieldDataType; options?: OptionInput[] }
  /**
   * Replaces the option list (GitHub has no "add option"): existing options first, unchanged, then
   * `added`. GitHub gives every option a new id and clears every card's value of the field, so the
   * shell reads the values first and puts them back by name (`restoreWrites`).
   */
  | {
      op: "update";
      field: CardField;
      fieldId: string;
      /** The field's name on the board (as the project spells it). */
      name: string;
      options: OptionInput[];
      /** The names of the options Trellis adds. */
      added: string[];
    };

export interface FieldPlan {
  changes: FieldChange[];
  /** Fields that exist with another type: Trellis leaves them alone and does not write them. */
  conflicts: string[];
}

const COLUMN_COLORS: Record<BoardColumn, OptionColor> = {
  Backlog: "GRAY",
  Ready: "BLUE",
  "In progress": "YELLOW",
  "Needs human": "ORANGE",
  "In review": "PURPLE",
  Done: "GREEN",
  Failed: "RED",
};

const COLUMN_DESCRIPTIONS: Record<BoardColumn, string> = {
  Backlog: "Not started; moving a card here holds its run",
  Ready: "Moving a card here starts (or resumes) its workflow",
  "In progress": "An agent is working on it",
  "Needs human": "Waiting for a human (an answer, a budget, a decision)",
  "In review": "Waiting for an approval or a merge",
  Done: "Finished; moving a card here ends its run",
  Failed: "Failed or aborted; moving a card here ends its run",
};

/** What must be created or updated so that the project has Trellis's fields; nothing when all exist. */
export function planFields(
  existing: readonly ProjectField[],
  wanted: { config: BoardConfig; agents: readonly string[] },
): FieldPlan {
  const changes: FieldChange[] = [];
  const conflicts: string[] = [];
  const find = (name: string): ProjectField | undefined =>
    existing.find((f) => normal(f.name) === normal(name));

  const select = (field: CardField, want: OptionInput[]): void => {
    const name = FIELD_NAMES[field as keyof typeof FIELD_NAMES];
    const f = find(name);
    if (!f) {
      changes.push({ op: "create", field, name, dataType: "SINGLE_SELECT", options: want });
      return;
    }
    if (f.dataType !== "SINGLE_SELECT") {
      conflicts.push(`${f.name} is a ${f.dataType} field, not a single select`);
      return;
    }
    const have = f.options ?? [];
    const missing = want.filter((w) => !have.some((o) => normal(o.name) === normal(w.name)));
    if (missing.length === 0) return;
    const kept: OptionInput[] = have.map((o) => ({
      name: o.name,
      color: (o.color as OptionColor | undefined) ?? "GRAY",
      description: o.description ?? "",
    }));
    changes.push({
      op: "update",
      field,
      fieldId: f.id,
      name: f.name,
      options: [...kept, ...missing],
      added: missing.map((m) => m.name),
    });
  };
  const plain = (field: CardField, dataType: FieldDataType): void => {
    const name = FIELD_NAMES[field as keyof typeof FIELD_NAMES];
    const f = find(name);
    if (!f) changes.push({ op: "create", field, name, dataType });
    else if (f.dataType !== dataType) conflicts.push(`${f.name} is a ${f.dataType} field, not ${dataType}`);
  };

  select(
    "status",
    BOARD_COLUMNS.map((c) => ({
      name: columnName(wanted.config, c),
      color: COLUMN_COLORS[c],
      description: COLUMN_DESCRIPTIONS[c],
    })),
  );
  plain("stage", "TEXT");
  select(
    "agent",
    [...new Set(wanted.agents)].map((a) => ({ name: a, color: "GRAY", description: `Trellis profile ${a}` })),
  );
  plain("cost", "NUMBER");
  plain("batch", "TEXT");
  return { changes, conflicts };
}

/** A card's value of a single-select field, by option name (read before the field's options are replaced). */
export interface SelectValue {
  itemId: string;
  fieldId: string;
  optionName: string;
}

/**
 * Most cards whose values Trellis reads and writes back when it adds options to an existing field:
 * beyond it, replacing the options would cost too many requests, so Trellis leaves the field alone
 * and asks for the options to be added by hand (`handAddedOptions`).
 */
export const MAX_RESTORED_ITEMS = 2_000;

/**
 * The writes that put every card's value back after the options were replaced: each value's option,
 * found by name among the field's new options. Values whose option no longer exists are left cleared.
 */
export function restoreWrites(
  before: readonly SelectValue[],
  fields: readonly ProjectField[],
): { itemId: string; writes: { fieldId: string; value: FieldValueInput }[] }[] {
  const byItem = new Map<string, { fieldId: string; value: FieldValueInput }[]>();
  for (const v of before) {
    const option = fields
      .find((f) => f.id === v.fieldId)
      ?.options?.find((o) => normal(o.name) === normal(v.optionName));
    if (!option) continue;
    const writes = byItem.get(v.itemId) ?? [];
    writes.push({ fieldId: v.fieldId, value: { singleSelectOptionId: option.id } });
    byItem.set(v.itemId, writes);
  }
  return [...byItem].map(([itemId, writes]) => ({ itemId, writes }));
}

/** What to ask a human to add by hand when Trellis does not replace a field's options itself. */
export function handAddedOptions(changes: readonly FieldChange[]): string {
  return changes
    .flatMap((c) => (c.op === "update" ? [`${c.name}: ${c.added.map((a) => `"${a}"`).join(", ")}`] : []))
    .join("; ");
}

// ---------------------------------------------------------------------------------------------
// Owners

/**
 * Why a board owned by a user can never work: GitHub Apps can only reach organization projects
 * (https://docs.github.com/en/issues/planning-and-tracking-with-projects/automating-your-project/automating-projects-using-actions:
 * a GitHub App is for organization projects, a personal access token for user projects) and GitHub
 * sends `projects_v2_item` only for organization projects
 * (https://docs.github.com/en/webhooks/webhook-events-and-payloads#projects_v2_item).
 */
export function userOwnedBoardMessage(owner: string, configured: boolean): string {
  const who = configured
    ? `\`board.owner\` is \`${owner}\``
    : `\`board.owner\` is empty, so the board's owner is the repository's owner \`${owner}\``;
  return (
    `Trellis can't use this board: ${who}, a personal account. GitHub Apps can only reach Projects owned by an ` +
    `organization, and GitHub sends project events only for organization projects, so a user's project can ` +
    `never be kept up to date or steer runs. Use a project owned by an organization (set \`board.owner\` to ` +
    `that organization and \`board.number\` to the project's number, or \`create: true\`), or set ` +
    `\`board.enabled: false\`. Runs go on without the board.`
  );
}

/** The repository's owner from a git remote URL on GitHub (https or ssh), if it is one. */
export function ownerFromRemote(url: string): string | undefined {
  const m = /github\.com[:/]([A-Za-z0-9-]+)\/[^/\s]+?(?:\.git)?\/?$/.exec(url.trim());
  return m?.[1];
}

/** The board's owner login: `board.owner`, else the repository's owner (when known). */
export function boardOwner(config: BoardConfig, repoOwner: string | undefined): string | undefined {
  return config.owner || repoOwner;
}

/** The ids a transition needs, read once and cached. */
export interface BoardLayout {
  projectId: string;
  fields: Partial<Record<CardField, { id: string; options?: Record<string, string> }>>;
  /** The project's iterations when it uses an `Iteration` field (sprints). */
  iterations?: Iteration[];
}

export function layoutOf(projectId: string, fields: readonly ProjectField[]): BoardLayout {
  const layout: BoardLayout = { projectId, fields: {} };
  const types: Record<CardField, string> = {
    status: "SINGLE_SELECT",
    stage: "TEXT",
    agent: "SINGLE_SELECT",
    cost: "NUMBER",
    batch: "TEXT",
    iteration: "ITERATION",
  };
  for (const key of Object.keys(types) as CardField[]) {
    const f = fields.find((x) => normal(x.name) === normal(FIELD_NAMES[key]) && x.dataType === types[key]);
    if (!f) continue;
    layout.fields[key] = {
      id: f.id,
      ...(f.options ? { options: Object.fromEntries(f.options.map((o) => [normal(o.name), o.id])) } : {}),
    };
    if (key === "iteration" && f.iterations) layout.iterations = f.iterations;
  }
  return layout;
}

/** Whether the layout lacks something `planFields` would create (the cache is stale or incomplete). */
export function layoutMisses(layout: BoardLayout, card: Card, config: BoardConfig): boolean {
  const { status, agent } = layout.fields;
  if (!status || !layout.fields.stage || !layout.fields.cost || !layout.fields.batch || !agent) return true;
  if (status.options?.[normal(columnName(config, card.status))] === undefined) return true;
  return card.agent !== null && agent.options?.[normal(card.agent)] === undefined;
}

// ---------------------------------------------------------------------------------------------
// Cards

/** What a card shows, in Trellis's terms (ids are looked up in the layout when writing). */
export interface Card {
  status: BoardColumn;
  stage: string | null;
  agent: string | null;
  /** USD, rounded to cents. */
  cost: number;
  batch: string | null;
}

/**
 * The card of a run now. `pinned` is the column a human moved the card to when Trellis acted on it
 * (Backlog → held, Done/Failed → ended): the card stays where the human put it while that holds.
 */
export function desiredCard(run: RunState, pinned?: BoardColumn): Card {
  const current = isTerminal(run) ? undefined : currentStage(run);
  let status = boardColumn(run);
  if (pinned === "Backlog" && run.status === "held") status = "Backlog";
  if ((pinned === "Done" || pinned === "Failed") && run.status === "aborted") status = pinned;
  return {
    status,
    stage: current?.id ?? null,
    agent: current?.profile ?? null,
    cost: Math.round(run.costUsd * 100) / 100,
    batch: run.batch !== undefined ? `#${run.batch}` : null,
  };
}

/** A value for `updateProjectV2ItemFieldValue` (GitHub's ProjectV2FieldValue), or null to clear. */
export type FieldValueInput =
  { singleSelectOptionId: string } | { text: string } | { number: number } | { iterationId: string };

export interface FieldWrite {
  field: CardField;
  fieldId: string;
  value: FieldValueInput | null;
}

/** What was last written to an item, in Trellis's terms, so unchanged fields are not written again. */
export type WrittenCard = Partial<Record<CardField, string | number | null>>;

/**
 * The writes that bring an item from `last` to `card`: only changed fields, and only fields the
 * project has. `iteration` is set once, when the item has none yet and a sprint is current.
 */
export function diffCard(
  layout: BoardLayout,
  config: BoardConfig,
  card: Card,
  last: WrittenCard,
  options: { now?: number } = {},
): { writes: FieldWrite[]; written: WrittenCard } {
  const writes: FieldWrite[] = [];
  const written: WrittenCard = { ...last };
  const put = (field: CardField, logical: string | number | null, value: FieldValueInput | null): void => {
    const f = layout.fields[field];
    if (!f) return;
    if (field in last && last[field] === logical) return;
    writes.push({ field, fieldId: f.id, value });
    written[field] = logical;
  };
  const option = (field: CardField, name: string | null): void => {
    if (name === null) return put(field, null, null);
    const id = layout.fields[field]?.options?.[normal(name)];
    if (id !== undefined) put(field, name, { singleSelectOptionId: id });
  };
  const text = (field: CardField, value: string | null): void =>
    put(field, value, value === null || value === "" ? null : { text: value });

  option("status", columnName(config, card.status));
  text("stage", card.stage);
  option("agent", card.agent);
  put("cost", card.cost, { number: card.cost });
  text("batch", card.batch);
  if (options.now !== undefined && layout.iterations && !("iteration" in last)) {
    const it = currentIteration(layout.iterations, options.now);
    if (it) put("iteration", it.id, { iterationId: it.id });
  }
  return { writes, written };
}

const DAY_MS = 86_400_000;

/** The iteration (sprint) running at `now`, if any. */
export function currentIteration(iterations: readonly Iteration[], now: number): Iteration | undefined {
  return iterations.find((it) => {
    const start = Date.parse(`${it.startDate}T00:00:00Z`);
    return Number.isFinite(start) && start <= now && now < start + it.duration * DAY_MS;
  });
}

// ---------------------------------------------------------------------------------------------
// Ordering: a late effect never moves a card backwards.

/** Which state of which run an item last showed. */
export interface WriteMark {
  runId: string;
  runCreatedAt: number;
  updatedAt: number;
  seq: number;
}

export const markOf = (run: RunState): WriteMark => ({
  runId: run.id,
  runCreatedAt: run.createdAt,
  updatedAt: run.updatedAt,
  seq: run.seq ?? 0,
});

/**
 * Whether `run` is older than what the item already shows: an earlier state of the same run, or an
 * older run on an issue that has a newer one.
 */
export function isOlder(run: WriteMark, last: WriteMark | undefined): boolean {
  if (!last) return false;
  if (run.runId !== last.runId)
    return (
      run.runCreatedAt < last.runCreatedAt ||
      (run.runCreatedAt === last.runCreatedAt && run.runId < last.runId)
    );
  return run.seq < last.seq || (run.seq === last.seq && run.updatedAt < last.updatedAt);
}

// ---------------------------------------------------------------------------------------------
// Board-driven control

export interface BoardMove {
  /** The column the card was moved to (undefined: an option that is not one of Trellis's). */
  column: BoardColumn | undefined;
  /** The option's name as shown on the board. */
  optionName: string;
  issue: number;
  issueTitle: string;
  isPullRequest: boolean;
  actor: string;
  /** The actor may steer Trellis (role in `roles`). */
  allowed: boolean;
  /** The issue's author, read for a move that may start a run (undefined: not known, counted as an outsider). */
  issueAuthor?: IssueAuthor;
}

export interface BoardMoveOutcome {
  decisions: Decision[];
  /** The column to keep the card in while the run's new status holds (see `desiredCard`). */
  pin?: BoardColumn;
  /** A run whose card Trellis should put back where it belongs (the move changed nothing). */
  resync?: string;
}

/**
 * What a human's move on the board asks: Ready starts the default workflow (or resumes a held run),
 * Backlog holds, Done/Failed end the run. Every move is audited; moves that change nothing are
 * answered with a reply and the card goes back to where the run is.
 */
export function decideBoardMove(
  move: BoardMove,
  runs: readonly RunState[],
  defs: Definitions,
  at: number,
): BoardMoveOutcome {
  const { issue, actor } = move;
  const running = runs.findLast((r) => !isTerminal(r));
  const audit: Decision = {
    kind: "audit",
    action: "board_move",
    detail: { issue, to: move.optionName, column: move.column ?? null, run: running?.id ?? null },
  };
  const resync = running ? { resync: running.id } : {};
  const noEffect = (why: string): BoardMoveOutcome => ({
    decisions: [
      audit,
      { kind: "reply", issue, body: `@${actor} moved this card to **${move.optionName}**: ${why}` },
    ],
    ...resync,
  });
  if (move.isPullRequest) return { decisions: [audit], ...resync };
  if (!move.allowed)
    return noEffect(
      `only people with the ${defs.config.roles.join(", ")} role on this repository can steer Trellis, so nothing changed.`,
    );
  const event = (e: RunEvent): Decision => ({ kind: "run_event", runId: running!.id, event: e });
  const onBoard = `moved to ${move.optionName} on the board`;
  switch (move.column) {
    case "Ready": {
      if (running?.status === "held") return { decisions: [audit, event({ type: "unhold", at, actor })] };
      if (running) return { decisions: [audit], resync: running.id }; // under way: the card follows the run
      const workflow = resolveWorkflow(defs.config.default_workflow, defs);
      if (typeof workflow === "string")
        return { decisions: [audit, { kind: "reply", issue, body: `Trellis can't start: ${workflow}.` }] };
      const why = outsiderText(defs.config.prompt, [{ number: issue, author: move.issueAuthor }]);
      return {
        decisions: [
          audit,
          {
            kind: "start_run",
            issue,
            issueTitle: move.issueTitle,
            workflow,
            ...(why !== undefined ? { outsiderText: why } : {}),
          },
        ],
      };
    }
    case "Backlog":
      if (!running) return { decisions: [audit] };
      if (running.status === "held") return { decisions: [audit], pin: "Backlog" };
      return { decisions: [audit, event({ type: "hold", at, actor, reason: onBoard })], pin: "Backlog" };
    case "Done":
    case "Failed":
      if (!running) return { decisions: [audit] };
      return {
        decisions: [audit, event({ type: "abort", at, actor, reason: onBoard })],
        pin: move.column,
      };
    default:
      if (!running) return { decisions: [audit] };
      return noEffect(
        `Trellis moves cards to ${move.column ? `**${move.optionName}**` : "its columns"} itself; ` +
          `use Ready (start or resume), Backlog (hold), or Done/Failed (end). The card is back where the run is.`,
      );
  }
}
