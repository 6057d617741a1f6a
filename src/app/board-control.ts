/**
 * Board-driven control: a human moving a card (`projects_v2_item.edited` on Trellis's board) becomes decisions
 * (src/core/board.ts) applied in the repository's transaction like any other event.
 */
import { columnName, columnOf, decideBoardMove, desiredCard, type BoardMove } from "../core/board.js";
import type { Definitions } from "../core/definitions.js";
import { fromAutomation, isAllowed } from "../core/triggers.js";
import type { ProjectsV2ItemEditedEvent } from "../handlers/events.js";
import { statusOf, type GitHub } from "../github/client.js";
import { getIssue } from "../github/issues.js";
import { readItem } from "../github/projects.js";
import type { IssueAuthor } from "../core/outsiders.js";
import { findBoardItem, findBoardProjectById, recordHumanMove, saveBoardItem } from "../store/board.js";
import { completeEffect } from "../store/outbox.js";
import { findRunsByIssue } from "../store/runs.js";
import { repoAggregate, runAggregate } from "./aggregates.js";
import { boardRef } from "./board.js";
import { definitionsOf } from "./definitions.js";
import { applyDecision } from "./decisions.js";
import { repoName, type AppDeps, type Target } from "./runtime.js";
import { enqueue, runCommand, type ClaimedRow } from "./unit-of-work.js";

/** Processes a `projects_v2_item_edited` event row: a card moved on the board. */
export async function processBoardEvent(
  deps: AppDeps,
  claimed: ClaimedRow,
  event: ProjectsV2ItemEditedEvent,
): Promise<void> {
  const { row, workerId } = claimed;
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
  // Ready may start a run: its issue's author decides whether the App must ask before committing (core/outsiders.ts).
  const author =
    column === "Ready" && allowed && !content.isPr
      ? await issueAuthor(octokit, content.repo, content.number)
      : undefined;
  const actor = event.actor.login;
  await runCommand(
    deps,
    repoAggregate(content.repo),
    async (uow) => {
      const { tx, pending } = uow;
      const runs = (await findRunsByIssue(tx, content.repo, content.number)).map((r) => r.state).reverse();
      const move: BoardMove = {
        column,
        optionName,
        issue: content.number,
        issueTitle: content.title ?? runs[runs.length - 1]?.issueTitle ?? `#${content.number}`,
        isPullRequest: content.isPr,
        actor,
        allowed,
        ...(author ? { issueAuthor: author } : {}),
      };
      const outcome = decideBoardMove(move, runs, defs, deps.now());
      for (const d of outcome.decisions) await applyDecision(uow, { target, defs, actor }, d);
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
    },
    claimed,
  );
}

/** Who opened an issue, or undefined when it is gone (then counted as an outsider's). */
async function issueAuthor(
  octokit: GitHub,
  repo: { owner: string; name: string },
  number: number,
): Promise<IssueAuthor | undefined> {
  try {
    return (await getIssue(octokit, repo, number)).author;
  } catch (error) {
    if (statusOf(error) === 404 || statusOf(error) === 410) return undefined;
    throw error;
  }
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
