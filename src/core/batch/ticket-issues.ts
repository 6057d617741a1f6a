/** The title and body of a ticket issue the batch creates: verbatim or refined, always linked to its tracking issue. */
import { inline } from "../render.js";
import type { RefinedTicket } from "./refined.js";
import type { BatchState, BatchTicket } from "./types.js";

const backLink = (state: BatchState, t: BatchTicket): string =>
  `Part of #${state.trackingIssue} (batch ticket ${t.kind === "keyed" ? `\`${t.key}\`` : `on line ${t.line}`}, estimate ${t.estimate}).`;

/** A raw ticket becomes an issue verbatim, linked back to its tracking issue (and why it was not refined). */
export function ticketIssue(
  state: BatchState,
  t: BatchTicket,
  unrefined?: string,
): { title: string; body: string } {
  const title = t.title || `Ticket ${t.ref}`;
  const lines = [title, "", backLink(state, t)];
  if (unrefined)
    lines.push(
      "",
      `_Trellis could not refine this ticket (${inline(unrefined, 300)}), so it was created as written._`,
    );
  return { title, body: lines.join("\n") };
}

/** A refined ticket's issue: the agent's body, then the back-link. */
export function refinedIssue(
  state: BatchState,
  t: BatchTicket,
  refined: RefinedTicket,
): { title: string; body: string; labels?: string[] } {
  const source = t.refine?.source ?? t.title;
  const lines = [
    ...(refined.body ? [refined.body, "", "---", ""] : []),
    backLink(state, t),
    `Refined by the Trellis \`refine\` agent from the ticket line “${inline(source, 300)}”.`,
  ];
  return {
    title: refined.title,
    body: lines.join("\n"),
    ...(refined.labels.length > 0 ? { labels: [...refined.labels] } : {}),
  };
}
