/**
 * The App webhook's deliveries ("REST API endpoints for GitHub App webhooks", https://docs.github.com/rest/apps/webhooks),
 * with the App's own JWT (Probot's `app.auth()` without an installation): "List deliveries for an app webhook"
 * (newest first, cursor pages in the Link header) and "Redeliver a delivery for an app webhook" (202).
 */
import type { ListedDelivery } from "../core/reconcile.js";
import type { GitHub } from "./client.js";

export interface DeliveryListing {
  /** Newest first, none older than `since`. */
  deliveries: ListedDelivery[];
  /** False when `maxPages` ran out before `since` was reached: older deliveries were not seen. */
  complete: boolean;
}

/**
 * The deliveries made since `since` (ms since the epoch), newest first: pages are read until one reaches a delivery
 * older than `since`, at most `maxPages` of them; `beforeNextPage` is awaited between pages (pacing).
 */
export async function listDeliveriesSince(
  octokit: GitHub,
  since: number,
  options: { maxPages: number; perPage?: number; beforeNextPage?: () => Promise<void> },
): Promise<DeliveryListing> {
  const deliveries: ListedDelivery[] = [];
  let pages = 0;
  const iterator = octokit.paginate.iterator("GET /app/hook/deliveries", {
    per_page: options.perPage ?? 100,
  });
  for await (const { data } of iterator) {
    pages++;
    for (const d of data) {
      const deliveredAt = Date.parse(d.delivered_at);
      if (deliveredAt < since) return { deliveries, complete: true };
      deliveries.push({
        id: Number(d.id),
        guid: d.guid,
        deliveredAt,
        statusCode: d.status_code,
        event: d.event,
        action: d.action ?? null,
      });
    }
    if (pages >= options.maxPages) return { deliveries, complete: false };
    await options.beforeNextPage?.();
  }
  return { deliveries, complete: true };
}

/** Asks GitHub to deliver `deliveryId` again: the same event under the same guid, as a new delivery. */
export async function redeliverDelivery(octokit: GitHub, deliveryId: number): Promise<void> {
  await octokit.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: deliveryId });
}
