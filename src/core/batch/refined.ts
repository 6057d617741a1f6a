/**
 * The refine agent's `.trellis/refined.md` → the ticket issue's title, body, estimate and labels (pure).
 *
 * The file is untrusted text (an agent wrote it from a ticket anyone could have typed): the body becomes the issue's
 * body, which is fine, but the title and labels must be plain — one line, no hidden characters, bounded — and labels
 * that would steer Trellis itself (`agent:…`, `workflow:…`, the batch label) are dropped.
 *
 * Shape (agent-profiles/refine.md): `# <title>`, then sections, and somewhere outside code blocks the lines
 * `est: <N>` and `labels: a, b`. Everything after the title except those two lines is the body.
 */

export interface RefinedTicket {
  title: string;
  body: string;
  /** `est: N` in ideal days, when the file gave a sane one. */
  estimate?: number;
  labels: string[];
}

export type ParseRefinedOutcome =
  | {
      ok: true;
      ticket: RefinedTicket;
      /** What was dropped or cut on the way, for the audit log. */
      notes: string[];
    }
  | { ok: false; error: string };

export interface ParseRefinedOptions {
  /** Label prefixes (case-insensitive) an agent may not set, e.g. `agent:` and `workflow:`. */
  reservedLabelPrefixes?: readonly string[];
  /** Label names (case-insensitive) an agent may not set, e.g. the batch label. */
  reservedLabels?: readonly string[];
}

export const MAX_REFINED_CHARS = 100_000;
export const MAX_TITLE_CHARS = 256;
export const MAX_BODY_CHARS = 60_000;
export const MAX_LABEL_CHARS = 50;
export const MAX_LABELS = 10;
export const MAX_ESTIMATE = 1_000;

// Zero-width, bidi controls, word joiners, BOM, soft hyphen, Unicode tags and C0/C1 controls other than tab/newline.
const INVISIBLE =
  // eslint-disable-next-line no-control-regex
  /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\u00AD\u180E\u061C\u115F\u1160\u3164\uFFA0\u{E0000}-\u{E007F}\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\u034F/gu;
const FENCE = /^\s{0,3}(`{3,}|~{3,})/;
const TITLE = /^\s{0,3}#(?!#)\s*(.*?)\s*#*\s*$/;
const ESTIMATE_LINE =
  /^\s*(?:[-*]\s+)?[*_]*est(?:imate)?[*_]*\s*:\s*[*_]*\s*([^\s*_]*)\s*(?:ideal\s+)?(?:d|days?)?\s*[*_]*\s*$/i;
const LABELS_LINE = /^\s*(?:[-*]\s+)?[*_]*labels?[*_]*\s*:\s*[*_]*(.*?)[*_]*\s*$/i;
const NUMBER = /^\d+(?:\.\d+)?$/;

/** Removes HTML comments (an unterminated one too): they could carry Trellis's hidden markers. */
const withoutComments = (s: string): string => s.replace(/<!--[\s\S]*?-->/g, "").replace(/<!--[\s\S]*$/, "");

/** One plain line: no hidden characters, no comments or tags, single spaces. */
function plain(s: string): string {
  return withoutComments(s.replace(INVISIBLE, ""))
    .replace(/<\/?[A-Za-z][^>]*>/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

function cap(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1).trimEnd()}…`;
}

export function parseRefined(markdown: string, options: ParseRefinedOptions = {}): ParseRefinedOutcome {
  if (markdown.length > MAX_REFINED_CHARS)
    return {
      ok: false,
      error: `refined.md is ${markdown.length} characters; the limit is ${MAX_REFINED_CHARS}`,
    };
  const lines = markdown.replace(/\r\n?/g, "\n").replace(INVISIBLE, "").split("\n");
  const notes: string[] = [];
  let title: string | undefined;
  let estimate: number | undefined;
  let labelText: string | undefined;
  const body: string[] = [];
  let fence: string | undefined;
  for (const line of lines) {
    const f = FENCE.exec(line)?.[1];
    if (fence !== undefined) {
      if (f && f[0] === fence[0] && f.length >= fence.length && line.trim() === f) fence = undefined;
      if (title !== undefined) body.push(line);
      continue;
    }
    if (f) fence = f;
    if (title === undefined) {
      const t = !f ? TITLE.exec(line) : null;
      if (t) title = plain(t[1] ?? "");
      // Anything before the title (a preamble) is not part of the issue.
      continue;
    }
    if (!f) {
      const est = ESTIMATE_LINE.exec(line);
      if (est) {
        const value = est[1] ?? "";
        const n = Number(value);
        if (NUMBER.test(value) && n > 0 && n <= MAX_ESTIMATE) estimate = n;
        else notes.push(`ignored the estimate ${JSON.stringify(cap(plain(value), 20))}`);
        continue;
      }
      const labels = LABELS_LINE.exec(line);
      if (labels) {
        labelText = labelText === undefined ? (labels[1] ?? "") : `${labelText},${labels[1] ?? ""}`;
        continue;
      }
    }
    body.push(line);
  }
  if (title === undefined) return { ok: false, error: "refined.md has no `# title` line" };
  if (!title) return { ok: false, error: "refined.md has an empty title" };
  if (title.length > MAX_TITLE_CHARS) notes.push(`title cut to ${MAX_TITLE_CHARS} characters`);

  let text = withoutComments(body.join("\n"))
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  if (text.length > MAX_BODY_CHARS) {
    notes.push(`body cut to ${MAX_BODY_CHARS} characters`);
    text = `${text.slice(0, MAX_BODY_CHARS - 40).trimEnd()}\n\n[… truncated by Trellis]`;
  }
  return {
    ok: true,
    ticket: {
      title: cap(title, MAX_TITLE_CHARS),
      body: text,
      ...(estimate !== undefined ? { estimate } : {}),
      labels: parseLabels(labelText ?? "", options, notes),
    },
    notes,
  };
}

function parseLabels(text: string, options: ParseRefinedOptions, notes: string[]): string[] {
  const prefixes = (options.reservedLabelPrefixes ?? []).map((p) => p.toLowerCase()).filter(Boolean);
  const reserved = new Set((options.reservedLabels ?? []).map((l) => l.toLowerCase()));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(",")) {
    const label = plain(raw)
      .replace(/^[`'"[(]+|[`'")\]]+$/g, "")
      .trim();
    if (!label) continue;
    const lower = label.toLowerCase();
    if (label.length > MAX_LABEL_CHARS) {
      notes.push(`dropped a label longer than ${MAX_LABEL_CHARS} characters`);
      continue;
    }
    if (reserved.has(lower) || prefixes.some((p) => lower.startsWith(p))) {
      notes.push(`dropped the reserved label ${JSON.stringify(label)}`);
      continue;
    }
    if (seen.has(lower)) continue;
    if (out.length >= MAX_LABELS) {
      notes.push(`kept the first ${MAX_LABELS} labels`);
      break;
    }
    seen.add(lower);
    out.push(label);
  }
  return out;
}
