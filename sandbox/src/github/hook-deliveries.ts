import type { GitHubState, HookDelivery } from "./state.js";
import { iso } from "./state.js";

/**
 * The App webhook's delivery log, as GitHub keeps it.
 * - Every attempt to deliver is recorded with the event's guid (`X-GitHub-Delivery`), its status and status code; a
 *   redelivery is a new delivery (a new id) of the same guid with `redelivery: true` ("REST API endpoints for GitHub
 *   App webhooks", https://docs.github.com/rest/apps/webhooks).
 * - GitHub never redelivers on its own; a delivery failed when the receiver could not be reached, answered with
 *   something other than 2xx, or took too long ("Handling failed webhook deliveries",
 *   https://docs.github.com/webhooks/using-webhooks/handling-failed-webhook-deliveries).
 * - Deliveries "from the past 3 days" are listed and can be redelivered ("Redelivering webhooks",
 *   https://docs.github.com/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks).
 * - A receiver that could not be reached shows as in GitHub's own example of a delivery (the `hook-delivery-item`
 *   example of its OpenAPI description): status "failed to connect", status_code 502.
 */
export const DELIVERY_HISTORY_MS = 3 * 24 * 60 * 60 * 1000;

/** How a delivery went: the receiver's HTTP status, or no connection at all. */
export type DeliveryOutcome = { statusCode: number } | { failedToConnect: true };

export function recordHookDelivery(
  state: GitHubState,
  input: {
    guid: string;
    event: string;
    payload: Record<string, unknown>;
    redelivery: boolean;
    durationMs: number;
    outcome: DeliveryOutcome;
  },
): HookDelivery {
  const { payload, outcome } = input;
  const installation = payload["installation"] as { id?: number } | undefined;
  const repository = payload["repository"] as { id?: number } | undefined;
  const delivery: HookDelivery = {
    id: state.nextHookDeliveryId++,
    guid: input.guid,
    deliveredAt: iso(state.clock()),
    redelivery: input.redelivery,
    duration: Math.round(input.durationMs) / 1000,
    ...("failedToConnect" in outcome
      ? { status: "failed to connect", statusCode: 502 }
      : { status: statusText(outcome.statusCode), statusCode: outcome.statusCode }),
    event: input.event,
    action: typeof payload["action"] === "string" ? payload["action"] : null,
    installationId: installation?.id ?? null,
    repositoryId: repository?.id ?? null,
    payload,
  };
  state.hookDeliveries.push(delivery);
  // What GitHub no longer lists is forgotten, so a long sandbox run does not keep every payload.
  const horizon = state.clock().getTime() - DELIVERY_HISTORY_MS;
  const kept = state.hookDeliveries.findIndex((d) => Date.parse(d.deliveredAt) >= horizon);
  if (kept > 0) state.hookDeliveries.splice(0, kept);
  return delivery;
}

/** A 2xx answer is "OK"; anything else is an invalid response, with its code. */
const statusText = (code: number): string =>
  code >= 200 && code < 300 ? "OK" : `Invalid HTTP Response: ${code}`;

/** The deliveries GitHub still lists (the past 3 days), newest first. */
export function listedDeliveries(state: GitHubState): HookDelivery[] {
  const horizon = state.clock().getTime() - DELIVERY_HISTORY_MS;
  return state.hookDeliveries.filter((d) => Date.parse(d.deliveredAt) >= horizon).reverse();
}

/** A delivery in the `hook-delivery-item` shape. */
export function hookDeliveryItemJson(d: HookDelivery): Record<string, unknown> {
  return {
    id: d.id,
    guid: d.guid,
    delivered_at: d.deliveredAt,
    redelivery: d.redelivery,
    duration: d.duration,
    status: d.status,
    status_code: d.statusCode,
    event: d.event,
    action: d.action,
    installation_id: d.installationId,
    repository_id: d.repositoryId,
    throttled_at: null,
  };
}
