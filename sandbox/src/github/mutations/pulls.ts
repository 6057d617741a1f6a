import type { GitHubState, Issue, MergeDeliveryOrder, Repository } from "../state.js";
import { getRepo, newId, now } from "../state.js";
import { SandboxError } from "../errors.js";
import { issueEvent, setIssueState } from "./issues.js";

/** Pull requests: opened and merged, closing the issues they name. */

export function openPullRequest(
  state: GitHubState,
  repo: Repository,
  input: {
    title: string;
    body: string | null;
    head: string;
    headSha: string;
    base: string;
    draft: boolean;
    user: string;
  },
): Issue {
  const t = now(state);
  const pr: Issue = {
    id: newId(state),
    number: repo.nextNumber++,
    title: input.title,
    body: input.body,
    user: input.user,
    state: "open",
    stateReason: null,
    labels: [],
    createdAt: t,
    updatedAt: t,
    closedAt: null,
    reactions: [],
    subIssues: [],
    parentId: null,
    blockedBy: [],
    pull: {
      head: input.head,
      headSha: input.headSha,
      base: input.base,
      merged: false,
      mergedAt: null,
      mergeCommitSha: null,
      draft: input.draft,
    },
  };
  repo.issues.set(pr.number, pr);
  issueEvent(state, repo, pr, "opened", input.user);
  return pr;
}

/**
 * Closing keywords, as GitHub documents them ("Linking a pull request to an issue",
 * https://docs.github.com/en/issues/tracking-your-work-with-issues/using-issues/linking-a-pull-request-to-an-issue):
 * close, closes, closed, fix, fixes, fixed, resolve, resolves, resolved (case-insensitive), followed by `#N` for an
 * issue of the same repository or `OWNER/REPOSITORY#N` for one of another.
 */
const CLOSING = /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+(?:([\w.-]+)\/([\w.-]+))?#(\d+)\b/gi;

/** The issues a pull request's body says it closes (pull requests and unknown numbers left out). */
export function closingIssues(
  state: GitHubState,
  repo: Repository,
  body: string | null,
): { repo: Repository; issue: Issue }[] {
  const out: { repo: Repository; issue: Issue }[] = [];
  for (const m of (body ?? "").matchAll(CLOSING)) {
    const target = m[1] && m[2] ? getRepo(state, m[1], m[2]) : repo;
    const issue = target?.issues.get(Number(m[3]));
    if (!target || !issue || issue.pull || out.some((o) => o.issue === issue)) continue;
    out.push({ repo: target, issue });
  }
  return out;
}

/**
 * Merges a pull request (its branch into its base) and closes it. Merged into the default branch, it also closes the
 * issues its body names with a closing keyword, with state_reason `completed`; into any other branch the keywords
 * are ignored ("Linking a pull request to an issue", see CLOSING). The deliveries go out in `order` (default: the
 * state's `mergeDeliveryOrder`), both after the whole merge is visible through the API.
 */
export async function mergePullRequest(
  state: GitHubState,
  repo: Repository,
  pr: Issue,
  sender: string,
  message?: string,
  order: MergeDeliveryOrder = state.mergeDeliveryOrder,
): Promise<string> {
  const p = pr.pull;
  if (!p) throw new SandboxError(404, "Not Found");
  if (pr.state !== "open" || p.merged) throw new SandboxError(405, "Pull Request is not mergeable");
  const sha = await repo.backend.merge(
    p.base,
    p.head,
    message ?? `Merge pull request #${pr.number} from ${p.head}`,
  );
  const t = now(state);
  p.merged = true;
  p.mergedAt = t;
  p.mergeCommitSha = sha;
  pr.state = "closed";
  pr.closedAt = t;
  pr.updatedAt = t;
  const closes = p.base === repo.defaultBranch ? closingIssues(state, repo, pr.body) : [];
  const closeIssues = () => {
    for (const c of closes) setIssueState(state, c.repo, c.issue, "closed", sender, "completed");
  };
  if (order === "issues_first") closeIssues();
  issueEvent(state, repo, pr, "closed", sender);
  if (order === "pull_request_first") closeIssues();
  return sha;
}
