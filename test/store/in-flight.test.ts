import { describe, expect, it } from "vitest";
import { inFlightAttemptsByProfile } from "../../src/store/attempts.js";
import { completeEffect, claimEffects, enqueueEffects } from "../../src/store/outbox.js";
import { insertRun } from "../../src/store/runs.js";
import { engineCases, useDb } from "../support/engines.js";
import { attempt, runState, stage } from "./fixtures.js";

describe.each(engineCases({ withPgliteProcess: true }))(
  "attempts in flight on '$title'",
  ({ engine, skip }) => {
    const getDb = useDb(engine, skip);

    it.skipIf(skip)(
      "counts attempts GitHub was asked to run, not those still waiting for a slot",
      async () => {
        const db = getDb();
        const run = runState("r1", {
          stages: {
            a: stage("a", "dev", { status: "queued", attempts: [attempt("att-sent", { profile: "dev" })] }),
            b: stage("b", "dev", {
              status: "queued",
              attempts: [attempt("att-waiting", { profile: "dev" })],
            }),
            c: stage("c", "dev", {
              status: "running",
              attempts: [attempt("att-running", { profile: "dev", startedAt: 1 })],
            }),
          },
        });
        await insertRun(db, run);
        await enqueueEffects(db, "run:r1", [
          { key: "dispatch:att-sent", type: "dispatch", payload: {} },
          { key: "dispatch:att-waiting", type: "dispatch", payload: {} },
        ]);
        const [sent] = await claimEffects(db, { workerId: "w", limit: 1, leaseMs: 60_000, now: new Date() });
        await completeEffect(db, sent!.id);
        expect(await inFlightAttemptsByProfile(db)).toEqual({ dev: 2 });
      },
    );

    it.skipIf(skip)(
      "counts one installation's attempts: another installation's running agents take none of its slots",
      async () => {
        const db = getDb();
        const running = (id: string) =>
          runState(id, {
            stages: {
              a: stage("a", "dev", {
                status: "running",
                attempts: [attempt(`att-${id}`, { profile: "dev", startedAt: 1 })],
              }),
            },
          });
        await insertRun(db, running("ours"), { installationId: 1 });
        await insertRun(db, running("theirs"), { installationId: 2 });
        await insertRun(db, running("unknown"));
        // A run stored before runs knew their installation counts for every installation: the safe side.
        expect(await inFlightAttemptsByProfile(db, 1)).toEqual({ dev: 2 });
        expect(await inFlightAttemptsByProfile(db, 3)).toEqual({ dev: 1 });
        expect(await inFlightAttemptsByProfile(db)).toEqual({ dev: 3 });
      },
    );
  },
);
