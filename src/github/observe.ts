/**
 * What the App's Octokit clients tell the metrics about each request: the method, the templated route (never ids,
 * owners or names: a label must stay bounded), the status, and what is left of the rate limit. An Octokit hook, so
 * every call through the client is seen, whichever module made it.
 */
import type { GitHub } from "./client.js";

export interface GitHubRequestObservation {
  method: string;
  /** The route template, e.g. `/repos/{owner}/{repo}/issues`. */
  route: string;
  /** The HTTP status, or `error` when no answer came (network, timeout). */
  status: number | "error";
  /** GitHub's `x-ratelimit-remaining`, for the rate-limit resource it names (`core`, `graphql`, …). */
  rateLimit?: { remaining: number; resource: string };
}

/**
 * Routes Trellis pages through with `octokit.paginate`: the plugin sends each page with the URL already expanded
 * (`/repos/octo/hello/issues?page=2`), so the template is found again here. test/github/observe.test.ts checks that
 * every paginated route in src/github is listed.
 */
export const PAGINATED_ROUTES = [
  "/app/hook/deliveries",
  "/repos/{owner}/{repo}/commits/{ref}/check-runs",
  "/repos/{owner}/{repo}/issues/{issue_number}/comments",
  "/repos/{owner}/{repo}/issues",
  "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues",
  "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by",
  "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts",
] as const;

const templates = PAGINATED_ROUTES.map((route) => ({
  route,
  pattern: new RegExp(`^${route.replace(/\{[^}]+\}/g, "[^/]+")}$`),
}));

/**
 * The route template of a request's URL: a template stays as it is; an expanded one (pagination) is matched against
 * the known templates, else cut to its first fixed segments (`/repos/{owner}/{repo}/pulls/…`).
 */
export function routeOf(url: string, baseUrl = "https://api.github.com"): string {
  const path = (() => {
    if (url.includes("{")) return url.split("?")[0]!;
    let pathname: string;
    try {
      pathname = new URL(url, baseUrl).pathname;
    } catch {
      return "/…";
    }
    // GitHub Enterprise Server serves the API under /api/v3: its pages' URLs carry that prefix.
    const prefix = new URL(baseUrl).pathname.replace(/\/+$/, "");
    return prefix && pathname.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : pathname;
  })();
  if (path.includes("{")) return path;
  const known = templates.find((t) => t.pattern.test(path));
  if (known) return known.route;
  const segments = path.split("/").filter(Boolean);
  const word = (segment = "") => segment.replace(/[^a-z_-]/g, "");
  const more = (n: number) => (segments.length > n ? "/…" : "");
  if (segments[0] === "repos" && segments.length >= 3)
    return segments.length === 3
      ? "/repos/{owner}/{repo}"
      : `/repos/{owner}/{repo}/${word(segments[3])}${more(4)}`;
  return `/${word(segments[0])}${more(1)}`;
}

interface RequestOptions {
  method?: string;
  url?: string;
  baseUrl?: string;
}

interface Answer {
  status?: number;
  headers?: Record<string, string | number | undefined>;
}

function observation(options: RequestOptions, answer: Answer | undefined): GitHubRequestObservation {
  const remaining = Number(answer?.headers?.["x-ratelimit-remaining"]);
  const resource = answer?.headers?.["x-ratelimit-resource"];
  return {
    method: (options.method ?? "GET").toUpperCase(),
    route: routeOf(options.url ?? "/", options.baseUrl),
    status: typeof answer?.status === "number" ? answer.status : "error",
    ...(answer?.headers?.["x-ratelimit-remaining"] !== undefined && Number.isFinite(remaining)
      ? { rateLimit: { remaining, resource: typeof resource === "string" ? resource : "core" } }
      : {}),
  };
}

/** Reports every request `octokit` makes, answered or failed, to `record`; the request itself is unchanged. */
export function observeRequests(octokit: GitHub, record: (request: GitHubRequestObservation) => void): void {
  const safely = (o: GitHubRequestObservation) => {
    try {
      record(o);
    } catch {
      // Measuring must never fail a request.
    }
  };
  octokit.hook.after("request", (response, options) => {
    safely(observation(options as RequestOptions, response as Answer));
  });
  octokit.hook.error("request", (error, options) => {
    // Octokit gives a request that got no answer (network, timeout) status 500 but no response: that is `error`.
    const failed = error as { status?: unknown; response?: Answer };
    const answer =
      failed.response && typeof failed.status === "number"
        ? { ...failed.response, status: failed.status }
        : failed.response;
    safely(observation(options as RequestOptions, answer));
    throw error;
  });
}
