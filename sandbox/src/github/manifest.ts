import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/**
 * A GitHub App manifest checked as GitHub checks it when someone registers an App from it.
 *
 * - "Registering a GitHub App from a manifest"
 *   (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest): `url` is required,
 *   `default_events` are the webhook events the App subscribes to, `default_permissions` maps a permission's name to
 *   its access.
 * - "Choosing permissions for a GitHub App"
 *   (https://docs.github.com/apps/creating-github-apps/registering-a-github-app/choosing-permissions-for-a-github-app#choosing-permissions-for-webhook-access):
 *   an App can subscribe to an event only with the permission that event's documentation names.
 * - "Webhook events and payloads" (https://docs.github.com/webhooks/webhook-events-and-payloads): per event, "To
 *   subscribe to this event, a GitHub App must have at least read-level access for the "Issues" repository
 *   permission", and for `installation`/`installation_repositories` "All GitHub Apps receive this event by default.
 *   You cannot manually subscribe to this event." That text is read from the same OpenAPI description GitHub renders
 *   the page from (@octokit/openapi-webhooks-types), so each event carries its own documented rule.
 *
 * GitHub refuses a manifest with "Default events unsupported: installation" and "Default events are not supported
 * by permissions: issue_comment" (the messages reported in tuist/tuist#10709, WeblateOrg/weblate#20301,
 * derive-to/derive#269); the checker answers with the same sentences.
 */

export type PermissionAccess = "read" | "write" | "admin";

export interface AppManifest {
  name?: string;
  url?: string;
  hook_attributes?: { url?: string; active?: boolean };
  default_events?: string[];
  default_permissions?: Record<string, PermissionAccess | string>;
  [key: string]: unknown;
}

/** What GitHub's documentation says about subscribing an App to one event. */
export interface EventRule {
  event: string;
  /** The App receives it without subscribing and may not list it ("You cannot manually subscribe to this event"). */
  byDefault: boolean;
  /** Manifest permission keys of which any one, at read level or more, lets the App subscribe; empty: none named. */
  anyOf: string[];
  /** The permission names as the documentation spells them, for messages. */
  documented: string[];
}

/**
 * The documentation's permission names ("Pull requests" repository permission) as manifest keys, per the REST
 * schema `app-permissions` (@octokit/openapi-types). A name missing here cannot be asked for by a manifest.
 */
const PERMISSION_KEYS: Record<string, string> = {
  "Actions|repository": "actions",
  "Administration|repository": "administration",
  "Administration|organization": "organization_administration",
  "Checks|repository": "checks",
  "Code scanning alerts|repository": "security_events",
  "Commit statuses|repository": "statuses",
  "Contents|repository": "contents",
  "Custom properties|organization": "organization_custom_properties",
  "Dependabot alerts|repository": "vulnerability_alerts",
  "Deployments|repository": "deployments",
  "Discussions|repository": "discussions",
  "Issues|repository": "issues",
  "Members|organization": "members",
  "Merge queues|repository": "merge_queues",
  "Metadata|repository": "metadata",
  "Packages|repository": "packages",
  "Pages|repository": "pages",
  "Personal access token requests|organization": "organization_personal_access_token_requests",
  "Projects|repository": "repository_projects",
  "Projects|organization": "organization_projects",
  "Pull requests|repository": "pull_requests",
  "Secret scanning alerts|repository": "secret_scanning_alerts",
};

let cache: Map<string, EventRule> | undefined;

/** Every webhook event GitHub documents, with its subscription rule. */
export function webhookEventRules(): Map<string, EventRule> {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  const text = readFileSync(require.resolve("@octokit/openapi-webhooks-types/types.d.ts"), "utf8");
  const start = text.indexOf("export interface webhooks {");
  if (start < 0) throw new Error("unexpected @octokit/openapi-webhooks-types layout");
  const body = text.slice(start, text.indexOf("\nexport ", start + 1));
  const rules = new Map<string, EventRule>();
  for (const m of body.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*post: operations\["([^"/]+)[/"]/g)) {
    const event = m[2]!.replace(/-/g, "_");
    const doc = m[1]!.replace(/\s*\n\s*\*\s?/g, " ");
    const rule = rules.get(event) ?? { event, byDefault: false, anyOf: [], documented: [] };
    if (/receive(?:s)? this (?:event|webhook) by default/.test(doc)) rule.byDefault = true;
    const needs =
      /(?:To subscribe to this event, a GitHub App|To install this event on a GitHub App, the app) must have at least read-level access for the ((?:"[^"]+"(?: or )?)+)(?: ((?:repository|organization|app)(?: or (?:repository|organization))?))? permissions?\./.exec(
        doc,
      );
    if (needs && rule.documented.length === 0) {
      const names = [...needs[1]!.matchAll(/"([^"]+)"/g)].map((n) => n[1]!);
      // "Checks" permission with no scope is the repository one; "repository or organization" allows either.
      const scopes = needs[2] ? needs[2].split(" or ") : ["repository"];
      for (const name of names) {
        rule.documented.push(`"${name}" ${needs[2] ?? "repository"}`);
        for (const scope of scopes) {
          const key = PERMISSION_KEYS[`${name}|${scope}`];
          if (key && !rule.anyOf.includes(key)) rule.anyOf.push(key);
        }
      }
    }
    rules.set(event, rule);
  }
  cache = rules;
  return rules;
}

/** GitHub's list style in these messages: "a", "a and b", "a, b, and c". */
function englishList(items: string[]): string {
  if (items.length <= 2) return items.join(" and ");
  return `${items.slice(0, -1).join(", ")}, and ${items[items.length - 1]}`;
}

/** Why GitHub would refuse to register an App from this manifest; empty when it would accept it. */
export function manifestProblems(manifest: AppManifest): string[] {
  const problems: string[] = [];
  if (typeof manifest.url !== "string" || manifest.url === "") problems.push("url is required");
  const rules = webhookEventRules();
  const granted = new Set(
    Object.entries(manifest.default_permissions ?? {})
      .filter(([, access]) => access === "read" || access === "write" || access === "admin")
      .map(([key]) => key),
  );
  const unsupported: string[] = [];
  const uncovered: string[] = [];
  for (const event of manifest.default_events ?? []) {
    const rule = rules.get(event);
    if (!rule || rule.byDefault) unsupported.push(event);
    // An event nobody may subscribe to is also one no permission supports (GitHub reports both).
    if (
      !rule ||
      rule.byDefault ||
      (rule.documented.length > 0 && !rule.anyOf.some((key) => granted.has(key)))
    )
      uncovered.push(event);
  }
  if (unsupported.length > 0) problems.push(`Default events unsupported: ${englishList(unsupported)}`);
  if (uncovered.length > 0)
    problems.push(`Default events are not supported by permissions: ${englishList(uncovered)}`);
  return problems;
}
