/**
 * Hostile: without WEBHOOK_SECRET Probot verifies signatures against the public string "development", so anyone
 * could forge a comment from an admin. The real entry (`src/server.ts`, what `npm start` runs) must refuse to start.
 */
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
// tsx's loader by path: the entry runs in an empty directory (no .env), where `--import tsx` would not resolve.
const TSX = pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 1024,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

/**
 * Runs the entry in an empty directory (no .env) and returns how it ended within `ms`; once its output shows
 * `until`, it is asked to stop (SIGTERM).
 */
async function runEntry(
  env: Record<string, string>,
  { ms = 30_000, until }: { ms?: number; until?: string } = {},
): Promise<{ code: number | null; out: string; signal?: NodeJS.Signals | null }> {
  const cwd = await mkdtemp(join(tmpdir(), "trellis-start-"));
  try {
    return await new Promise((resolveRun, reject) => {
      const child = spawn(process.execPath, ["--import", TSX, join(ROOT, "src/server.ts")], {
        cwd,
        env: {
          PATH: process.env.PATH ?? "",
          LOG_LEVEL: "fatal",
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let asked = false;
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        // Once: the entry stops on the first SIGTERM, and a second one (sent on each later log line) would kill it.
        if (until !== undefined && !asked && out.includes(until)) {
          asked = true;
          child.kill("SIGTERM");
        }
      });
      child.stderr.on("data", (c: Buffer) => (out += c.toString()));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolveRun({ code: null, out });
      }, ms);
      child.on("error", reject);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        resolveRun({ code, out, signal });
      });
    });
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

describe("npm start without a webhook secret", () => {
  test("refuses to start in production, naming WEBHOOK_SECRET", async () => {
    const { code, out } = await runEntry({ NODE_ENV: "production", APP_ID: "123", PRIVATE_KEY: privateKey });
    expect(code).toBe(1);
    expect(out).toContain("Trellis refuses to start");
    expect(out).toMatch(/WEBHOOK_SECRET is not set/);
  });

  test("starts with a strong secret (and stops cleanly)", async () => {
    const { code, out, signal } = await runEntry(
      {
        NODE_ENV: "production",
        APP_ID: "123",
        PRIVATE_KEY: privateKey.replace(/\n/g, "\\n"),
        WEBHOOK_SECRET: "0123456789abcdef0123456789abcdef01234567",
        PORT: "0",
        HOST: "127.0.0.1",
        // Nothing reaches GitHub: the App's identity lookup fails fast and is best effort.
        GHE_HOST: "127.0.0.1:9",
        GHE_PROTOCOL: "http",
        LOG_LEVEL: "info",
      },
      // Compiling the App with tsx and stopping its embedded database can take a while on a busy CI machine.
      { until: "Trellis is listening", ms: 100_000 },
    );
    expect(out).toContain("Trellis is listening");
    // Not killed by the signal (code null, signal SIGTERM): the entry listens for it before it starts.
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  }, 120_000);

  test("refuses Probot's public default secret too", async () => {
    const { code, out } = await runEntry({
      NODE_ENV: "production",
      APP_ID: "123",
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: "development",
    });
    expect(code).toBe(1);
    expect(out).toMatch(/WEBHOOK_SECRET is too weak/);
  });
});
