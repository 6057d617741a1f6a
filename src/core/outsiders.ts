/**
 * Whether text by people outside the repository can reach an agent's prompt, and so whether a human must approve the
 * agent's proposal before the App commits it (`prompt.approve_outsider_commits`). Decided once, when a run is
 * created, from facts the events carry (GitHub's `author_association` of each issue the agent reads). Pure.
 */
import type { TrellisConfig } from "./config.js";

/** An issue's author as GitHub describes them on the issue (`user.login`, `author_association`). */
export interface IssueAuthor {
  login: string;
  /** OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, FIRST_TIMER, MANNEQUIN or NONE. */
  association: string;
}

/**
 * The associations of people inside the repository: its owner, its organization's members and its collaborators
 * (GitHub's CommentAuthorAssociation enum, https://docs.github.com/en/graphql/reference/enums#commentauthorassociation;
 * the Action keeps comments by the same people, action/src/prompt.ts).
 */
const INSIDERS = new Set(["OWNER", "MEMBER", "COLLABORATOR"]);

export const isInsider = (author: IssueAuthor): boolean => INSIDERS.has(author.association.toUpperCase());

/** An issue whose text the agent reads; `author` undefined: it could not be checked (counted as an outsider's). */
export interface ReadIssue {
  number: number;
  author: IssueAuthor | undefined;
}

/**
 * Why a run's proposals need a human's approval before the App commits them, or undefined when they do not: the
 * config asks for it (the default) and an issue the agent reads was opened by someone outside the repository (or by
 * someone Trellis could not check), or the config lets outsiders' comments into the prompt.
 */
export function outsiderText(
  prompt: TrellisConfig["prompt"],
  issues: readonly ReadIssue[],
): string | undefined {
  if (!prompt.approve_outsider_commits) return undefined;
  for (const issue of issues) {
    if (!issue.author)
      return `the author of issue #${issue.number} could not be checked, so they may not be a collaborator`;
    if (!isInsider(issue.author))
      return `issue #${issue.number} was opened by @${issue.author.login}, who is not a collaborator`;
  }
  if (prompt.include_outside_comments)
    return "`prompt.include_outside_comments` is on, so comments by people who are not collaborators reach the agent";
  return undefined;
}
