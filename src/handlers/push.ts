import type { EmitterWebhookEvent } from "@octokit/webhooks";

type PushPayload = EmitterWebhookEvent<"push">["payload"];

/** The files Trellis reads its definitions from (src/github/repo-files.ts). */
const DEFINITION_PATH = /^\.github\/trellis(\.ya?ml$|\/)/;

/**
 * The repository (`owner/name`) whose Trellis definitions a push changed, so the App reloads them at
 * once instead of when its cache expires: a push to the default branch that touches
 * `.github/trellis.yml` or `.github/trellis/`. A push whose commit list GitHub cut short counts as a change.
 */
export function changedDefinitions(payload: PushPayload): string | undefined {
  const repo = payload.repository;
  if (payload.ref !== `refs/heads/${repo.default_branch ?? ""}`) return undefined;
  const commits = payload.commits ?? [];
  // GitHub lists at most 2,048 commits in a push (20 before 2020); `size` is not in every payload.
  const truncated = commits.length >= 2048 || (payload.head_commit !== null && commits.length === 0);
  const touched = commits.some((c) =>
    [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])].some((path) =>
      DEFINITION_PATH.test(path),
    ),
  );
  return truncated || touched ? repo.full_name : undefined;
}
