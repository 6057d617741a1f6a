/**
 * The Projects (v2) board, imperatively: its set-up and the `board` effect executor (board-driven control, a human
 * moving a card, is in board-control.ts).
 *
 * Executor: renders the run's CURRENT state (not the effect's snapshot) onto its issue's card and its
 * pull requests' cards, writes only the fields that changed since the last write, in ONE GraphQL
 * request, and never writes an older state over a newer one. Project, field, option and item ids are
 * cached in memory and in the database: a steady-state transition costs one request.
 */
import {
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
  type FieldPlan,
  type ProjectField,
  type SelectValue,
} from "../core/board.js";
import type { Definitions } from "../core/definitions.js";
import type { RunState } from "../core/model.js";
import type { GitHub } from "../github/client.js";
import { upsertMarkedComment } from "../github/comments.js";
import { boardOwnerMarker } from "../core/markers.js";
import {
  addItems,
  applyFieldChanges,
  contentIds,
  type ContentRef,
  createProject,
  readOwnerProject,
  readSelectValues,
  writeItems,
  type ItemWrites,
  type ProjectInfo,
} from "../github/projects.js";
import {
  findBoardProject,
  getBoardItems,
  recordBoardWrite,
  saveBoardItem,
  saveBoardProject,
  type BoardItem,
  type BoardProject,
} from "../store/board.js";
import { getRun } from "../store/runs.js";
import { definitionsOf } from "./definitions.js";
import { repoName, selfIdentity, type AppDeps, type Target } from "./runtime.js";

// ---------------------------------------------------------------------------------------------
// Projects and their fields, cached per installation + owner + number (or created title) in the App's caches.

/** Drops what this App remembers of boards: projects, unusable boards, projects left alone. */
export function forgetBoards(deps: Pick<AppDeps, "caches">): void {
  deps.caches.boards.clear();
  deps.caches.unusableBoards.clear();
  deps.caches.leftAloneProjects.clear();
}

export interface BoardRef {
  installationId: number;
  owner: string;
  number: number;
  title: string;
}

export function boardRef(target: Target, board: BoardConfig): BoardRef {
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
  const projects = deps.caches.boards;
  if (deps.caches.unusableBoards.has(key)) return Promise.resolve(undefined);
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
    deps.caches.unusableBoards.set(refKey(ref), { owner: ref.owner, why, reported: false });
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
  deps: Pick<AppDeps, "log" | "caches">,
  octokit: GitHub,
  projectId: string,
  plan: FieldPlan,
): Promise<ProjectField[]> {
  const leftAlone = deps.caches.leftAloneProjects;
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
  const bad = deps.caches.unusableBoards.get(refKey(boardRef(target, board)));
  if (!bad || bad.reported) return;
  bad.reported = true; // before the request, so concurrent effects do not report it too
  try {
    await upsertMarkedComment(
      octokit,
      run.repo,
      run.issue,
      boardOwnerMarker(bad.owner),
      bad.why,
      selfIdentity(deps),
    );
  } catch (error) {
    bad.reported = false; // the effect is retried
    throw error;
  }
}

// GraphQL node ids of issues and PRs the App has already seen (AppCaches.knownContents), at most this many.
const MAX_KNOWN_CONTENTS = 10_000;

/** Remembers an issue's or PR's node id for its card. */
export function rememberContent(
  deps: AppDeps,
  repo: { owner: string; name: string },
  number: number,
  content: ContentRef,
): void {
  const known = deps.caches.knownContents;
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
  const known = deps.caches.knownContents;
  const contents = new Map<number, ContentRef>();
  for (const n of missing) {
    const content = known.get(`${repo}#${n}`);
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
