// The load of `npm run bench:ingest` (ingest.ts): signed deliveries of real example payloads, sent at a
// fixed concurrency over keep-alive connections, and the percentiles of their latencies.
import { createHmac, randomUUID } from "node:crypto";
import { Agent, request } from "node:http";
import { APP_ID, SECRET } from "./ingest-server.js";

const INSTALLATION_ID = 4242;
const REPOS = 16;

interface Body {
  event: string;
  body: Buffer;
  signature: string;
}

export interface Delivery {
  id: string;
  body: Body;
}

/** Real payloads (adjusted: an installation, one of several repositories), each signed once. */
export async function bodies(): Promise<Body[]> {
  const { examplePayload } = await import("../support/webhooks.js");
  const kinds: { event: string; make: (repo: Record<string, unknown>) => object }[] = [
    { event: "issues", make: (repository) => examplePayload("issues", "labeled", { repository }) },
    { event: "issues", make: (repository) => examplePayload("issues", "labeled", { repository }, 1) },
    {
      event: "issue_comment",
      make: (repository) => examplePayload("issue_comment", "created", { repository }),
    },
    {
      event: "workflow_run",
      make: (repository) => examplePayload("workflow_run", "completed", { repository }),
    },
    { event: "pull_request", make: (repository) => examplePayload("pull_request", "opened", { repository }) },
    { event: "pull_request", make: (repository) => examplePayload("pull_request", "closed", { repository }) },
  ];
  const out: Body[] = [];
  for (let r = 0; r < REPOS; r++) {
    for (const kind of kinds) {
      const repository = { name: `bench-${r}`, full_name: `Codertocat/bench-${r}` };
      const payload = {
        ...kind.make(repository),
        installation: { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" },
      };
      const body = Buffer.from(JSON.stringify(payload));
      const signature = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
      out.push({ event: kind.event, body, signature });
    }
  }
  return out;
}

/** A deterministic plan: fresh ids, and every so often the id (and body) of an earlier delivery again. */
export function plan(
  all: Body[],
  count: number,
  redeliveryShare: number,
  seed: number,
): { deliveries: Delivery[]; unique: number } {
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const deliveries: Delivery[] = [];
  const redeliveries = Math.round(count * redeliveryShare);
  const every = redeliveries > 0 ? count / redeliveries : Infinity;
  let unique = 0;
  for (let i = 0; i < count; i++) {
    const isRedelivery = deliveries.length > 0 && Math.floor((i + 1) / every) > Math.floor(i / every);
    if (isRedelivery) {
      // Mostly ids answered a while ago (as GitHub redelivers), sometimes one still in flight.
      const back = 1 + Math.floor(random() * Math.min(deliveries.length, 400));
      const original = deliveries[deliveries.length - back];
      if (original) {
        deliveries.push({ ...original });
        continue;
      }
    }
    const body = all[i % all.length];
    if (!body) throw new Error("no payloads");
    deliveries.push({ id: randomUUID(), body });
    unique++;
  }
  return { deliveries, unique };
}

export interface LoadResult {
  latenciesMs: number[];
  errors: number;
  resets: number;
  wallMs: number;
}

export async function sendAll(
  port: number,
  deliveries: Delivery[],
  concurrency: number,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latenciesMs: number[] = [];
  let errors = 0;
  let resets = 0;
  let next = 0;
  const send = (d: Delivery) =>
    new Promise<number>((resolvePromise, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/api/github/webhooks",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": d.body.body.length,
            "user-agent": "GitHub-Hookshot/bench",
            "x-github-event": d.body.event,
            "x-github-delivery": d.id,
            "x-github-hook-id": "1",
            "x-github-hook-installation-target-type": "integration",
            "x-github-hook-installation-target-id": String(APP_ID),
            "x-hub-signature-256": d.body.signature,
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolvePromise(res.statusCode ?? 0));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(d.body.body);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < deliveries.length) {
        const d = deliveries[next++];
        if (!d) break;
        const start = performance.now();
        let status = 0;
        // A keep-alive socket the server closes as a request goes out fails with ECONNRESET; like
        // GitHub, send the delivery again (the same id: the inbox makes that harmless). Counted.
        for (let attempt = 0; ; attempt++) {
          try {
            status = await send(d);
            break;
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (attempt >= 2 || (code !== "ECONNRESET" && code !== "EPIPE")) throw error;
            resets++;
          }
        }
        latenciesMs.push(performance.now() - start);
        if (status < 200 || status >= 300) errors++;
      }
    }),
  );
  const wallMs = performance.now() - t0;
  agent.destroy();
  return { latenciesMs, errors, resets, wallMs };
}

export const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
export const percentileOf = (values: number[], p: number): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    p,
  );
export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;
