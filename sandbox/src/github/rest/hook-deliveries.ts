import { SandboxError } from "../errors.js";
import { DELIVERY_HISTORY_MS, hookDeliveryItemJson, listedDeliveries } from "../hook-deliveries.js";
import type { HookDelivery } from "../state.js";
import { invalid, json, notFound, route, type Ctx } from "./routing.js";

/**
 * The App webhook's deliveries ("REST API endpoints for GitHub App webhooks", https://docs.github.com/rest/apps/webhooks),
 * answered to the App's JWT only (rest.ts keeps /app routes for it):
 * - "List deliveries for an app webhook": newest first, `per_page` (default 30, at most 100), `status` (`success`:
 *   status_code 200–399, `failure`: 400–599), and cursor pagination: "the starting delivery from which the page of
 *   deliveries is fetched. Refer to the `link` header for the next and previous page cursors". The cursor is opaque
 *   to the client; here it names the page's first delivery.
 * - "Redeliver a delivery for an app webhook": 202, and the delivery's event goes out again under the same guid as a
 *   new delivery marked `redelivery` (the server sends it). Only deliveries of the past 3 days can be redelivered
 *   ("Redelivering webhooks"); GitHub documents 400 and 422 as this operation's errors, not their messages.
 */

const cursorOf = (d: HookDelivery): string => `v1_${d.id}`;

function startAt(ctx: Ctx): number | undefined {
  const cursor = ctx.query.get("cursor");
  if (cursor === null || cursor === "") return undefined;
  const m = /^v1_(\d+)$/.exec(cursor);
  if (!m) throw new SandboxError(400, "Invalid cursor");
  return Number(m[1]);
}

route("GET /app/hook/deliveries", (ctx) => {
  const perPage = Math.min(100, Math.max(1, Number(ctx.query.get("per_page") ?? 30) || 30));
  const status = ctx.query.get("status");
  if (status !== null && status !== "success" && status !== "failure")
    throw invalid("WebhookDelivery", "status", "invalid", "status must be one of: success, failure");
  const inRange = (code: number): boolean =>
    status === "success" ? code >= 200 && code <= 399 : code >= 400 && code <= 599;
  const listed = listedDeliveries(ctx.state).filter((d) => status === null || inRange(d.statusCode));
  const start = startAt(ctx);
  const from = start === undefined ? 0 : listed.findIndex((d) => d.id <= start);
  const page = from < 0 ? [] : listed.slice(from, from + perPage);
  const link = (d: HookDelivery, rel: string): string => {
    const q = new URLSearchParams(ctx.query);
    q.set("per_page", String(perPage));
    q.set("cursor", cursorOf(d));
    return `<${ctx.base}/app/hook/deliveries?${q.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  const next = from < 0 ? undefined : listed[from + perPage];
  if (next) links.push(link(next, "next"));
  const prev = from > 0 ? listed[Math.max(0, from - perPage)] : undefined;
  if (prev) links.push(link(prev, "prev"));
  return json(200, page.map(hookDeliveryItemJson), links.length ? { link: links.join(", ") } : {});
});

route("POST /app/hook/deliveries/{delivery_id}/attempts", (ctx) => {
  const id = Number(ctx.params["delivery_id"]);
  const delivery = ctx.state.hookDeliveries.find((d) => d.id === id);
  if (!delivery) return notFound();
  if (Date.parse(delivery.deliveredAt) < ctx.state.clock().getTime() - DELIVERY_HISTORY_MS)
    throw new SandboxError(422, "Deliveries older than 3 days cannot be redelivered");
  for (const redeliver of ctx.state.redeliveryHandlers) redeliver(delivery);
  return json(202, {});
});
