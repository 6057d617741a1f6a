import { existsSync } from "node:fs";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { findPostgresBin, planPostgres, startTemporaryPostgres, unavailable } from "../support/postgres.js";

describe("the test PostgreSQL setup", () => {
  it("uses TEST_DATABASE_URL first, then server binaries, else reports why not", () => {
    expect(planPostgres({ TEST_DATABASE_URL: "postgres://x/y" }, "/usr/bin")).toEqual({
      kind: "url",
      url: "postgres://x/y",
    });
    expect(planPostgres({}, "/usr/lib/postgresql/15/bin")).toEqual({
      kind: "start",
      bin: "/usr/lib/postgresql/15/bin",
    });
    expect(planPostgres({}, undefined)).toMatchObject({
      kind: "unavailable",
      reason: expect.stringMatching(/initdb/),
    });
  });

  it("skips outside CI but fails on CI when PostgreSQL is unavailable", () => {
    expect(unavailable({}, "none").fatal).toBe(false);
    expect(unavailable({ CI: "false" }, "none").fatal).toBe(false);
    expect(unavailable({ CI: "true" }, "none").fatal).toBe(true);
    expect(unavailable({ CI: "1" }, "none").fatal).toBe(true);
  });

  const bin = findPostgresBin();
  it.skipIf(!bin)("starts a throw-away server that accepts connections, and removes it on stop", async () => {
    const { url, dir, stop } = await startTemporaryPostgres(bin ?? "");
    expect(existsSync(dir)).toBe(true);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const r = await client.query<{ db: string; addr: string }>(
      "SELECT current_database() AS db, inet_server_addr()::text AS addr",
    );
    await client.end();
    expect(r.rows[0]).toEqual({ db: "trellis_test", addr: "127.0.0.1/32" });
    await stop();
    const after = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    await expect(after.connect()).rejects.toThrow();
    expect(existsSync(dir)).toBe(false);
  });
});
