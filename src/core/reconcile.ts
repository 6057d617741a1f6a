/**
 * Reconciliation's decision (pure): which of the App's failed webhook deliveries to ask GitHub to redeliver.
 *
 * GitHub never redelivers a failed delivery on its own. Its own recipe ("Handling failed webhook deliveries" and
 * "Automatically redelivering failed deliveries for a GitHub App webhook") lists the deliveries made since the last
 * check, groups them by `guid` (the event's `X-GitHub-Delivery`, shared by its redeliveries) and redelivers a guid
 * none of whose deliveries succeeded. A delivery succeeded when its `status_code` is 200–399 (what the `status=success`
 * filter of "List deliveries for an app webhook" counts); a receiver that could not be reached shows 5xx or 0.
 * Only deliveries of the past 3 days can be redelivered ("Redelivering webhooks", GitHub.com).
 */

export const REDELIVERY_WINDOW_MS = 3 * 24 * 60 * 60 * 1000;

/**
 * How far before the last complete listing the next one starts again: a delivery in flight while the last one ran
 * (GitHub waits up to 10 s for an answer) and a small skew between GitHub's clock and the App's are covered.
 */
export const RELISTING_OVERLAP_MS = 5 * 60 * 1000;

/** One delivery as listed by GitHub, reduced to what the decision reads. */
export interface ListedDelivery {
  id: number;
  guid: string;
  /** ms since the epoch */
  deliveredAt: number;
  statusCode: number;
  event: string;
  action: string | null;
}

export interface Redelivery {
  /** The delivery to redeliver (the newest of its guid still within the window). */
  deliveryId: number;
  guid: string;
  event: string;
  action: string | null;
}

export interface RedeliveryFacts {
  deliveries: readonly ListedDelivery[];
  now: number;
  /** Guids the App's inbox already recorded: it has the event, whatever GitHub recorded of its answer. */
  recorded: ReadonlySet<string>;
  /** How often reconciliation already asked for each guid. */
  tries: ReadonlyMap<string, number>;
  /** At most this many per pass. */
  max: number;
  /** A guid asked for this often is given up: whatever fails it each time will fail it again. */
  maxTries: number;
}

export interface RedeliveryChoice {
  redeliver: Redelivery[];
  /** Failed guids left alone because they were asked for `maxTries` times already. */
  givenUp: string[];
}

/** `success` in GitHub's terms: a status code 200–399. */
export const deliverySucceeded = (statusCode: number): boolean => statusCode >= 200 && statusCode <= 399;

/**
 * The failed guids to redeliver: every delivery of the guid failed, the App did not record it after all, one of its
 * deliveries is still within the 3-day window, and it was asked for fewer than `maxTries` times. Those asked for less
 * often come first (one that keeps failing does not starve the others), then the oldest events (they leave the window
 * first, and are roughly in the order they happened); at most `max` of them.
 */
export function chooseRedeliveries(facts: RedeliveryFacts): RedeliveryChoice {
  const byGuid = new Map<string, ListedDelivery[]>();
  for (const d of facts.deliveries) {
    const group = byGuid.get(d.guid);
    if (group) group.push(d);
    else byGuid.set(d.guid, [d]);
  }
  const oldestAllowed = facts.now - REDELIVERY_WINDOW_MS;
  const candidates: { redelivery: Redelivery; tries: number; firstAt: number; firstId: number }[] = [];
  const givenUp: string[] = [];
  for (const [guid, group] of byGuid) {
    if (group.some((d) => deliverySucceeded(d.statusCode)) || facts.recorded.has(guid)) continue;
    const redeliverable = group.filter((d) => d.deliveredAt >= oldestAllowed);
    const newest = redeliverable.reduce<ListedDelivery | undefined>(
      (best, d) =>
        !best || d.deliveredAt > best.deliveredAt || (d.deliveredAt === best.deliveredAt && d.id > best.id)
          ? d
          : best,
      undefined,
    );
    if (!newest) continue;
    const tries = facts.tries.get(guid) ?? 0;
    if (tries >= facts.maxTries) {
      givenUp.push(guid);
      continue;
    }
    candidates.push({
      redelivery: { deliveryId: newest.id, guid, event: newest.event, action: newest.action },
      tries,
      firstAt: Math.min(...group.map((d) => d.deliveredAt)),
      firstId: Math.min(...group.map((d) => d.id)),
    });
  }
  candidates.sort((a, b) => a.tries - b.tries || a.firstAt - b.firstAt || a.firstId - b.firstId);
  return { redeliver: candidates.slice(0, Math.max(0, facts.max)).map((c) => c.redelivery), givenUp };
}

/**
 * Where a listing starts: just before the last complete one (`checkedUntil`), never more than the 3-day window back
 * (nothing older can be redelivered), and the whole window when nothing was listed yet.
 */
export function listingSince(now: number, checkedUntil: number | undefined): number {
  const oldest = now - REDELIVERY_WINDOW_MS;
  return checkedUntil === undefined ? oldest : Math.max(oldest, checkedUntil - RELISTING_OVERLAP_MS);
}
