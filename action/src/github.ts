/** The Action's one GitHub API call: the issue the attempt works on (git pushes go through the checkout). */
import { getOctokit } from "@actions/github";
import type { DispatchSpec } from "../../src/core/dispatch.js";
import type { IssueText } from "./prompt.js";

export async function fetchIssue(spec: DispatchSpec, token: string): Promise<IssueText> {
  // A refine attempt's context came with the dispatch: no request needed.
  const context = spec.ticket?.context;
  if (context) return { number: spec.issue, title: context.title, body: context.body, comments: [] };
  // @actions/github routes through undici's own fetch for proxy support; without a proxy the
  // platform fetch does the same job (and is what request interceptors in tests see).
  const proxied = ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"].some((k) => process.env[k]);
  const octokit = getOctokit(token, {
    baseUrl: process.env["GITHUB_API_URL"] || "https://api.github.com",
    ...(proxied ? {} : { request: { fetch: globalThis.fetch } }),
  });
  const params = { owner: spec.repo.owner, repo: spec.repo.name, issue_number: spec.issue };
  // A refine attempt's issue is the tracking issue: its task list is the context, its comments are Trellis's own.
  const [{ data: issue }, { data: comments }] = await Promise.all([
    octokit.rest.issues.get(params),
    spec.ticket ? { data: [] } : octokit.rest.issues.listComments({ ...params, per_page: 100 }),
  ]);
  return {
    number: issue.number,
    title: issue.title,
    body: issue.body ?? "",
    author: issue.user?.login,
    // The App's own status comments are noise for the agent.
    comments: comments
      .filter((c) => !(c.user?.type === "Bot" && /<!--\s*trellis/i.test(c.body ?? "")))
      .map((c) => ({
        author: c.user?.login ?? "unknown",
        body: c.body ?? "",
        createdAt: c.created_at,
        updatedAt: c.updated_at,
        association: c.author_association,
      })),
  };
}
