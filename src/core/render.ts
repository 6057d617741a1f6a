/**
 * Pure Markdown rendering of a run for GitHub: the status comment, check-run outputs and annotation batches.
 * Everything that comes from outside (issue titles, agent summaries, questions, human reasons) passes through
 * `inline`/`block` so it cannot inject hidden markers, @mentions, links or break tables.
 */
// (rendering of runs follows)


// ---------------------------------------------------------------------------------------------
// Neutralising untrusted text

/** GitHub's limits on check-run output fields, and a bound for one comment. */
export const MAX_OUTPUT_CHARS = 65_535;
export const MAX_TITLE_CHARS = 255;
export const MAX_ANNOTATIONS_PER_REQUEST = 50;

const TRUNCATED = "\n\n… (truncated)";

/** Cut `text` to at most `max` UTF-16 units without splitting a surrogate pair, marking the cut. */
export function truncate(text: string, max: number, marker = TRUNCATED): string {
  if (text.length <= max) return text;
  const room = Math.max(0, max - marker.length);
  let cut = text.slice(0, room);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return (cut + marker).slice(0, max);
}

// `@user`, `@org/team`; a preceding word character means an e-mail address, which does not notify.
const MENTION = /(?<![\w`])@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\/[A-Za-z0-9_.-]+)?)/g;

function splitMentions(text: string): { text: string; mention: boolean }[] {
  const parts: { text: string; mention: boolean }[] = [];
  let at = 0;
  for (const m of text.matchAll(MENTION)) {
    if (m.index > at) parts.push({ text: text.slice(at, m.index), mention: false });
    parts.push({ text: m[0], mention: true });
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push({ text: text.slice(at), mention: false });
  return parts;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * One line of literal text, safe in a table cell or a sentence: no newlines, no HTML (so no hidden
 * `<!-- -->` markers), Markdown punctuation escaped (no links, emphasis or pipes), mentions shown as code.
 */
export function inline(text: string, max = 200): string {
  const flat = truncate(text.replace(/[\r\n\t\u2028\u2029]+/g, " ").trim(), max, "…");
  return splitMentions(flat)
    .map((p) => (p.mention ? `\`${p.text}\`` : escapeHtml(p.text).replace(/[\\`*_[\]|~!#]/g, "\\$&")))
    .join("");
}

/**
 * Multi-line text from an agent or a human, kept as Markdown but quoted: HTML is escaped (no markers, no
 * `<details>` tricks), mentions become code, and every line is a quote line so slash commands inside it are
 * never read as commands.
 */
export function block(text: string, max = 20_000): string {
  const body = truncate(text.replace(/\r\n?/g, "\n").trim(), max);
  return body
    .split("\n")
    .map((line) =>
      splitMentions(line)
        .map((p) => (p.mention ? `\`${p.text}\`` : escapeHtml(p.text)))
        .join(""),
    )
    .map((line) => (line ? `> ${line}` : ">"))
    .join("\n");
}
