/** What Trellis says when a repository's definitions are invalid. Pure. */
import type { DomainEvent } from "./events.js";
import type { Effect } from "./model.js";
import { shortHash } from "./short-hash.js";

/**
 * The reply to an event on an issue whose repository's config is invalid, or undefined: only an event that asked
 * Trellis for something (a label, a comment, by a human) deserves an answer about the config. Its key makes one
 * answer per issue and set of errors.
 */
export function configErrorReply(
  event: DomainEvent,
  issue: number | undefined,
  errors: readonly string[],
): Extract<Effect, { type: "reply" }> | undefined {
  const asked =
    issue !== undefined &&
    (event.kind === "label_added" || event.kind === "comment_created") &&
    !event.actor.isBot;
  if (!asked) return undefined;
  const body =
    "Trellis can't act: `.github/trellis.yml` (or a profile or template) is invalid.\n\n" +
    errors.map((e) => `- \`${e.replace(/`/g, "'")}\``).join("\n") +
    "\n\nFix the file and try again; `npx trellis validate` checks it locally.";
  return { type: "reply", key: `config-error:${issue}:${shortHash(errors.join("\n"))}`, body };
}
