import { describe, expect, it } from "vitest";
import type { DomainEvent } from "../../src/handlers/events.js";
import { createMetrics } from "../../src/app/metrics.js";
import { ingest, ingestsSettled } from "../../src/app/process.js";
import type { AppDeps } from "../../src/app/runtime.js";
import { engineCases, useDb } from "../support/engines.js";

const event = (id: string): DomainEvent => ({
  kind: "installation",
  action: "created",
  deliveryId: id,
  installationId: 1,
  actor: { login: "octocat", type: "User", isBot: false, isSelf: false },
  account: { login: "octocat", id: 1, type: "User" },
  repos: [],
});

describe.each(engineCases())("webhooks first on $title", ({ engine, skip }) => {
  const getDb = useDb(engine, skip);

  it.skipIf(skip)(
    "the worker waits for quiet webhooks, but at most its bound under sustained load",
    async () => {
      let wakes = 0;
      const deps = { db: getDb(), metrics: createMetrics(), wake: () => wakes++ } as unknown as AppDeps;
      expect(await ingestsSettled(deps, 1_000)).toBe(true);

      // Deliveries back to back for a while: never quiet, so the wait ends at its bound. Like requests arriving over
      // sockets, a turn of the event loop between deliveries; and, like a busy App's, more deliveries arrive before the
      // earlier ones are answered (up to three outstanding), so a machine that pauses this process for a moment does
      // not open a quiet gap between two of them.
      let sending = true;
      let sent = 0;
      const load = (async () => {
        const outstanding = [ingest(deps, event(`y-${sent++}`))];
        while (sending) {
          await new Promise((resolve) => setImmediate(resolve));
          outstanding.push(ingest(deps, event(`y-${sent++}`)));
          if (outstanding.length > 2) await outstanding.shift();
        }
        await Promise.all(outstanding);
      })();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const t0 = performance.now();
      expect(await ingestsSettled(deps, 60)).toBe(false);
      const waited = performance.now() - t0;
      expect(waited).toBeGreaterThanOrEqual(55);
      expect(waited).toBeLessThan(1_000);
      sending = false;
      await load;

      // Once the deliveries stop, quiet comes within the quiet window.
      const t1 = performance.now();
      expect(await ingestsSettled(deps, 5_000, 10)).toBe(true);
      expect(performance.now() - t1).toBeLessThan(1_000);
      expect(wakes).toBe(sent);
      const rows = await deps.db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox");
      expect(rows.rows[0]?.n).toBe(sent);
    },
  );
});
