import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import type { WebhookDefinition } from "@octokit/webhooks-examples";
import type { GitHubState, StateEvent } from "./state.js";
import { ensureUser } from "./state.js";
import { repoJson, userJson, nodeId } from "./shapes.js";

/**
 * Webhook deliveries like GitHub's: payloads start from GitHub's own examples (@octokit/webhooks-examples) with the
 * fields that matter replaced from the sandbox state, and are signed with the App's webhook secret.
 */

const require = createRequire(import.meta.url);
const definitions = require("@octokit/webhooks-examples") as WebhookDefinition[];

/** A deep copy of GitHub's example payload for `name` (and `action`), or a bare object when none exists. */
export function examplePayload(name: string, action?: string): Record<string, unknown> {
  const def = definitions.find((d) => d.name === name);
  const examples = (def?.examples ?? []) as Record<string, unknown>[];
  const example = examples.find((e) => action === undefined || e["action"] === action) ?? examples[0];
  return example ? (structuredClone(example) as Record<string, unknown>) : {};
}

export function buildPayload(state: GitHubState, event: StateEvent): Record<string, unknown> {
  const payload = examplePayload(event.name, event.action);
  if (event.action !== undefined) payload["action"] = event.action;
  else delete payload["action"];
  // Fields of the example that describe something else (a previous label, changes) must not leak through.
  for (const stale of ["changes", "label", "assignee", "milestone", "requested_reviewer", "requester"])
    delete payload[stale];
  if (event.repo) {
    payload["repository"] = repoJson(state, event.repo);
    const owner = ensureUser(state, event.repo.owner);
    if (owner.type === "Organization") payload["organization"] = orgJson(state, owner.login);
    else delete payload["organization"];
  } else if (event.name !== "installation") delete payload["repository"];
  if (event.name === "projects_v2_item") {
    const org = (event.fields["projects_v2_item"] as { project_node_id?: string } | undefined)
      ?.project_node_id;
    const project = state.projects.find((p) => nodeId("PVT", p.id) === org);
    if (project) payload["organization"] = orgJson(state, project.owner);
  }
  if (event.installationId !== undefined)
    payload["installation"] = {
      id: event.installationId,
      node_id: nodeId("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", event.installationId),
    };
  else delete payload["installation"];
  payload["sender"] = userJson(state, event.sender);
  Object.assign(payload, event.fields);
  return payload;
}

function orgJson(state: GitHubState, login: string): Record<string, unknown> {
  const u = userJson(state, login);
  return {
    login: u["login"],
    id: u["id"],
    node_id: u["node_id"],
    url: `${state.apiBase}/orgs/${login}`,
    repos_url: `${state.apiBase}/orgs/${login}/repos`,
    events_url: `${state.apiBase}/orgs/${login}/events`,
    hooks_url: `${state.apiBase}/orgs/${login}/hooks`,
    issues_url: `${state.apiBase}/orgs/${login}/issues`,
    members_url: `${state.apiBase}/orgs/${login}/members{/member}`,
    public_members_url: `${state.apiBase}/orgs/${login}/public_members{/member}`,
    avatar_url: u["avatar_url"],
    description: null,
  };
}

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface Delivery {
  id: string;
  event: string;
  action?: string;
  status: number | "error";
  error?: string;
  /** Never sent: chaos made it fail to connect (GitHub records it as failed). */
  dropped?: boolean;
}

/** POSTs one delivery the way GitHub does; resolves with its record (never rejects). */
export async function deliver(
  target: { url: string; secret: string },
  event: string,
  payload: Record<string, unknown>,
  id: string = randomUUID(),
): Promise<Delivery> {
  const body = JSON.stringify(payload);
  const action = typeof payload["action"] === "string" ? payload["action"] : undefined;
  try {
    const response = await fetch(target.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/sandbox",
        "x-github-event": event,
        "x-github-delivery": id,
        "x-github-hook-id": "1",
        "x-github-hook-installation-target-type": "integration",
        "x-hub-signature-256": sign(target.secret, body),
      },
      body,
    });
    await response.arrayBuffer();
    return { id, event, ...(action ? { action } : {}), status: response.status };
  } catch (error) {
    return { id, event, ...(action ? { action } : {}), status: "error", error: String(error) };
  }
}
