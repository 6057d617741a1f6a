import { createRequire } from "node:module";
import type { EmitterWebhookEvent, EmitterWebhookEventName } from "@octokit/webhooks";
import type { WebhookDefinition } from "@octokit/webhooks-examples";

/**
 * Real webhook payloads from @octokit/webhooks-examples (GitHub's own examples), deep-cloned so that tests
 * can adjust them freely. `patch` is deep-merged: objects merge, everything else (arrays, null) replaces.
 */
const require = createRequire(import.meta.url);
const definitions = require("@octokit/webhooks-examples") as WebhookDefinition[];

export type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | null }
    : T;

type WebhookEventName = Exclude<EmitterWebhookEventName, `${string}.${string}`>;

/** The typed payload of `event` (narrowed to `action` when given). */
export type PayloadOf<N extends WebhookEventName, A extends string | undefined = undefined> = A extends string
  ? `${N}.${A}` extends EmitterWebhookEventName
    ? EmitterWebhookEvent<`${N}.${A}`>["payload"]
    : EmitterWebhookEvent<N>["payload"]
  : EmitterWebhookEvent<N>["payload"];

/**
 * `examplePayload("issues", "labeled", { label: { name: "agent:dev" } })`; `index` picks among several examples of
 * the same action. Throws when GitHub ships no such example, so a typo cannot pass silently.
 */
export function examplePayload<N extends WebhookEventName, A extends string | undefined = undefined>(
  event: N,
  action?: A,
  patch?: DeepPartial<PayloadOf<N, A>> | Record<string, unknown>,
  index = 0,
): PayloadOf<N, A> {
  const def = definitions.find((d) => d.name === event);
  if (!def) throw new Error(`no webhook examples for event "${event}"`);
  const examples = def.examples as { action?: string }[];
  const example = examples.filter((e) => action === undefined || e.action === action)[index];
  if (!example) {
    const actions = [...new Set(examples.map((e) => e.action))].join(", ");
    throw new Error(`no example #${index} for ${event}.${action}; available actions: ${actions}`);
  }
  const cloned = structuredClone(example) as Record<string, unknown>;
  return (patch ? deepMerge(cloned, patch as Record<string, unknown>) : cloned) as PayloadOf<N, A>;
}

/** A payload for an action GitHub ships no example of (e.g. issues.closed), built from a real sibling. */
export function examplePayloadAs<N extends WebhookEventName, A extends string>(
  event: N,
  action: A,
  from: string,
  patch?: Record<string, unknown>,
): PayloadOf<N, A> {
  return examplePayload(event, from, { ...patch, action }) as unknown as PayloadOf<N, A>;
}

/** All example payloads of an event/action, for table-driven tests. */
export function examplePayloads<N extends WebhookEventName, A extends string | undefined = undefined>(
  event: N,
  action?: A,
): PayloadOf<N, A>[] {
  const def = definitions.find((d) => d.name === event);
  const examples = (def?.examples ?? []) as { action?: string }[];
  return examples
    .filter((e) => action === undefined || e.action === action)
    .map((e) => structuredClone(e) as PayloadOf<N, A>);
}

function deepMerge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (isPlainObject(value) && isPlainObject(current)) deepMerge(current, value);
    else target[key] = structuredClone(value);
  }
  return target;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
