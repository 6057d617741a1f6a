import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION, normalizePrivateKey, planStart } from "../../src/core/server-config.js";

const { privateKey: PEM } = generateKeyPairSync("rsa", {
  modulusLength: 1024,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const SECRET = "0123456789abcdef0123456789abcdef01234567";
const app = { APP_ID: "123", WEBHOOK_SECRET: SECRET };

describe("planStart", () => {
  it("runs Probot's setup flow when there is no App yet, outside production only", () => {
    expect(planStart({}, undefined)).toEqual({ kind: "setup" });
    expect(planStart({ NODE_ENV: "development" }, undefined)).toEqual({ kind: "setup" });
    const refused = planStart({ NODE_ENV: "production" }, undefined);
    expect(refused.kind).toBe("refuse");
    expect(refused.kind === "refuse" && refused.errors.join("\n")).toMatch(
      /APP_ID[\s\S]*private key[\s\S]*WEBHOOK_SECRET/,
    );
  });

  it("refuses an App without a webhook secret, or with a weak one, in any environment", () => {
    for (const NODE_ENV of ["production", "development", undefined])
      for (const WEBHOOK_SECRET of [undefined, "", "development", "short-secret"]) {
        const plan = planStart({ APP_ID: "123", NODE_ENV, WEBHOOK_SECRET }, PEM);
        expect(plan.kind, `${NODE_ENV} ${WEBHOOK_SECRET}`).toBe("refuse");
        expect(plan.kind === "refuse" && plan.errors[0]).toMatch(/WEBHOOK_SECRET is (not set|too weak)/);
      }
  });

  it("serves with a strong secret; health and metrics on PORT unless METRICS_PORT moves them", () => {
    expect(planStart({ ...app, NODE_ENV: "production" }, PEM)).toEqual({
      kind: "serve",
      config: {
        appId: 123,
        privateKey: PEM,
        secret: SECRET,
        port: 3000,
        webhookPath: "/api/github/webhooks",
        retention: DEFAULT_RETENTION,
      },
    });
    const plan = planStart(
      { ...app, PORT: "8080", METRICS_PORT: "9102", METRICS_TOKEN: "t".repeat(32) },
      PEM,
    );
    expect(plan).toMatchObject({
      kind: "serve",
      config: { port: 8080, metricsPort: 9102, metricsToken: "t".repeat(32) },
    });
    expect(planStart({ ...app, METRICS_PORT: "3000" }, PEM).kind).toBe("refuse");
    expect(planStart({ ...app, METRICS_PORT: "http" }, PEM).kind).toBe("refuse");
    expect(planStart({ ...app, METRICS_TOKEN: "abc" }, PEM).kind).toBe("refuse");
    expect(planStart({ ...app, WEBHOOK_PROXY_URL: "https://smee.io/x" }, PEM)).toMatchObject({
      kind: "proxy",
      url: "https://smee.io/x",
    });
  });

  it("keeps deliveries, effects and the audit log as long as RETENTION_* says, in days (0: forever)", () => {
    const plan = planStart({ ...app, RETENTION_OUTBOX_DAYS: "90", RETENTION_AUDIT_DAYS: "0" }, PEM);
    expect(plan).toMatchObject({ config: { retention: { inboxDays: 7, outboxDays: 90, auditDays: 0 } } });
    const refused = (env: Record<string, string>) => {
      const p = planStart({ ...app, ...env }, PEM);
      return p.kind === "refuse" ? p.errors.join("\n") : "";
    };
    expect(refused({ RETENTION_AUDIT_DAYS: "a year" })).toMatch(
      /RETENTION_AUDIT_DAYS must be a whole number/,
    );
    // Shorter than GitHub keeps deliveries redeliverable, a redelivery would be applied twice.
    expect(refused({ RETENTION_INBOX_DAYS: "2" })).toMatch(/RETENTION_INBOX_DAYS must be at least 7/);
  });
});

describe("planStart: reconciliation", () => {
  it("recovers failed deliveries every RECONCILE_EVERY_MINUTES (0: never; unset: the App's default)", () => {
    expect(planStart(app, PEM)).not.toHaveProperty("config.reconcileEveryMinutes");
    expect(planStart({ ...app, RECONCILE_EVERY_MINUTES: "0" }, PEM)).toMatchObject({
      config: { reconcileEveryMinutes: 0 },
    });
    expect(planStart({ ...app, RECONCILE_EVERY_MINUTES: "2.5" }, PEM)).toMatchObject({
      config: { reconcileEveryMinutes: 2.5 },
    });
    const refused = planStart({ ...app, RECONCILE_EVERY_MINUTES: "often" }, PEM);
    expect(refused.kind === "refuse" && refused.errors.join("\n")).toMatch(
      /RECONCILE_EVERY_MINUTES must be a number/,
    );
  });
});

describe("normalizePrivateKey", () => {
  it("accepts PEM text, with newlines escaped as in .env files, or base64-encoded", () => {
    expect(normalizePrivateKey(PEM)).toBe(PEM);
    expect(normalizePrivateKey(PEM.replace(/\n/g, "\\n"))).toBe(PEM);
    expect(normalizePrivateKey(Buffer.from(PEM).toString("base64"))).toBe(PEM);
    expect(normalizePrivateKey("not a key")).toBeUndefined();
    expect(normalizePrivateKey(undefined)).toBeUndefined();
  });
});
