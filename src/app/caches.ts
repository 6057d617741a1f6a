/**
 * What one App keeps in memory between events, owned by its `AppDeps` (made in createApp, or by a test): two Apps
 * in one process (tests, the sandbox) never share a cache, and dropping the App drops them.
 */
import type { Definitions } from "../core/definitions.js";
import type { ContentRef } from "../github/projects.js";
import type { BoardProject } from "../store/board.js";

/** A repository's definitions as loaded: valid, or the errors that make them invalid. */
export type DefinitionsOutcome = { ok: true; defs: Definitions } | { ok: false; errors: string[] };

export interface AppCaches {
  /** Definitions per repository (`owner/name`), with when they were loaded (src/app/definitions.ts). */
  definitions: Map<string, { at: number; value: Promise<DefinitionsOutcome> }>;
  /** Boards (projects and their fields) per installation + owner + number or title (src/app/board.ts). */
  boards: Map<string, Promise<BoardProject | undefined>>;
  /**
   * Boards that can never work (a user's project), by board key, with why: no request is sent for them
   * again in this process, and the reason is reported once.
   */
  unusableBoards: Map<string, { owner: string; why: string; reported: boolean }>;
  /** Projects whose options Trellis left alone (too many cards), so the warning is not repeated. */
  leftAloneProjects: Set<string>;
  /**
   * GraphQL node ids of issues and PRs the App has already seen (it created them, or a webhook carried them), so
   * that adding their cards needs no lookup. Bounded; a miss is looked up as before.
   */
  knownContents: Map<string, ContentRef>;
}

export function createAppCaches(): AppCaches {
  return {
    definitions: new Map(),
    boards: new Map(),
    unusableBoards: new Map(),
    leftAloneProjects: new Set(),
    knownContents: new Map(),
  };
}
