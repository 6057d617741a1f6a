/**
 * GitHub on a bad day, for `npm run demo -- --chaos [--seed N]`: seeded, so a run that found a defect can be replayed.
 *
 * - API faults. About `faultRate` of the App's requests are answered, without being applied, with what GitHub answers
 *   under load or past its limits (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
 *   "Exceeding the rate limit"; https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api):
 *   a 502/503 server error; a primary rate limit, 429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`; or a
 *   secondary rate limit, 403 with `retry-after` and GitHub's message. Only the App's requests (its JWT and
 *   installation tokens) are hit: the chaos tests the App, not the Action.
 * - Deliveries. GitHub does not promise an order (https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks)
 *   and a redelivery carries the same `X-GitHub-Delivery` id
 *   (https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks): about
 *   `reorderRate` of deliveries are held back and sent after the next one, about `duplicateRate` are sent twice.
 *   About `dropRate` (default none) never reach the App: GitHub records each as a delivery that failed to connect
 *   (hook-deliveries.ts), which GitHub never retries on its own
 *   (https://docs.github.com/webhooks/using-webhooks/handling-failed-webhook-deliveries): only the App's
 *   reconciliation, redelivering failed deliveries, recovers them.
 */
import type { SandboxResponse } from "./rest/routing.js";

export interface ChaosOptions {
  seed: number;
  /** Share of the App's API requests answered with a fault (default 0.1). */
  faultRate?: number;
  /** Share of deliveries sent twice with the same delivery id (default 0.1). */
  duplicateRate?: number;
  /** Share of deliveries held back and sent after the next one (default 0.2). */
  reorderRate?: number;
  /** Share of deliveries that fail to connect, so the App never gets them (default 0: none). */
  dropRate?: number;
}

export interface ChaosCounts {
  serverErrors: number;
  rateLimits: number;
  secondaryLimits: number;
  duplicated: number;
  reordered: number;
  dropped: number;
}

export interface DeliveryPlan {
  duplicate: boolean;
  holdBack: boolean;
  /** The delivery fails to connect (and so is not sent twice either). */
  drop?: boolean;
}

export interface Chaos {
  readonly seed: number;
  readonly counts: ChaosCounts;
  /** The fault to answer instead of handling the request, if this one gets one. */
  fault(by: string, method: string, path: string): SandboxResponse | undefined;
  /** What happens to the next delivery (of this event: a chaos of one's own may pick its victims). */
  delivery(event?: { name: string; action?: string }): DeliveryPlan;
}

/** mulberry32: a small, fast, seeded generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";

export function createChaos(options: ChaosOptions): Chaos {
  const random = seededRandom(options.seed);
  const faultRate = options.faultRate ?? 0.1;
  const duplicateRate = options.duplicateRate ?? 0.1;
  const reorderRate = options.reorderRate ?? 0.2;
  const dropRate = options.dropRate ?? 0;
  const counts: ChaosCounts = {
    serverErrors: 0,
    rateLimits: 0,
    secondaryLimits: 0,
    duplicated: 0,
    reordered: 0,
    dropped: 0,
  };
  const json = (status: number, headers: Record<string, string>, body: object): SandboxResponse => ({
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body,
  });
  return {
    seed: options.seed,
    counts,
    fault(by) {
      if ((by !== "app" && by !== "installation") || random() >= faultRate) return undefined;
      const kind = random();
      if (kind < 0.5) {
        counts.serverErrors++;
        return kind < 0.25
          ? json(502, {}, { message: "Server Error" })
          : json(503, {}, { message: "Service Unavailable" });
      }
      if (kind < 0.75) {
        counts.rateLimits++;
        const reset = Math.ceil(Date.now() / 1000) + 1;
        return json(
          429,
          {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": String(reset),
            "x-ratelimit-resource": "core",
          },
          { message: "API rate limit exceeded for installation.", documentation_url: DOCS },
        );
      }
      counts.secondaryLimits++;
      return json(
        403,
        { "retry-after": "1" },
        {
          message:
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
          documentation_url: `${DOCS}#about-secondary-rate-limits`,
        },
      );
    },
    delivery() {
      const duplicate = random() < duplicateRate;
      const holdBack = random() < reorderRate;
      // Drawn only when drops are asked for, so the plans of a seed without them stay what they were.
      const drop = dropRate > 0 && random() < dropRate;
      if (drop) {
        counts.dropped++;
        return { duplicate: false, holdBack: false, drop };
      }
      if (duplicate) counts.duplicated++;
      if (holdBack) counts.reordered++;
      return { duplicate, holdBack };
    },
  };
}

/** Faults injected so far. */
export const faultsInjected = (c: ChaosCounts): number => c.serverErrors + c.rateLimits + c.secondaryLimits;
