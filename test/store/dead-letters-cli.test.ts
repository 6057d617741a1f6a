/**
 * `trellis dead-letters`: what the worker gave up on, listed for an operator (text and JSON), and put back in line
 * with `--retry <id>` or `--retry-all`, on the embedded database as `npx trellis` opens it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadLettersCommand } from "../../src/store/dead-letters-cli.js";
import { openDb } from "../../src/store/db.js";
import { claimEffects, enqueueEffects, failEffect } from "../../src/store/outbox.js";
import { capture } from "../support/capture-io.js";

describe("trellis dead-letters", () => {
  let dir: string;
  let dataDir: string;
  const ids: number[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "trellis-dead-"));
    dataDir = join(dir, "db");
    const db = await openDb({ dataDir });
    try {
      const target = { installationId: 1, repo: { owner: "octo", name: "shop" }, issue: 7 };
      await enqueueEffects(db, "issue:octo/shop#7", [
        {
          key: "open_pr:1",
          type: "open_pr",
          payload: { kind: "effect", target, effect: { type: "open_pr" } },
        },
      ]);
      await enqueueEffects(db, "repo:octo/shop", [
        { key: "board:1", type: "board", payload: { kind: "effect", target: { ...target, issue: 0 } } },
      ]);
      for (const row of await claimEffects(db, {
        workerId: "w",
        limit: 5,
        leaseMs: 60_000,
        now: new Date(),
      })) {
        await failEffect(db, row.id, new Error(`GitHub refused ${row.type}`), { permanent: true });
        ids.push(row.id);
      }
    } finally {
      await db.close();
    }
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("lists them, newest first, with where, why and how many tries; JSON too", async () => {
    const text = capture();
    expect(await deadLettersCommand(["--data-dir", dataDir], text.io, {})).toBe(0);
    expect(text.out()).toMatch(
      new RegExp(`${ids[0]}  \\S+  open_pr octo/shop#7  after 1 try: GitHub refused open_pr`),
    );
    expect(text.out()).toMatch(new RegExp(`${ids[1]}  \\S+  board octo/shop  after 1 try`));
    expect(text.out()).toContain("trellis dead-letters --retry <id>");
    const json = capture();
    expect(await deadLettersCommand(["--data-dir", dataDir, "--json"], json.io, {})).toBe(0);
    expect(JSON.parse(json.out())).toMatchObject([
      { id: ids[1], type: "board", repo: "octo/shop" },
      { id: ids[0], type: "open_pr", repo: "octo/shop", issue: 7, attempts: 1 },
    ]);
  }, 60_000);

  it("puts one back in line, refuses what is not a dead letter, then the rest with --retry-all", async () => {
    const one = capture();
    expect(await deadLettersCommand(["--data-dir", dataDir, "--retry", String(ids[0])], one.io, {})).toBe(0);
    expect(one.out()).toBe(`Put back in line: ${ids[0]}\n`);
    const again = capture();
    expect(await deadLettersCommand(["--data-dir", dataDir, "--retry", String(ids[0])], again.io, {})).toBe(
      1,
    );
    expect(again.err()).toContain(`Not a dead letter on pglite ${dataDir}: ${ids[0]}`);
    expect(await deadLettersCommand(["--data-dir", dataDir, "--retry", "x"], capture().io, {})).toBe(2);
    const all = capture();
    expect(await deadLettersCommand(["--data-dir", dataDir, "--retry-all"], all.io, {})).toBe(0);
    expect(all.out()).toBe(`Put back in line: ${ids[1]}\n`);
    const db = await openDb({ dataDir });
    try {
      const rows = await db.query<{ status: string; attempts: number }>(
        "SELECT status, attempts FROM outbox",
      );
      expect(rows.rows).toEqual([
        { status: "pending", attempts: 0 },
        { status: "pending", attempts: 0 },
      ]);
    } finally {
      await db.close();
    }
    const none = capture();
    expect(await deadLettersCommand(["--data-dir", dataDir], none.io, {})).toBe(0);
    expect(none.out()).toBe(`No dead letters on pglite ${dataDir}.\n`);
  }, 60_000);
});
