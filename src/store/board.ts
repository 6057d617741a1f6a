/**
 * The Projects (v2) board's cached node ids (project, fields, options, items) and, per item, what
 * was last written and from which run state: steady-state transitions then cost one GraphQL request,
 * unchanged fields are not written again, and a late effect never moves a card backwards.
 */
import type { BoardLayout, WriteMark, WrittenCard } from "../core/board.js";
import type { BoardColumn } from "../core/model.js";
import type { Db } from "./db.js";
import type { RepoRef } from "../core/repo.js";
import { repoKey } from "./runs.js";

export interface BoardProject {
  installationId: number;
  /** The owner's login, lower-cased. */
  owner: string;
  number: number;
  title: string;
  projectId: string;
  url: string;
  createdByTrellis: boolean;
  layout: BoardLayout;
}

interface ProjectRow {
  installation_id: number;
  owner: string;
  number: number;
  title: string;
  project_id: string;
  url: string;
  created_by_trellis: boolean;
  layout: BoardLayout;
}

const toProject = (r: ProjectRow): BoardProject => ({
  installationId: Number(r.installation_id),
  owner: r.owner,
  number: r.number,
  title: r.title,
  projectId: r.project_id,
  url: r.url,
  createdByTrellis: r.created_by_trellis,
  layout: r.layout,
});

/**
 * The board a repository's config names: by number, or (number 0) the one Trellis created with
 * that title for this owner.
 */
export async function findBoardProject(
  db: Db,
  where: { installationId: number; owner: string; number: number; title: string },
): Promise<BoardProject | undefined> {
  const r =
    where.number > 0
      ? await db.query<ProjectRow>(
          "SELECT * FROM board_projects WHERE installation_id = $1 AND owner = $2 AND number = $3",
          [where.installationId, where.owner.toLowerCase(), where.number],
        )
      : await db.query<ProjectRow>(
          `SELECT * FROM board_projects WHERE installation_id = $1 AND owner = $2 AND title = $3
              AND created_by_trellis ORDER BY number LIMIT 1`,
          [where.installationId, where.owner.toLowerCase(), where.title],
        );
  const row = r.rows[0];
  return row ? toProject(row) : undefined;
}

export async function findBoardProjectById(db: Db, projectId: string): Promise<BoardProject | undefined> {
  const r = await db.query<ProjectRow>("SELECT * FROM board_projects WHERE project_id = $1", [projectId]);
  const row = r.rows[0];
  return row ? toProject(row) : undefined;
}

export async function saveBoardProject(db: Db, p: BoardProject): Promise<void> {
  await db.query(
    `INSERT INTO board_projects
       (installation_id, owner, number, title, project_id, url, created_by_trellis, layout)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (installation_id, owner, number) DO UPDATE SET
       title = EXCLUDED.title, project_id = EXCLUDED.project_id, url = EXCLUDED.url,
       created_by_trellis = board_projects.created_by_trellis OR EXCLUDED.created_by_trellis,
       layout = EXCLUDED.layout, updated_at = now()`,
    [
      p.installationId,
      p.owner.toLowerCase(),
      p.number,
      p.title,
      p.projectId,
      p.url,
      p.createdByTrellis,
      JSON.stringify(p.layout),
    ],
  );
}

// ---------------------------------------------------------------------------------------------

export type ItemKind = "issue" | "pull_request";

export interface BoardItem {
  projectId: string;
  repo: string;
  number: number;
  kind: ItemKind;
  contentId: string;
  itemId: string;
  written: WrittenCard;
  mark?: WriteMark;
  pinned?: BoardColumn;
}

interface ItemRow {
  project_id: string;
  repo: string;
  number: number;
  kind: ItemKind;
  content_id: string;
  item_id: string;
  written: WrittenCard;
  mark: WriteMark | null;
  pinned: string | null;
}

const toItem = (r: ItemRow): BoardItem => ({
  projectId: r.project_id,
  repo: r.repo,
  number: r.number,
  kind: r.kind,
  contentId: r.content_id,
  itemId: r.item_id,
  written: r.written,
  ...(r.mark ? { mark: r.mark } : {}),
  ...(r.pinned ? { pinned: r.pinned as BoardColumn } : {}),
});

export async function getBoardItems(
  db: Db,
  projectId: string,
  repo: RepoRef | string,
  numbers: readonly number[],
): Promise<Map<number, BoardItem>> {
  if (numbers.length === 0) return new Map();
  const r = await db.query<ItemRow>(
    "SELECT * FROM board_items WHERE project_id = $1 AND repo = $2 AND number = ANY($3::integer[])",
    [projectId, repoKey(repo), [...numbers]],
  );
  return new Map(r.rows.map((row) => [row.number, toItem(row)]));
}

export async function findBoardItem(
  db: Db,
  projectId: string,
  itemId: string,
): Promise<BoardItem | undefined> {
  const r = await db.query<ItemRow>("SELECT * FROM board_items WHERE project_id = $1 AND item_id = $2", [
    projectId,
    itemId,
  ]);
  const row = r.rows[0];
  return row ? toItem(row) : undefined;
}

/** Records an item's ids (keeps what was written to it when the item is already known). */
export async function saveBoardItem(
  db: Db,
  item: Pick<BoardItem, "projectId" | "repo" | "number" | "kind" | "contentId" | "itemId">,
): Promise<void> {
  await db.query(
    `INSERT INTO board_items (project_id, repo, number, kind, content_id, item_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (project_id, repo, number) DO UPDATE SET
       kind = EXCLUDED.kind, content_id = EXCLUDED.content_id, item_id = EXCLUDED.item_id,
       -- Another item id means the card was removed and added again: nothing is known about it.
       written = CASE WHEN board_items.item_id = EXCLUDED.item_id THEN board_items.written ELSE '{}' END,
       updated_at = now()`,
    [item.projectId, item.repo, item.number, item.kind, item.contentId, item.itemId],
  );
}

/** After a write: what the item now shows and from which run state. */
export async function recordBoardWrite(
  db: Db,
  projectId: string,
  repo: RepoRef | string,
  number: number,
  written: WrittenCard,
  mark: WriteMark,
  pinned: BoardColumn | null | undefined,
): Promise<void> {
  await db.query(
    `UPDATE board_items SET written = $4, mark = $5,
            pinned = CASE WHEN $6::boolean THEN $7 ELSE pinned END, updated_at = now()
      WHERE project_id = $1 AND repo = $2 AND number = $3`,
    [
      projectId,
      repoKey(repo),
      number,
      JSON.stringify(written),
      JSON.stringify(mark),
      pinned !== undefined,
      pinned ?? null,
    ],
  );
}

/**
 * A human moved the card: remember what it shows now (so the next sync writes Status again where
 * needed) and, when Trellis acted on the move, keep the card in that column.
 */
export async function recordHumanMove(
  db: Db,
  projectId: string,
  itemId: string,
  status: string | null,
  pinned: BoardColumn | undefined,
): Promise<void> {
  await db.query(
    `UPDATE board_items SET written = written || jsonb_build_object('status', $3::text),
            pinned = COALESCE($4, pinned), updated_at = now()
      WHERE project_id = $1 AND item_id = $2`,
    [projectId, itemId, status, pinned ?? null],
  );
}
