import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockPathOf } from "../../src/store/data-dir-lock.js";
import { describeTarget, openDb } from "../../src/store/db.js";
import type { Db } from "../../src/store/db.js";
import { appliedMigrations, applyMigrations, loadMigrations } from "../../src/store/migrate.js";
import { engineCases, pgliteTemplate, useDb } from "../support/engines.js";

describe.each(engineCases({ withPgliteProcess: true }))("db on $title", ({ engine, skip }) => {
  const getDb = useDb(engine, skip);
  let db: Db;
  beforeEach(() => {
    if (!skip) db = getDb();
  });

  it.skipIf(skip)("reports its engine", () => {
    expect(db.kind).toBe(engine.name);
  });

  it.skipIf(skip)("applies every migration once at open and records it", async () => {
    const all = await loadMigrations();
    expect(all.length).toBeGreaterThan(0);
    expect(await appliedMigrations(db)).toEqual(all.map((m) => ({ version: m.version, name: m.name })));
    // Idempotent: a second pass applies nothing.
    expect(await applyMigrations(db)).toEqual([]);
  });

  it.skipIf(skip)("creates the tables the App needs", async () => {
    const r = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() ORDER BY table_name`,
    );
    expect(r.rows.map((t) => t.table_name)).toEqual(
      expect.arrayContaining([
        "installations",
        "repos",
        "runs",
        "stages",
        "batches",
        "tickets",
        "attempts",
        "costs",
        "audit_log",
        "inbox",
        "outbox",
        "schema_migrations",
      ]),
    );
    // Approvals and questions live in the run's state and the audit log (migration 004).
    expect(r.rows.map((t) => t.table_name)).not.toContain("approvals");
    expect(r.rows.map((t) => t.table_name)).not.toContain("questions");
  });

  it.skipIf(skip)("returns int8 and numeric as numbers, jsonb as values, timestamptz as Dates", async () => {
    const r = await db.query<{ i: number; n: number; j: unknown; t: Date }>(
      `SELECT 9007199254740991::int8 AS i, 12.5::numeric AS n, '{"a":[1,"x"]}'::jsonb AS j, now() AS t`,
    );
    expect(r.rows[0]).toMatchObject({ i: 9007199254740991, n: 12.5, j: { a: [1, "x"] } });
    expect(r.rows[0]?.t).toBeInstanceOf(Date);
    expect(r.rowCount).toBe(1);
  });

  it.skipIf(skip)("commits a transaction and rolls back one that throws", async () => {
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO inbox (delivery_id, event) VALUES ('kept', 'issues')");
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO inbox (delivery_id, event) VALUES ('lost', 'issues')");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    const r = await db.query<{ delivery_id: string }>("SELECT delivery_id FROM inbox ORDER BY 1");
    expect(r.rows.map((x) => x.delivery_id)).toEqual(["kept"]);
  });

  it.skipIf(skip)("turns nested transactions into savepoints", async () => {
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO inbox (delivery_id, event) VALUES ('outer', 'issues')");
      await expect(
        tx.transaction(async (inner) => {
          await inner.query("INSERT INTO inbox (delivery_id, event) VALUES ('inner', 'issues')");
          throw new Error("inner fails");
        }),
      ).rejects.toThrow("inner fails");
      await tx.transaction(async (inner) => {
        await inner.query("INSERT INTO inbox (delivery_id, event) VALUES ('inner2', 'issues')");
      });
    });
    const r = await db.query<{ delivery_id: string }>("SELECT delivery_id FROM inbox ORDER BY 1");
    expect(r.rows.map((x) => x.delivery_id)).toEqual(["inner2", "outer"]);
  });

  it.skipIf(skip)("never interleaves statements of concurrent transactions", async () => {
    // Each transaction reads a counter, yields, and writes it back +1: interleaving would lose updates
    // on PGlite (one connection); on PostgreSQL the row lock (FOR UPDATE) serialises them.
    await db.query("INSERT INTO inbox (delivery_id, event, duplicates) VALUES ('counter', 'x', 0)");
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction(async (tx) => {
          const r = await tx.query<{ duplicates: number }>(
            "SELECT duplicates FROM inbox WHERE delivery_id = 'counter' FOR UPDATE",
          );
          await new Promise((resolve) => setTimeout(resolve, 1));
          await tx.query("UPDATE inbox SET duplicates = $1 WHERE delivery_id = 'counter'", [
            (r.rows[0]?.duplicates ?? 0) + 1,
          ]);
        }),
      ),
    );
    const r = await db.query<{ duplicates: number }>(
      "SELECT duplicates FROM inbox WHERE delivery_id = 'counter'",
    );
    expect(r.rows[0]?.duplicates).toBe(20);
  });

  it.skipIf(skip)(
    "lets work started inside a transaction use the database once it has committed",
    async () => {
      let later: Promise<unknown> = Promise.resolve();
      await db.transaction(async (tx) => {
        await tx.query("INSERT INTO inbox (delivery_id, event) VALUES ('t', 'x')");
        later = new Promise((resolve) => setTimeout(resolve, 20)).then(() =>
          db.query("SELECT delivery_id FROM inbox"),
        );
      });
      expect(await later).toMatchObject({ rows: [{ delivery_id: "t" }] });
    },
  );

  it.skipIf(skip)("keeps working after a failed statement outside a transaction", async () => {
    await expect(db.query("SELECT * FROM no_such_table")).rejects.toThrow(/no_such_table/);
    expect((await db.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  // PGlite runs a statement it has seen before as a prepared statement (pglite-prepared.ts).
  it.skipIf(skip)(
    "gives a repeated statement the same answers as a new one, whatever its values",
    async () => {
      const sql = `SELECT $1::text AS s, $2::int8 AS i, $3::jsonb AS j, $4::timestamptz AS t, $5::text[] AS a,
                        $6::bool AS b`;
      const at = new Date("2026-11-21T10:00:00.000Z");
      const values = [
        ['it\'s "quoted" \\ and {braced}', 42, { nested: ["x", 1] }, at, ['a "b"', "c,d", "{e}"], true],
        [null, 9007199254740991, [1, null], at, [], false],
      ];
      for (const [s, i, j, t, a, b] of [...values, ...values]) {
        // JSON goes in as text on both engines (node-postgres would send a JS array as a PostgreSQL one).
        const rows = (await db.query(sql, [s, i, JSON.stringify(j), t, a, b])).rows;
        expect(rows).toEqual([{ s, i, j, t, a, b }]);
      }
    },
  );

  it.skipIf(skip)("runs a repeated statement again after it failed, and when its table changed", async () => {
    await db.exec("CREATE TABLE prepared_probe (id int PRIMARY KEY)");
    const insert = "INSERT INTO prepared_probe (id) VALUES ($1) RETURNING id";
    expect((await db.query(insert, [1])).rows).toEqual([{ id: 1 }]);
    await expect(db.query(insert, [1])).rejects.toMatchObject({ code: "23505" });
    expect((await db.query(insert, [2])).rowCount).toBe(1);
    const all = "SELECT * FROM prepared_probe ORDER BY id";
    expect((await db.query(all)).rows).toEqual([{ id: 1 }, { id: 2 }]);
    // PostgreSQL refuses a prepared statement whose result type changed (on PGlite, where statements are
    // prepared, that call fails once); the next call prepares it anew.
    await db.exec("ALTER TABLE prepared_probe ADD COLUMN note text DEFAULT 'n'");
    const again = await db.query(all).catch(() => db.query(all));
    expect(again.rows).toEqual([
      { id: 1, note: "n" },
      { id: 2, note: "n" },
    ]);
  });
});

describe.each(engineCases({ withPgliteProcess: true }).filter((c) => c.engine.name === "pglite"))(
  "single connection on $title",
  ({ engine }) => {
    const getDb = useDb(engine, false);

    it("fails fast, instead of hanging, when the database is used inside its own transaction", async () => {
      const db = getDb();
      await expect(
        db.transaction(async (tx) => {
          await tx.query("SELECT 1");
          await db.query("SELECT 2");
        }),
      ).rejects.toThrow(/use the transaction handle/);
      expect((await db.query("SELECT 3 AS n")).rows).toEqual([{ n: 3 }]);
    });

    it("runs urgent statements before queued work, without interrupting a running transaction", async () => {
      const db = getDb();
      const urgent = db.urgent;
      if (!urgent) throw new Error("PGlite has an urgent lane");
      const order: string[] = [];
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const tx = db.transaction(async (t) => {
        await t.query("SELECT 1");
        await held;
        order.push("transaction");
      });
      const normal = db.query("SELECT 'normal' AS lane").then(() => order.push("normal"));
      const first = urgent.query("SELECT 'urgent' AS lane").then((r) => order.push(String(r.rows[0]?.lane)));
      const failing = urgent.query("SELECT nope").catch(() => order.push("urgent error"));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(order).toEqual([]);
      release();
      await Promise.all([tx, normal, first, failing]);
      expect(order).toEqual(["transaction", "urgent", "urgent error", "normal"]);
    });
  },
);

describe.each(engineCases({ withPgliteProcess: true }).filter((c) => c.engine.name === "postgres"))(
  "migrations racing on $title",
  ({ engine, skip }) => {
    it.skipIf(skip)("apply exactly once when several processes open the database together", async () => {
      const first = await engine.open({ migrate: false });
      try {
        const others: Db[] = await Promise.all(
          Array.from({ length: 4 }, () => first.reopen({ migrate: false })),
        );
        const applied = await Promise.all([first, ...others].map((db) => applyMigrations(db)));
        const all = await loadMigrations();
        expect(
          applied
            .flat()
            .map((m) => m.version)
            .sort(),
        ).toEqual(all.map((m) => m.version));
        expect(await appliedMigrations(first)).toHaveLength(all.length);
        await Promise.all(others.map((db) => db.close()));
      } finally {
        await first.close();
      }
    });
  },
);

describe("openDb", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "trellis-db-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("uses an embedded PGlite in a data directory (creating parents) that persists across opens", async () => {
    const dataDir = join(dir, "nested", ".trellis", "db");
    const db = await openDb({ dataDir });
    expect(db.kind).toBe("pglite");
    await db.query("INSERT INTO inbox (delivery_id, event) VALUES ('d1', 'issues')");
    await db.close();
    const again = await openDb({ dataDir });
    expect((await again.query("SELECT delivery_id FROM inbox")).rows).toEqual([{ delivery_id: "d1" }]);
    expect(await applyMigrations(again)).toEqual([]);
    await again.close();
  });

  it("runs PGlite on a data directory in a process of its own: errors keep their codes, a crash fails clearly", async () => {
    const db = await openDb({ dataDir: join(dir, "db") });
    const lost: Error[] = [];
    db.onLost?.((error) => lost.push(error));
    try {
      const children = () => childProcessesOf(process.pid);
      expect(children().length).toBeGreaterThan(0); // the database's process
      await db.query("INSERT INTO inbox (delivery_id, event) VALUES ('d1', 'issues')");
      const duplicate = db.query("INSERT INTO inbox (delivery_id, event) VALUES ('d1', 'issues')");
      await expect(duplicate).rejects.toMatchObject({
        code: "23505",
        message: expect.stringMatching(/duplicate key/),
      });
      // A statement's error rolls its transaction back, in the other process too.
      await expect(
        db.transaction(async (tx) => {
          await tx.query("INSERT INTO inbox (delivery_id, event) VALUES ('d2', 'issues')");
          await tx.query("SELECT no_such_column FROM inbox");
        }),
      ).rejects.toMatchObject({ code: "42703" });
      expect((await db.query("SELECT delivery_id FROM inbox ORDER BY 1")).rows).toEqual([
        { delivery_id: "d1" },
      ]);

      expect(lost).toEqual([]);
      for (const pid of children()) process.kill(pid, "SIGKILL");
      await expect(db.query("SELECT 1")).rejects.toThrow(
        /the embedded database process \(PGlite, .*\) exited on SIGKILL/,
      );
      // The App hears of it once, so it can exit instead of limping on; a listener added later hears too.
      expect(lost.map((e) => e.message)).toEqual([expect.stringMatching(/exited on SIGKILL/)]);
      const late = await new Promise<Error>((resolve) => db.onLost!(resolve));
      expect(late.message).toMatch(/exited on SIGKILL/);
      await expect(db.close()).resolves.toBeUndefined();
    } finally {
      await db.close();
    }
  });

  it("closing normally is not losing the database", async () => {
    const db = await openDb({ dataDir: join(dir, "db"), loadDataDir: await pgliteTemplate() });
    const lost: Error[] = [];
    db.onLost?.((error) => lost.push(error));
    await db.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lost).toEqual([]);
  });

  it("locks the data directory: a second process opening it gets a clear error, until the first closes", async () => {
    const dataDir = join(dir, "db");
    const first = await openDb({ dataDir, loadDataDir: await pgliteTemplate() });
    try {
      // The lock holds the pid of the process that has the directory open: the database's own.
      const holder = Number(readFileSync(lockPathOf(dataDir), "utf8").split("\n")[0]);
      expect(childProcessesOf(process.pid)).toContain(holder);
      await expect(openDb({ dataDir })).rejects.toThrow(
        new RegExp(`is in use by process ${holder}; stop it or set DATABASE_URL`),
      );
      // PGlite in the App's own process is refused alike.
      await expect(openDb({ dataDir, pgliteProcess: false })).rejects.toThrow(/is in use by process/);
      expect((await first.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await first.close();
    }
    expect(existsSync(lockPathOf(dataDir))).toBe(false);
    const again = await openDb({ dataDir });
    await again.close();
  });

  it("locks it in the App's own process too, and a second open there is refused", async () => {
    const dataDir = join(dir, "db");
    const first = await openDb({ dataDir, pgliteProcess: false, loadDataDir: await pgliteTemplate() });
    try {
      expect(readFileSync(lockPathOf(dataDir), "utf8").split("\n")[0]).toBe(String(process.pid));
      await expect(openDb({ dataDir, pgliteProcess: false })).rejects.toThrow(
        new RegExp(`is in use by process ${process.pid};`),
      );
    } finally {
      await first.close();
    }
    expect(existsSync(lockPathOf(dataDir))).toBe(false);
  });

  it("takes over a stale lock: its process is gone, its pid is another process's now, it is this process's previous life, or it was never written", async () => {
    const dataDir = join(dir, "db");
    // A pid that existed and ended; and a live process that did not take the lock (it started later than recorded).
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!;
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      const stale = [`${gone}\n`, `${other.pid}\n1\n`, `${process.pid}\n`, ""];
      for (const content of stale) {
        await writeFile(lockPathOf(dataDir), content);
        const db = await openDb({
          dataDir,
          pgliteProcess: content !== `${process.pid}\n`,
          loadDataDir: await pgliteTemplate(),
        });
        try {
          const holder = Number(readFileSync(lockPathOf(dataDir), "utf8").split("\n")[0]);
          expect([gone, other.pid]).not.toContain(holder);
          expect((await db.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
        } finally {
          await db.close();
        }
        expect(existsSync(lockPathOf(dataDir))).toBe(false);
      }
    } finally {
      other.kill();
    }
  });

  it("runs initdb for a new data directory in a process that then ends, so the database's stays small", async () => {
    const dataDir = join(dir, "fresh");
    const db = await openDb({ dataDir });
    try {
      const [pid, ...others] = childProcessesOf(process.pid);
      expect(others).toEqual([]); // the initdb process is gone
      // initdb leaves a process at ~750 MB (its WebAssembly memory never shrinks); a database that
      // starts on an existing directory stays near 200 MB (here under tsx, which adds ~60 MB).
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const peakMb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
      expect(peakMb).toBeLessThan(450);
      expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(true);
      expect((await appliedMigrations(db)).length).toBe((await loadMigrations()).length);
    } finally {
      await db.close();
    }
  });

  it("starts from a migrated template dump, and ignores it for an existing data directory", async () => {
    const template = await pgliteTemplate();
    expect(template).toBeInstanceOf(Blob);
    const dataDir = join(dir, "from-template");
    const db = await openDb({ dataDir, loadDataDir: template });
    expect((await appliedMigrations(db)).length).toBe((await loadMigrations()).length);
    await db.query("INSERT INTO inbox (delivery_id, event) VALUES ('kept', 'x')");
    await db.close();
    const again = await openDb({ dataDir, loadDataDir: template });
    expect((await again.query("SELECT delivery_id FROM inbox")).rows).toEqual([{ delivery_id: "kept" }]);
    await again.close();
  });

  it("prefers an explicit data directory over DATABASE_URL, and describes targets without secrets", async () => {
    const db = await openDb({
      dataDir: "memory://",
      env: { DATABASE_URL: "postgres://u:secret@nowhere:1/x" },
    });
    expect(db.kind).toBe("pglite");
    await db.close();
    const target = describeTarget({ env: { DATABASE_URL: "postgres://u:secret@db.example:6543/trellis" } });
    expect(target).toBe("postgres db.example:6543/trellis");
    expect(describeTarget({ env: {} })).toBe("pglite .trellis/db");
  });

  it("rejects an unsafe schema name before connecting", async () => {
    await expect(
      openDb({ databaseUrl: "postgres://127.0.0.1:1/x", schema: "x; DROP TABLE runs" }),
    ).rejects.toThrow(/Invalid schema name/);
  });
});

/** The processes `pid` started (Linux). */
function childProcessesOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean).map(Number);
}
