/**
 * A real Probot instance running the real Trellis App on an in-memory store, for tests that deliver
 * real webhook payloads and answer GitHub with nock. The effect worker is drained by hand.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterEach, beforeEach } from "vitest";
import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { zipSync, strToU8 } from "fflate";
import { trellis, type TrellisApp } from "../../src/index.js";
import type { Db } from "../../src/store/db.js";
import { resultArtifactName, RESULT_FILE, type AgentResult } from "../../src/core/result.js";
import type { Engine } from "./engines.js";

const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

export const INSTALLATION_ID = 4242;
/** The webhook payloads' `installation`, as GitHub sends it. */
export const installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
export const APP_ID = 123;

export interface Harness {
  probot: Probot;
  app: TrellisApp;
  clock: { now: number };
  deliver(name: string, payload: object, id?: string): Promise<void>;
  drain(options?: { maxRounds?: number }): Promise<number>;
  close(): Promise<void>;
}

let deliveries = 0;

/**
 * Probot's Octokit without retries and without the throttling plugin's pacing (which spaces writes a
 * second apart for real GitHub). A function default runs last, so Probot's own throttle options
 * cannot switch it back on.
 */
const untimedOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...(options.throttle as object | undefined), enabled: false },
}));

/** `now`: where the App's clock starts (a fixed date: the database's clock must not matter). */
export async function startHarness(
  db: Db,
  { now = Date.parse("2026-11-21T10:00:00Z") } = {},
): Promise<Harness> {
  const clock = { now };
  const probot = new Probot({
    appId: APP_ID,
    privateKey,
    secret: "test-secret",
    log: pino({ level: "silent" }),
    Octokit: untimedOctokit,
  });
  const fn = trellis({ db, worker: false, now: () => clock.now });
  await probot.load(fn);
  const app = await fn.ready;
  return {
    probot,
    app,
    clock,
    async deliver(name, payload, id) {
      await probot.receive({ id: id ?? `delivery-${++deliveries}`, name, payload } as Parameters<
        Probot["receive"]
      >[0]);
    },
    drain: (options) => app.worker.drain(options),
    close: () => app.close(),
  };
}

/** The artifact zip the Action uploads, as GitHub serves it. */
export function resultZip(result: AgentResult): Buffer {
  return Buffer.from(zipSync({ [RESULT_FILE]: strToU8(JSON.stringify(result)) }));
}

export function agentResult(attemptId: string, patch: Partial<AgentResult> = {}): AgentResult {
  return {
    version: 1,
    attemptId,
    stage: "dev",
    profile: "dev",
    status: "succeeded",
    summary: "Implemented the change and added tests.",
    branch: "trellis/1-spelling-error-in-the-readme-file",
    headSha: "b".repeat(40),
    filesChanged: ["README.md"],
    criteria: [{ criterion: "tests_pass", passed: true, detail: "12 passed, 0 failed" }],
    tests: { passed: 12, failed: 0, skipped: 0, failures: [] },
    annotations: [],
    costUsd: 0.42,
    tokens: { input: 1200, output: 800, cacheRead: 0, cacheWrite: 0 },
    turns: 7,
    durationMs: 65_000,
    ...patch,
  };
}

export { resultArtifactName };

/**
 * A fresh database of `engine` for each test, and the App a test starts on it (`start`), both closed after the test.
 * Call inside a `describe` (with `useGitHubNock()` for GitHub).
 */
export function useAppHarness(engine: Engine, skip: boolean) {
  let db: Db | undefined;
  let h: Harness | undefined;
  beforeEach(async () => {
    if (!skip) db = await engine.open();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await db?.close();
    db = undefined;
  });
  return {
    db: (): Db => db!,
    start: async (options?: Parameters<typeof startHarness>[1]): Promise<Harness> =>
      (h = await startHarness(db!, options)),
  };
}
