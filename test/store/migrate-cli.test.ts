import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDb } from "../../src/store/db.js";
import { loadMigrations } from "../../src/store/migrate.js";
import { migrateCommand } from "../../src/store/migrate-cli.js";
import { capture } from "../support/capture-io.js";
import { postgresUrl } from "../support/engines.js";

describe("trellis migrate", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "trellis-migrate-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("applies the migrations to the embedded database, then reports it up to date", async () => {
    const dataDir = join(dir, "db");
    const all = await loadMigrations();
    const status = capture();
    expect(await migrateCommand(["--data-dir", dataDir, "--status"], status.io, {})).toBe(0);
    expect(status.out()).toContain("pending  001_initial");

    const first = capture();
    expect(await migrateCommand(["--data-dir", dataDir], first.io, {})).toBe(0);
    expect(first.out()).toContain("Applied 001_initial");
    expect(first.out()).toContain(`pglite ${dataDir}: ${all.length} migration`);

    const second = capture();
    expect(await migrateCommand(["--data-dir", dataDir], second.io, {})).toBe(0);
    expect(second.out()).toBe(
      `pglite ${dataDir} is up to date (${all.length} migration${all.length === 1 ? "" : "s"}).\n`,
    );

    const after = capture();
    expect(await migrateCommand(["--data-dir", dataDir, "--status"], after.io, {})).toBe(0);
    expect(after.out()).toContain("applied  001_initial");
  });

  it("prints help and rejects unknown options", async () => {
    const help = capture();
    expect(await migrateCommand(["--help"], help.io, {})).toBe(0);
    expect(help.out()).toContain("Usage: trellis migrate");
    const bad = capture();
    expect(await migrateCommand(["--bogus"], bad.io, {})).toBe(2);
    expect(bad.err()).toMatch(/bogus/);
  });

  it("fails with a clear message, without the password, when the server is unreachable", async () => {
    const r = capture();
    const code = await migrateCommand([], r.io, {
      DATABASE_URL: "postgres://user:hunter2@127.0.0.1:1/nothing",
    });
    expect(code).toBe(1);
    expect(r.err()).toContain("postgres 127.0.0.1:1/nothing");
    expect(r.err()).not.toContain("hunter2");
  });

  it.skipIf(postgresUrl() === null)("applies the migrations to DATABASE_URL", async () => {
    const url = postgresUrl() ?? "";
    // A fresh database keeps this independent of the other test files' schemas.
    const admin = await openDb({ databaseUrl: url, migrate: false });
    const name = `migrate_${Date.now()}_${process.pid}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const target = new URL(url);
    target.pathname = `/${name}`;
    try {
      const r = capture();
      expect(await migrateCommand([], r.io, { DATABASE_URL: target.toString() })).toBe(0);
      expect(r.out()).toContain("Applied 001_initial");
      const again = capture();
      expect(await migrateCommand(["--database-url", target.toString()], again.io, {})).toBe(0);
      expect(again.out()).toContain("is up to date");
    } finally {
      await admin.query(`DROP DATABASE ${name}`);
      await admin.close();
    }
  });
});
