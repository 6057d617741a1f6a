/**
 * `npm start`'s HTTP servers, for real over TCP: a webhook body over GitHub's 25 MB cap is refused with 413 before
 * it is read (by its Content-Length, or by the bytes actually read when it is chunked), a signed delivery still
 * goes through, liveness and readiness answer apart, and health and metrics can sit behind a bearer token or on a
 * port of their own.
 */
import { createHmac, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startServer, type RunningServer, type StartOptions } from "../../src/app/http-server.js";
import { DEFAULT_RETENTION, MAX_WEBHOOK_BYTES, type ServeConfig } from "../../src/core/server-config.js";
import { openDb, type Db } from "../../src/store/db.js";
import { pgliteTemplate } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";

const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const SECRET = "a-test-secret-of-40-characters-000000000";
const TOKEN = "metrics-token-0123456789abcdef";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** How many body bytes the client managed to send before the answer. */
  sent: number;
}

/** One request; `body` chunks are written one by one (chunked unless `length` is given) until the server answers. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string | number>; body?: Buffer[] } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      answered = true;
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, sent }));
    });
    req.on("error", (error) => (answered ? undefined : reject(error)));
    void (async () => {
      for (const chunk of options.body ?? []) {
        if (answered || req.destroyed) break;
        sent += chunk.length;
        if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
      }
      if (!req.destroyed) req.end();
    })().catch(() => undefined);
  });
}

const webhookHeaders = (payload: string, id: string) => ({
  "content-type": "application/json",
  "x-github-event": "issues",
  "x-github-delivery": id,
  "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(payload).digest("hex")}`,
});

describe("the App's HTTP server", () => {
  useGitHubNock();
  let db: Db;
  let server: RunningServer | undefined;
  beforeAll(async () => {
    db = await openDb({ dataDir: "memory://" });
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(() => {
    nock.enableNetConnect("127.0.0.1");
    githubApi().get("/app").optionally().reply(200, { id: 123, slug: "trellis" });
    return async () => {
      await server?.close();
      server = undefined;
    };
  });

  const start = async (
    patch: Partial<ServeConfig> = {},
    maxBodyBytes?: number,
    app: StartOptions["app"] = {},
  ) => {
    const config: ServeConfig = {
      appId: 123,
      privateKey,
      secret: SECRET,
      port: 0,
      host: "127.0.0.1",
      webhookPath: "/api/github/webhooks",
      retention: DEFAULT_RETENTION,
      ...patch,
    };
    server = await startServer(config, {
      log: pino({ level: "silent" }),
      app: { ...(app.dbOptions ? {} : { db }), worker: false, ...app },
      ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
    });
    return server;
  };

  test("a body announced over GitHub's 25 MB is refused with 413 before any of it is read", async () => {
    const { url } = await start();
    const payload = JSON.stringify(examplePayload("issues", "labeled"));
    const answer = await send(`${url}/api/github/webhooks`, {
      method: "POST",
      headers: { ...webhookHeaders(payload, "big-1"), "content-length": MAX_WEBHOOK_BYTES + 1 },
      // 1 MiB chunks: the answer comes before the client could send them all.
      body: Array.from({ length: 26 }, () => Buffer.alloc(1024 * 1024, 0x20)),
    });
    expect(answer.status).toBe(413);
    expect(answer.sent).toBeLessThan(MAX_WEBHOOK_BYTES);
    expect((await db.query("SELECT * FROM inbox")).rows).toHaveLength(0);
  });

  test("a chunked body is refused with 413 as soon as the bytes read pass the cap", async () => {
    const { url } = await start({}, 64 * 1024);
    const payload = JSON.stringify(examplePayload("issues", "labeled"));
    const answer = await send(`${url}/api/github/webhooks`, {
      method: "POST",
      headers: webhookHeaders(payload, "big-2"),
      // 32 MiB offered; the server stops reading after 64 KiB (what socket buffers take meanwhile is all else sent).
      body: Array.from({ length: 32 }, () => Buffer.alloc(1024 * 1024, 0x20)),
    });
    expect(answer.status).toBe(413);
    expect(answer.sent).toBeLessThan(16 * 1024 * 1024);
    expect((await db.query("SELECT * FROM inbox")).rows).toHaveLength(0);
  });

  test("a signed delivery within the cap is accepted; a forged one is not", async () => {
    const { url } = await start({}, 64 * 1024);
    const payload = JSON.stringify(examplePayload("issues", "labeled", { label: { name: "bug" } }));
    const ok = await send(`${url}/api/github/webhooks`, {
      method: "POST",
      headers: webhookHeaders(payload, "small-1"),
      body: [Buffer.from(payload)],
    });
    expect(ok.status).toBe(200);
    const forged = await send(`${url}/api/github/webhooks`, {
      method: "POST",
      headers: { ...webhookHeaders(payload, "forged-1"), "x-hub-signature-256": `sha256=${"0".repeat(64)}` },
      body: [Buffer.from(payload)],
    });
    expect(forged.status).toBe(400);
  });

  test("a delivery the database cannot record is answered 503, not acknowledged; a slow one too, before GitHub's 10 s", async () => {
    const payload = JSON.stringify(examplePayload("issues", "labeled", { label: { name: "bug" } }));
    const down = (query: Db["query"]): Db => ({ ...db, query, urgent: { query } });
    const deliver = async (broken: Db, id: string, ingestDeadlineMs?: number) => {
      const { url } = await start({}, undefined, {
        db: broken,
        ...(ingestDeadlineMs ? { ingestDeadlineMs } : {}),
      });
      const answer = await send(`${url}/api/github/webhooks`, {
        method: "POST",
        headers: webhookHeaders(payload, id),
        body: [Buffer.from(payload)],
      });
      await server!.close();
      server = undefined;
      return answer;
    };
    const refused = await deliver(
      down(() => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"))),
      "down-1",
    );
    expect(refused.status).toBe(503);
    expect(refused.body).toContain("could not record the delivery");
    const hanging = await deliver(
      down(() => new Promise(() => {})),
      "down-2",
      300,
    );
    expect(hanging.status).toBe(503);
    expect(hanging.body).toContain("did not answer within 300 ms");
    expect((await db.query("SELECT * FROM inbox WHERE delivery_id LIKE 'down-%'")).rows).toHaveLength(0);
  });

  test("health and metrics are served next to the webhooks by default, open", async () => {
    const { url } = await start();
    expect((await send(`${url}/trellis/health`)).status).toBe(200);
    const metrics = (await send(`${url}/trellis/metrics`)).body;
    expect(metrics).toContain("# TYPE trellis_deliveries_total counter");
    // The gauges are read from the store.
    expect(metrics).toMatch(/^trellis_effects\{status="pending"\} \d+$/m);
    expect(metrics).toContain('trellis_effects{status="running"} 0');
    expect(metrics).toContain("# TYPE trellis_runs gauge");
  });

  test("with METRICS_TOKEN they answer only the bearer of that token", async () => {
    const { url } = await start({ metricsToken: TOKEN });
    for (const auth of [undefined, "Bearer wrong-token-0123456789ab", `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const answer = await send(`${url}/trellis/metrics`, { headers: auth ? { authorization: auth } : {} });
      expect(answer.status).toBe(401);
      expect(answer.body).not.toContain("trellis_");
    }
    const ok = await send(`${url}/trellis/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("trellis_");
    expect(
      (await send(`${url}/trellis/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(200);
  });

  test("with METRICS_PORT they move to that port, and the webhook port no longer serves them", async () => {
    const { url, metricsUrl } = await start({ metricsPort: 0 });
    expect(metricsUrl).toBeDefined();
    expect(metricsUrl).not.toBe(url);
    expect((await send(`${url}/trellis/metrics`)).status).toBe(404);
    expect((await send(`${url}/trellis/health`)).status).toBe(404);
    expect((await send(`${metricsUrl}/trellis/health`)).status).toBe(200);
    expect((await send(`${metricsUrl}/trellis/metrics`)).body).toContain("trellis_");
    expect((await send(`${metricsUrl}/api/github/webhooks`, { method: "POST" })).status).toBe(404);
  });

  test("liveness answers while the process does; readiness (and /trellis/health) only while the database does", async () => {
    const { url } = await start();
    expect(await send(`${url}/trellis/health/live`)).toMatchObject({ status: 200 });
    const ready = await send(`${url}/trellis/health/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: "ok", db: "pglite" });
    await server!.close();

    const refusing = (): Promise<never> => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
    const { url: downUrl } = await start({ metricsToken: TOKEN }, undefined, {
      db: { ...db, query: refusing, urgent: { query: refusing } },
    });
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await send(`${downUrl}/trellis/health/live`)).status).toBe(401); // the same token rule
    expect((await send(`${downUrl}/trellis/health/live`, { headers: auth })).status).toBe(200);
    for (const path of ["/trellis/health/ready", "/trellis/health"]) {
      const answer = await send(`${downUrl}${path}`, { headers: auth });
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({
        status: "unavailable",
        error: expect.stringContaining("ECONNREFUSED"),
      });
    }
    // Metrics are still served without the database: the process's own, and `trellis_database_up 0`.
    const metrics = await send(`${downUrl}/trellis/metrics`, { headers: auth });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^trellis_database_up 0$/m);
    expect(metrics.body).not.toMatch(/^trellis_effects\{/m);
  });

  test("metrics: prom-client's exposition with process metrics, and how long each webhook waited for its answer", async () => {
    const { url } = await start({}, 64 * 1024);
    const payload = JSON.stringify(examplePayload("issues", "labeled", { label: { name: "bug" } }));
    const delivered = await send(`${url}/api/github/webhooks`, {
      method: "POST",
      headers: webhookHeaders(payload, "timed-1"),
      body: [Buffer.from(payload)],
    });
    expect(delivered.status).toBe(200);
    const refused = await send(`${url}/api/github/webhooks`, {
      method: "POST",
      headers: { ...webhookHeaders(payload, "timed-2"), "content-length": 64 * 1024 + 1 },
      body: [Buffer.alloc(64 * 1024 + 1, 0x20)],
    });
    expect(refused.status).toBe(413);
    const metrics = await send(`${url}/trellis/metrics`);
    expect(metrics.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(metrics.body).toContain("# TYPE trellis_webhook_ack_seconds histogram");
    expect(metrics.body).toMatch(/^trellis_webhook_ack_seconds_count\{status="200"\} 1$/m);
    expect(metrics.body).toMatch(/^trellis_webhook_ack_seconds_count\{status="413"\} 1$/m);
    expect(metrics.body).toMatch(/^trellis_webhook_ack_seconds_bucket\{le="10",status="200"\} 1$/m);
    expect(metrics.body).toMatch(/^trellis_deliveries_total\{event="label_added"\} 1$/m);
    expect(metrics.body).toMatch(/^trellis_database_up 1$/m);
    // prom-client's default process metrics.
    expect(metrics.body).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(metrics.body).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(metrics.body).toContain("# TYPE nodejs_eventloop_lag_seconds gauge");
  });

  test("when the embedded database's process dies, readiness answers 503 and the App is told (npm start exits)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "trellis-ready-"));
    try {
      const template = await pgliteTemplate();
      let told: (error: Error) => void = () => undefined;
      const lost = new Promise<Error>((resolve) => (told = resolve));
      const { url } = await start({}, undefined, {
        dbOptions: { dataDir: join(dir, "db"), ...(template ? { loadDataDir: template } : {}) },
        onDatabaseLost: (error) => told(error),
      });
      expect((await send(`${url}/trellis/health/ready`)).status).toBe(200);
      const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8")
        .split(" ")
        .filter(Boolean)
        .map(Number);
      expect(children.length).toBeGreaterThan(0);
      for (const pid of children) process.kill(pid, "SIGKILL");
      expect((await lost).message).toMatch(/the embedded database process \(PGlite, .*\) exited on SIGKILL/);
      const ready = await send(`${url}/trellis/health/ready`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({
        status: "unavailable",
        error: expect.stringContaining("exited on SIGKILL"),
      });
      expect((await send(`${url}/trellis/health`)).status).toBe(503);
      expect((await send(`${url}/trellis/health/live`)).status).toBe(200);
    } finally {
      await server?.close();
      server = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
