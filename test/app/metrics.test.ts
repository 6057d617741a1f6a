/**
 * The App's metrics registry (src/app/metrics.ts): each App counts only its own work (tests and the sandbox run
 * several in one process), the process's metrics appear in each, the store's gauges are read at scrape time, and a
 * scrape does not wait long on a database that does not answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../../src/app/metrics.js";
import { openDb, type Db } from "../../src/store/db.js";
import { pgliteTemplate } from "../support/engines.js";

describe("the App's metrics", () => {
  let db: Db;
  beforeAll(async () => {
    const template = await pgliteTemplate();
    db = await openDb({ dataDir: "memory://", ...(template ? { loadDataDir: template } : {}) });
  });
  afterAll(async () => {
    await db.close();
  });

  it("keeps each App's counts in a registry of its own, with the process's metrics in each", async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.inc("trellis_dead_letters_total", { type: "open_pr" });
    first.inc("trellis_cost_usd_total", { profile: "dev" }, 0.25);
    first.inc("trellis_cost_usd_total", { profile: "dev" }, -1); // a counter never goes down
    first.github(4242, {
      method: "GET",
      route: "/repos/{owner}/{repo}",
      status: 200,
      rateLimit: { remaining: 4999, resource: "core" },
    });
    first.github(undefined, {
      method: "GET",
      route: "/app",
      status: 200,
      rateLimit: { remaining: 12, resource: "core" },
    });
    const one = await first.render(db);
    const two = await second.render(db);
    expect(one).toMatch(/^trellis_dead_letters_total\{type="open_pr"\} 1$/m);
    expect(one).toMatch(/^trellis_cost_usd_total\{profile="dev"\} 0.25$/m);
    expect(one).toMatch(
      /^trellis_github_requests_total\{method="GET",route="\/repos\/\{owner\}\/\{repo\}",status="200"\} 1$/m,
    );
    expect(one).toMatch(/^trellis_github_rate_limit_remaining\{installation="4242",resource="core"\} 4999$/m);
    expect(one).toMatch(/^trellis_github_rate_limit_remaining\{installation="app",resource="core"\} 12$/m);
    expect(two).not.toMatch(/^trellis_dead_letters_total\{/m);
    expect(two).not.toMatch(/^trellis_github_requests_total\{/m);
    // Counters without labels start at 0; the store's outbox depth is always shown.
    expect(two).toMatch(/^trellis_duplicate_deliveries_total 0$/m);
    expect(two).toMatch(/^trellis_effects\{status="pending"\} 0$/m);
    for (const text of [one, two]) expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });

  it("reads the store's gauges at every scrape, and drops the ones gone since", async () => {
    const metrics = createMetrics();
    await db.query(
      `INSERT INTO outbox (aggregate, key, type, payload) VALUES ('a', 'k1', 'reply', 'null'), ('a', 'k2', 'reply', 'null')`,
    );
    expect(await metrics.render(db)).toMatch(/^trellis_effects\{status="pending"\} 2$/m);
    await db.query(`UPDATE outbox SET status = 'done' WHERE key = 'k1'`);
    expect(await metrics.render(db)).toMatch(/^trellis_effects\{status="pending"\} 1$/m);
    await db.query(`DELETE FROM outbox`);
  });

  it("answers without the store's gauges when the database does not answer in time", async () => {
    const metrics = createMetrics();
    const hanging: Db = { ...db, query: () => new Promise(() => {}) };
    const started = Date.now();
    const text = await metrics.render(hanging);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(text).toMatch(/^trellis_database_up 0$/m);
    expect(text).not.toMatch(/^trellis_effects\{/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });
});
