/**
 * The Projects (v2) board, imperatively: the `board` effect executor and board-driven control.
 *
 * Executor: renders the run's CURRENT state (not the effect's snapshot) onto its issue's card and its
 * pull requests' cards, writes only the fields that changed since the last write, in ONE GraphQL
 * request, and never writes an older state over a newer one. Project, field, option and item ids are
 * cached in memory and in the database: a steady-state transition costs one request.
 *
 * Control: a human moving a card (`projects_v2_item.edited` on Trellis's board) becomes decisions
 * (src/core/board.ts) applied in the repository's transaction like any other event.
 */
import type { ProjectsV2ItemEditedEvent } from "../handlers/events.js";
import {
  columnName,
  columnOf,
  decideBoardMove,
  desiredCard,
  diffCard,
  handAddedOptions,
  isOlder,
  layoutMisses,
  layoutOf,
  markOf,
  MAX_RESTORED_ITEMS,
  planFields,
  restoreWrites,
  userOwnedBoardMessage,
  type BoardConfig,
  type BoardMove,
  type FieldPlan,
  type ProjectField,
  type SelectValue,
} from "../core/board.js";
import type { Definitions } from "../core/definitions.js";
import type { RunState } from "../core/model.js";
import { fromAutomation, isAllowed } from "../core/triggers.js";
import type { GitHub } from "../github/client.js";
import { upsertMarkedComment } from "../github/comments.js";
import { marker } from "../core/markers.js";
import {
  addItems,
  applyFieldChanges,
  contentIds,
  type ContentRef,
  createProject,
  readItem,
  readOwnerProject,
  readSelectValues,
  writeItems,
  type ItemWrites,
  type ProjectInfo,
} from "../github/projects.js";
import {
  findBoardItem,
  findBoardProject,
  findBoardProjectById,
  getBoardItems,
  recordBoardWrite,
  recordHumanMove,
  saveBoardItem,
  saveBoardProject,
  type BoardItem,
  type BoardProject,
} from "../store/board.js";
import { lockAggregate } from "../store/locks.js";
import { completeEffect, type OutboxRow } from "../store/outbox.js";
import { findRunsByIssue, getRun } from "../store/runs.js";
import { applyDecision, definitionsOf, enqueue, flush, newPending } from "./process.js";
import { repoName, runAggregate, type AppDeps, type Target } from "./runtime.js";

// ---------------------------------------------------------------------------------------------
// Projects and their fields, cached per installation + owner + number (or created title).

const projects = new Map<string, Promise<BoardProject | undefined>>();

/**
 * Boards that can never work (a user's project), by board key, with why: no request is sent for them
 * again in this process, and the reason is reported once.
 */
const unusable = new Map<string, { owner: string; why: string; reported: boolean }>();

/** Projects whose options Trellis left alone (too many cards), so the warning is not repeated. */
const leftAlone = new Set<string>();

export function forgetBoards(): void {
  projects.clear();
  unusable.clear();
  leftAlone.clear();
}

interface BoardRef {
  installationId: number;
  owner: string;
  number: number;
  title: string;
}

function boardRef(target: Target, board: BoardConfig): BoardRef {
  return {
    installationId: target.installationId ?? 0,
    owner: (board.owner || target.repo.owner).toLowerCase(),
    number: board.number,
    title: board.title,
  };
}

const refKey = (r: BoardRef): string => `${r.installationId}:${r.owner}:${r.number || `title:${r.title}`}`;

/**
 * The board a repository's config names, with Trellis's fields in place: from memory, else the
 * database, else GitHub (one query, a creation when configured, one mutation for missing fields).
 * Undefined (and a warning) when the config names a project that cannot be found.
 */
export function ensureBoard(
  deps: AppDeps,
  octokit: GitHub,
  target: Target,
  defs: Definitions,
  options: { refresh?: boolean } = {},
): Promise<BoardProject | undefined> {
  const ref = boardRef(target, defs.config.board);
  const key = refKey(ref);
  if (unusable.has(key)) return Promise.resolve(undefined);
  const hit = projects.get(key);
  if (hit && !options.refresh) return hit;
  const value = (async () => {
    const stored = await findBoardProject(deps.db, ref);
    if (stored && !options.refresh) return stored;
    return setUpBoard(deps, octokit, ref, defs, stored);
  })();
  projects.set(key, value);
  value.then(
    (p) => (p ? undefined : projects.delete(key)),
    () => projects.delete(key),
  );
  return value;
}

async function setUpBoard(
  deps: AppDeps,
  octokit: GitHub,
  ref: BoardRef,
  defs: Definitions,
  known: BoardProject | undefined,
): Promise<BoardProject | undefined> {
  const board = defs.config.board;
  const number = known?.number ?? ref.number;
  const read = await readOwnerProject(octokit, ref.owner, number);
  if (read.owner.type !== "Organization") {
    const why = userOwnedBoardMessage(ref.owner, board.owner !== "");
    unusable.set(refKey(ref), { owner: ref.owner, why, reported: false });
    deps.log.warn({ owner: ref.owner, type: read.owner.type }, `board: ${why}`);
    return undefined;
  }
  let project: ProjectInfo | undefined = read.project;
  let created = known?.createdByTrellis ?? false;
  if (!project) {
    if (!board.create || number > 0) {
      deps.log.warn(
        { owner: ref.owner, number },
        number > 0
          ? "board: the configured project was not found (or the App cannot see it); nothing is written"
          : "board: no project number configured and board.create is false; nothing is written",
      );
      return undefined;
    }
    project = await createProject(octokit, read.owner.id, board.title);
    created = true;
    deps.log.info({ owner: ref.owner, number: project.number }, "board: created the project");
  }
  const plan = planFields(project.fields, { config: board, agents: [...defs.profiles.keys()] });
  if (plan.conflicts.length > 0)
    deps.log.warn({ conflicts: plan.conflicts }, "board: fields with unexpected types are left alone");
  const changed = await applyFieldPlan(deps, octokit, project.id, plan);
  const fields = mergeFields(project.fields, changed);
  const stored: BoardProject = {
    installationId: ref.installationId,
    owner: ref.owner,
    number: project.number,
    title: project.title,
    projectId: project.id,
    url: project.url,
    createdByTrellis: created,
    layout: layoutOf(project.id, fields),
  };
  await saveBoardProject(deps.db, stored);
  return stored;
}

/** Cards written back per request after options were replaced (up to two writes each: Status, Agent). */
const RESTORES_PER_REQUEST = 50;

/**
 * Creates and updates Trellis's fields without losing a card's value. Replacing a single select's
 * options (the only way to add one) gives every option a new id and clears every card's value of
 * the field, so the values are read first (100 cards a request) and written back by name (one
 * request per 50 cards). A project with more cards than MAX_RESTORED_ITEMS keeps its options: a
 * warning names the ones to add by hand, and cards are not moved to the missing columns.
 */
export async function applyFieldPlan(
  deps: Pick<AppDeps, "log">,
  octokit: GitHub,
  projectId: string,
  plan: FieldPlan,
): Promise<ProjectField[]> {
  let changes = plan.changes;
  const updates = changes.filter((c) => c.op === "update");
  let before: SelectValue[] = [];
  if (updates.length > 0) {
    const fields = updates.map((u) => ({ id: u.fieldId, name: u.name }));
    const read = leftAlone.has(projectId)
      ? undefined
      : await readSelectValues(octokit, projectId, fields, MAX_RESTORED_ITEMS);
    if (read) before = read;
    else {
      if (!leftAlone.has(projectId))
        deps.log.warn(
          { projectId, add: handAddedOptions(updates) },
          `board: the project has more than ${MAX_RESTORED_ITEMS} cards; adding options through GitHub's API ` +
            "would clear every card's value of the field, so Trellis leaves it alone. Add these options by hand: " +
            handAddedOptions(updates),
        );
      leftAlone.add(projectId);
      changes = changes.filter((c) => c.op !== "update");
    }
  }
  const changed = await applyFieldChanges(octokit, projectId, changes);
  const restores = restoreWrites(before, changed);
  for (let i = 0; i < restores.length; i += RESTORES_PER_REQUEST)
    await writeItems(octokit, projectId, restores.slice(i, i + RESTORES_PER_REQUEST));
  if (restores.length > 0)
    deps.log.info({ projectId, cards: restores.length }, "board: options added; the cards' values were kept");
  return changed;
}

function mergeFields(fields: readonly ProjectField[], changed: readonly ProjectField[]): ProjectField[] {
  const out = fields.filter((f) => !changed.some((c) => c.id === f.id));
  return [...out, ...changed];
}

// ---------------------------------------------------------------------------------------------
// The executor

/** Carries out a `board` effect: the run's current state onto its cards. */
export async function executeBoardEffect(deps: AppDeps, octokit: GitHub, target: Target): Promise<void> {
  if (!target.runId) return;
  const defs = await definitionsOf(deps, target);
  const board = defs.config.board;
  if (!board.enabled) return;
  const run = (await getRun(deps.db, target.runId))?.state;
  if (!run) return;
  let project = await ensureBoard(deps, octokit, target, defs);
  if (!project) return reportUnusable(deps, octokit, target, run, board);

  const numbers = [
    run.issue,
    ...new Set(
      Object.values(run.stages)
        .map((s) => s.prNumber)
        .filter((n): n is number => n !== undefined),
    ),
  ];
  const items = await ensureItems(deps, octokit, project, run, numbers);
  const pinned = items.get(run.issue)?.pinned;
  const card = desiredCard(run, pinned);
  if (layoutMisses(project.layout, card, board)) {
    // A new profile or a renamed option since the fields were cached: read and fix them once.
    project = (await ensureBoard(deps, octokit, target, defs, { refresh: true })) ?? project;
  }

  const mark = markOf(run);
  const batch: (ItemWrites & { item: BoardItem; written: BoardItem["written"] })[] = [];
  for (const item of items.values()) {
    if (isOlder(mark, item.mark)) continue; // a newer state (or a newer run) is already shown
    const { writes, written } = diffCard(project.layout, board, card, item.written, { now: deps.now() });
    batch.push({ item, itemId: item.itemId, writes, written });
  }
  if (batch.length === 0) return;
  await writeItems(octokit, project.projectId, batch);
  // The pin only holds while the run stays where the human's move put it.
  const pin = pinned !== undefined && card.status !== pinned ? null : undefined;
  for (const b of batch)
    await recordBoardWrite(
      deps.db,
      project.projectId,
      run.repo,
      b.item.number,
      b.written,
      mark,
      b.item.number === run.issue ? pin : undefined,
    );
}

/** Tells the run's issue, once per process and board, why its board can never work. */
async function reportUnusable(
  deps: AppDeps,
  octokit: GitHub,
  target: Target,
  run: RunState,
  board: BoardConfig,
): Promise<void> {
  const bad = unusable.get(refKey(boardRef(target, board)));
  if (!bad || bad.reported) return;
  bad.reported = true; // before the request, so concurrent effects do not report it too
  try {
    await upsertMarkedComment(
      octokit,
      run.repo,
      run.issue,
      marker("board-owner", bad.owner.replace(/[^A-Za-z0-9_.-]/g, "_")),
      bad.why,
      { login: deps.self.slug ? `${deps.self.slug}[bot]` : undefined, appId: deps.self.id },
    );
  } catch (error) {
    bad.reported = false; // the effect is retried
    throw error;
  }
}

// GraphQL node ids of issues and PRs the App has already seen (it created them, or a webhook carried
// them), so that adding their cards needs no lookup. Per App, bounded; a miss is looked up as before.
const MAX_KNOWN_CONTENTS = 10_000;
const knownContents = new WeakMap<AppDeps, Map<string, ContentRef>>();

/** Remembers an issue's or PR's node id for its card. */
export function rememberContent(
  deps: AppDeps,
  repo: { owner: string; name: string },
  number: number,
  content: ContentRef,
): void {
  let known = knownContents.get(deps);
  if (!known) knownContents.set(deps, (known = new Map()));
  const key = `${repoName(repo)}#${number}`;
  known.delete(key);
  known.set(key, content);
  if (known.size > MAX_KNOWN_CONTENTS) known.delete(known.keys().next().value ?? key);
}

/** The items of these issues/PRs on the board, adding the missing ones (two requests for all of them). */
async function ensureItems(
  deps: AppDeps,
  octokit: GitHub,
  project: BoardProject,
  run: RunState,
  numbers: readonly number[],
): Promise<Map<number, BoardItem>> {
  const repo = repoName(run.repo);
  const items = await getBoardItems(deps.db, project.projectId, repo, numbers);
  const missing = numbers.filter((n) => !items.has(n));
  if (missing.length === 0) return items;
  const known = knownContents.get(deps);
  const contents = new Map<number, ContentRef>();
  for (const n of missing) {
    const content = known?.get(`${repo}#${n}`);
    if (content) contents.set(n, content);
  }
  const unknown = missing.filter((n) => !contents.has(n));
  for (const [n, content] of await contentIds(octokit, run.repo, unknown)) contents.set(n, content);
  const added = await addItems(
    octokit,
    project.projectId,
    [...contents.values()].map((c) => c.id),
  );
  for (const [number, content] of contents) {
    const itemId = added.get(content.id);
    if (!itemId) continue;
    const item = {
      projectId: project.projectId,
      repo,
      number,
      kind: content.kind,
      contentId: content.id,
      itemId,
    };
    await saveBoardItem(deps.db, item);
    items.set(number, { ...item, written: {} });
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// Board-driven control

/** Processes a `projects_v2_item_edited` event row: a card moved on the board. */
export async function processBoardEvent(
  deps: AppDeps,
  row: OutboxRow,
  workerId: string,
  event: ProjectsV2ItemEditedEvent,
): Promise<void> {
  const done = (): Promise<void> => completeEffect(deps.db, row.id, { workerId }).then(() => undefined);
  // Trellis's own writes come back as edits by its bot: never act on them.
  if (fromAutomation(event)) return done();
  const change = event.changes.find((c) => c.fieldType === "single_select");
  if (!change) return done();
  const project = await findBoardProjectById(deps.db, event.item.projectNodeId);
  const statusField = project?.layout.fields.status;
  if (!project || !statusField || change.fieldNodeId !== statusField.id) return done();

  const octokit = await deps.github(event.installationId);
  const known = await findBoardItem(deps.db, project.projectId, event.item.nodeId);
  let optionName = optionFromChange(change.to, statusField.options);
  let content:
    { repo: { owner: string; name: string }; number: number; title?: string; isPr: boolean } | undefined =
    known && {
      repo: splitRepo(known.repo),
      number: known.number,
      isPr: known.kind === "pull_request",
    };
  if (!content || optionName === undefined) {
    const item = await readItem(octokit, event.item.nodeId, "Status");
    if (!item?.content) return done(); // a draft issue, or the card is gone
    optionName = item.status?.name ?? "";
    content = {
      repo: item.content.repo,
      number: item.content.number,
      title: item.content.title,
      isPr: item.content.kind === "pull_request",
    };
    if (!known)
      await saveBoardItem(deps.db, {
        projectId: project.projectId,
        repo: repoName(item.content.repo),
        number: item.content.number,
        kind: item.content.kind,
        contentId: item.content.id,
        itemId: event.item.nodeId,
      });
  }

  const target: Target = { installationId: event.installationId, repo: content.repo, issue: content.number };
  let defs: Definitions;
  try {
    defs = await definitionsOf(deps, target);
  } catch (error) {
    deps.log.warn({ err: String(error), repo: repoName(content.repo) }, "board move ignored: invalid config");
    return done();
  }
  // Only the board this repository's config names steers its issues.
  const board = defs.config.board;
  const ref = boardRef(target, board);
  const ours =
    board.enabled &&
    ref.installationId === project.installationId &&
    ref.owner === project.owner &&
    (ref.number > 0
      ? ref.number === project.number
      : project.createdByTrellis && ref.title === project.title);
  if (!ours) return done();

  const column = columnOf(board, optionName);
  const role = await deps.permissions(octokit, content.repo, event.actor.login);
  const allowed = isAllowed(role === "none" ? undefined : role, defs.config.roles);
  const actor = event.actor.login;
  await deps.db.transaction(async (tx) => {
    await lockAggregate(tx, `repo:${repoName(content.repo)}`);
    const runs = (await findRunsByIssue(tx, content.repo, content.number)).map((r) => r.state).reverse();
    const move: BoardMove = {
      column,
      optionName,
      issue: content.number,
      issueTitle: content.title ?? runs[runs.length - 1]?.issueTitle ?? `#${content.number}`,
      isPullRequest: content.isPr,
      actor,
      allowed,
    };
    const outcome = decideBoardMove(move, runs, defs, deps.now());
    const pending = newPending(deps.now());
    for (const d of outcome.decisions) await applyDecision(deps, tx, pending, target, defs, d, actor);
    // What the card shows now, in Trellis's terms, so the next sync rewrites Status where needed.
    await recordHumanMove(
      tx,
      project.projectId,
      event.item.nodeId,
      column ? columnName(board, column) : optionName,
      outcome.pin,
    );
    const resync = outcome.resync && runs.find((r) => r.id === outcome.resync);
    if (resync) {
      // The executor renders the run as stored when it runs; this snapshot is only informative.
      const card = desiredCard(resync);
      enqueue(
        pending,
        runAggregate(resync.id),
        { ...target, runId: resync.id },
        {
          type: "board",
          key: `board:${resync.id}:move:${event.deliveryId}`,
          column: card.status,
          costUsd: card.cost,
        },
      );
    }
    await flush(tx, pending);
    await completeEffect(tx, row.id, { workerId });
  });
  deps.wake();
}

/** The option name from the webhook's `changes.field_value.to` (newer payloads carry it). */
function optionFromChange(to: unknown, options: Record<string, string> | undefined): string | undefined {
  if (typeof to !== "object" || to === null) return undefined;
  const t = to as { id?: unknown; name?: unknown };
  if (typeof t.name === "string") return t.name;
  if (typeof t.id === "string" && options) {
    const hit = Object.entries(options).find(([, id]) => id === t.id);
    if (hit) return hit[0];
  }
  return undefined;
}

function splitRepo(full: string): { owner: string; name: string } {
  const i = full.indexOf("/");
  return { owner: full.slice(0, i), name: full.slice(i + 1) };
}
