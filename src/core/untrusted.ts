/**
 * Text written by outsiders (issue titles and bodies, comments, PR and review text, batch tickets) on its way into an
 * agent's prompt. GitHub renders Markdown and a subset of HTML, so a reader sees less than the model would: HTML
 * comments, image alt text, link titles, attributes, hidden elements, invisible and reordering characters. Everything
 * a reader of the rendered issue cannot see is removed, erring on the side of removing too much.
 *
 * Linear time by construction: the input is capped first, the scanner visits each character a bounded number of
 * times (brackets are matched in one pass up front, every search that fails ends the scan), and the few regexes are
 * character classes or bounded, anchored patterns.
 */

export const DEFAULT_MAX_CHARS = 20_000;

/**
 * Characters that render as nothing or reorder what renders: every format character (Unicode category Cf: zero-width
 * space/joiners, bidi embeddings, overrides and isolates U+202A–E and U+2066–9, word joiner, BOM, soft hyphen, tag
 * characters U+E0001 and U+E0020–E007F…), C0/C1 controls other than tab and newline, variation selectors (U+FE00–FE0F,
 * U+E0100–E01EF, Mongolian U+180B–180F), the combining grapheme joiner, Hangul fillers, and the rest of the tag block.
 */
const INVISIBLE_CLASS =
  "\\p{Cf}\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F\\u034F\\u115F\\u1160\\u180B-\\u180F\\u3164\\uFFA0" +
  "\\uFE00-\\uFE0F\\u{E0000}-\\u{E007F}\\u{E0100}-\\u{E01EF}";
// Combining characters in the class are the point: each is removed on its own, whatever it would combine with.
// eslint-disable-next-line no-misleading-character-class
const INVISIBLE = new RegExp(`[${INVISIBLE_CLASS}]`, "gu");
/** For tests and callers that must assert the absence of invisible characters. */
// eslint-disable-next-line no-misleading-character-class
export const INVISIBLE_CHAR = new RegExp(`[${INVISIBLE_CLASS}]`, "u");

/** Removes invisible and format characters; line and paragraph separators become newlines, CR LF becomes LF. */
export function stripInvisible(text: string): string {
  return text.replace(/\r\n?|[\u2028\u2029]/g, "\n").replace(INVISIBLE, "");
}

/**
 * Code as an agent that judges it may read it (a proposal's patch under security review): invisible and reordering
 * characters are not removed, which would hide the evidence, but shown as `[U+XXXX]`, so none can steer or reorder
 * what the reader sees. CR LF line ends stay as LF. Linear; the caller caps the text first.
 */
export function revealInvisible(text: string): string {
  return text
    .replace(/\r\n/g, "\n")
    .replace(INVISIBLE, (c) => `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`);
}

// Named references that encode a character a reader cannot see (HTML's named character references).
const INVISIBLE_NAMED = new Set([
  "shy",
  "zwj",
  "zwnj",
  "lrm",
  "rlm",
  "zerowidthspace",
  "nobreak",
  "invisibletimes",
  "it",
  "invisiblecomma",
  "ic",
  "applyfunction",
  "af",
  "negativeverythinspace",
  "negativethinspace",
  "negativemediumspace",
  "negativethickspace",
]);
const VISIBLE_NAMED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
};
// Numeric references may omit the semicolon inside raw HTML (the HTML parser still decodes them), so it is optional.
const ENTITY = /&(?:#(\d{1,8});?|#[xX]([0-9a-fA-F]{1,7});?|([A-Za-z][A-Za-z0-9]{1,31});)/g;

/**
 * Decodes numeric character references and the common named ones, in one pass (the result is not decoded again, as
 * GitHub shows `&amp;#8203;` as the text `&#8203;`). Invisible characters they encode are then removed by the caller.
 * References to no valid character (NUL, surrogates, beyond U+10FFFF) decode to nothing.
 */
export function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, dec?: string, hex?: string, name?: string) => {
    if (name !== undefined) {
      const lower = name.toLowerCase();
      if (INVISIBLE_NAMED.has(lower)) return "";
      return VISIBLE_NAMED[lower] ?? whole;
    }
    const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex ?? "", 16);
    if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
      return "";
    return String.fromCodePoint(code);
  });
}

/**
 * For each `[` and `(`, the index of its matching `]` or `)` (-1 when unmatched), in one pass with two stacks.
 * Backslash escapes do not count, as in CommonMark.
 */
function matchBrackets(s: string): Int32Array {
  const match = new Int32Array(s.length).fill(-1);
  const squares: number[] = [];
  const rounds: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x5b /* [ */) squares.push(i);
    else if (c === 0x5d /* ] */) {
      const open = squares.pop();
      if (open !== undefined) match[open] = i;
    } else if (c === 0x28 /* ( */) rounds.push(i);
    else if (c === 0x29 /* ) */) {
      const open = rounds.pop();
      if (open !== undefined) match[open] = i;
    }
  }
  return match;
}

/** Elements whose content GitHub never shows (or that the HTML parser reads as raw text). */
const HIDDEN_ELEMENTS = new Set([
  "script",
  "style",
  "template",
  "noscript",
  "noembed",
  "noframes",
  "iframe",
  "object",
  "head",
  "title",
  "textarea",
  "xmp",
  "svg",
  "math",
]);
/** Of those, the ones whose content the HTML parser does not read as tags: only their end tag ends them. */
const RAW_TEXT_ELEMENTS = new Set([
  "script",
  "style",
  "noscript",
  "noembed",
  "noframes",
  "iframe",
  "title",
  "textarea",
  "xmp",
]);
const VOID_ELEMENTS = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "source",
  "track",
  "wbr",
]);
/** The only attributes kept on a tag: where it points. Everything else (alt, title, aria-*, data-*…) is dropped. */
const KEPT_ATTRIBUTES = new Set(["href", "src"]);

interface Tag {
  name: string;
  closing: boolean;
  selfClosing: boolean;
  attrs: Map<string, string | true>;
  end: number;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isNameChar = (c: number): boolean => isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d;

/**
 * An HTML start or end tag at `i` (`<` already seen): `undefined` when what follows is not a tag (a lone `<`, an
 * autolink `<https://…>`), `"unterminated"` when the tag never ends (quotes included, as the HTML parser reads them).
 */
function readTag(s: string, i: number): Tag | "unterminated" | undefined {
  let p = i + 1;
  const closing = s.charCodeAt(p) === 0x2f;
  if (closing) p++;
  if (!isAlpha(s.charCodeAt(p))) return undefined;
  const nameStart = p;
  while (p < s.length && isNameChar(s.charCodeAt(p))) p++;
  const name = s.slice(nameStart, p).toLowerCase();
  const after = s.charCodeAt(p);
  if (p < s.length && !isSpace(after) && after !== 0x2f && after !== 0x3e) return undefined;
  const attrs = new Map<string, string | true>();
  let selfClosing = false;
  for (;;) {
    while (p < s.length && (isSpace(s.charCodeAt(p)) || s.charCodeAt(p) === 0x2f)) {
      selfClosing = s.charCodeAt(p) === 0x2f;
      p++;
    }
    if (p >= s.length) return "unterminated";
    if (s.charCodeAt(p) === 0x3e) return { name, closing, selfClosing, attrs, end: p + 1 };
    selfClosing = false;
    const attrStart = p;
    while (p < s.length) {
      const c = s.charCodeAt(p);
      if (isSpace(c) || c === 0x2f || c === 0x3e || (c === 0x3d && p > attrStart)) break;
      p++;
    }
    const attr = s.slice(attrStart, p).toLowerCase();
    while (p < s.length && isSpace(s.charCodeAt(p))) p++;
    if (s.charCodeAt(p) !== 0x3d) {
      attrs.set(attr, true);
      continue;
    }
    p++;
    while (p < s.length && isSpace(s.charCodeAt(p))) p++;
    if (p >= s.length) return "unterminated";
    const quote = s.charCodeAt(p);
    let value: string;
    if (quote === 0x22 || quote === 0x27) {
      const close = s.indexOf(String.fromCharCode(quote), p + 1);
      if (close < 0) return "unterminated";
      value = s.slice(p + 1, close);
      p = close + 1;
    } else {
      const valueStart = p;
      while (p < s.length && !isSpace(s.charCodeAt(p)) && s.charCodeAt(p) !== 0x3e) p++;
      value = s.slice(valueStart, p);
    }
    attrs.set(attr, value);
  }
}

/** A tag as the agent may see it: its name and where it points, nothing a reader cannot see. */
function rebuildTag(tag: Tag): string {
  if (tag.closing) return `</${tag.name}>`;
  let out = `<${tag.name}`;
  for (const [name, value] of tag.attrs)
    if (KEPT_ATTRIBUTES.has(name) && typeof value === "string")
      out += ` ${name}="${value.replace(/["<>\s]/g, "")}"`;
  return `${out}${tag.selfClosing ? " /" : ""}>`;
}

// `[label]: destination "title"` where a line starts: the whole definition renders as nothing. Checked only where a
// definition may start, with the brackets already matched; the title may follow on the next line.
const DEFINITION_DEST = /:[ \t]*\n?[ \t]*(?:<[^<>\n]*>|[^\s<][^\s]*)/y;
const TRAILING_BLANK = /[ \t]*(?:\n|$)/y;
const TITLE_START = /[ \t]*\n?[ \t]*(["'(])/y;
const BLANK_LINE = /\n[ \t]*\n/g;

/** After `](`: a destination (no spaces, no parentheses) and an optional title, then `)`. The title is dropped. */
const LINK_TARGET = /[ \t\n]*(<[^<>\n]*>|[^\s<()]+)(?:[ \t\n]+(?:"[^"]*"|'[^']*'|\([^()]*\)))?[ \t\n]*\)/y;

/**
 * Searches that remember their last answer: the first match at or after `from` is still the answer for any later
 * `from` up to it, so a scan that asks again and again (one definition after another) stays linear.
 */
function memoSearch(s: string): (key: string, from: number) => number {
  const memo = new Map<string, number>();
  return (key, from) => {
    const known = memo.get(key);
    if (known !== undefined && (known < 0 || known >= from)) return known;
    let found: number;
    if (key === "blank") {
      BLANK_LINE.lastIndex = from;
      found = BLANK_LINE.exec(s)?.index ?? -1;
    } else found = s.indexOf(key, from);
    memo.set(key, found);
    return found;
  };
}

/**
 * Removes what GitHub's rendering hides: HTML comments and bogus comments (`<!…>`, `<?…>`), attributes other than
 * href/src, hidden elements (`hidden` attribute, script, style, template, svg…), image alt text (`![alt](…)`,
 * `![alt][ref]`), link titles (`[text](url "title")`), and link reference definitions (`[label]: url "title"`, which
 * render as nothing). A comment or tag that never ends removes the rest of the text, as the browser's parser would.
 */
export function stripHiddenMarkup(s: string): string {
  const match = matchBrackets(s);
  const search = memoSearch(s);
  const out: string[] = [];
  // Inside a hidden element: its name and nesting depth. Inside an image's alt text: where it ends.
  let hidden: { name: string; depth: number } | undefined;
  let altEnd = -1;
  let textStart = 0;
  const emit = (at: number, text: string): void => {
    if (!hidden && at >= altEnd) out.push(text);
  };
  const flush = (to: number): void => {
    const from = Math.max(textStart, altEnd);
    if (!hidden && to > from) out.push(s.slice(from, to));
  };
  let i = 0;
  scan: while (i < s.length) {
    const c = s.charCodeAt(i);
    if (i === 0 || s.charCodeAt(i - 1) === 0x0a) {
      const end = definitionAt(s, i, match, search);
      if (end >= 0) {
        flush(i);
        i = textStart = end;
        continue;
      }
    }
    if (c === 0x3c /* < */) {
      const next = s.charCodeAt(i + 1);
      if (next === 0x21 /* ! */ || next === 0x3f /* ? */) {
        // Comments; declarations, CDATA and processing instructions are bogus comments to the HTML parser.
        flush(i);
        const comment = s.startsWith("<!--", i);
        const end = comment ? s.indexOf("-->", i + 4) : s.indexOf(">", i + 2);
        if (end < 0) break scan;
        i = textStart = end + (comment ? 3 : 1);
        continue;
      }
      const tag = readTag(s, i);
      if (tag === "unterminated") {
        flush(i);
        textStart = s.length;
        break;
      }
      if (tag) {
        flush(i);
        const at = i;
        i = textStart = tag.end;
        if (!tag.closing && RAW_TEXT_ELEMENTS.has(tag.name)) {
          // Its content is text to the parser, whatever it looks like: only its own end tag ends it.
          const endTag = new RegExp(`</${tag.name}(?=[\\s/>]|$)`, "gi");
          endTag.lastIndex = i;
          const found = endTag.exec(s);
          const close = found ? s.indexOf(">", found.index) : -1;
          if (close < 0) break scan;
          i = textStart = close + 1;
          continue;
        }
        if (hidden) {
          if (tag.name === hidden.name && !tag.selfClosing) {
            hidden.depth += tag.closing ? -1 : 1;
            if (hidden.depth === 0) hidden = undefined;
          }
          continue;
        }
        const hides = !tag.closing && (HIDDEN_ELEMENTS.has(tag.name) || tag.attrs.has("hidden"));
        if (!hides) emit(at, rebuildTag(tag));
        else if (!VOID_ELEMENTS.has(tag.name) && !tag.selfClosing) hidden = { name: tag.name, depth: 1 };
        continue;
      }
    } else if (c === 0x21 /* ! */ && s.charCodeAt(i + 1) === 0x5b /* [ */) {
      // An image: whatever its alt text says, a reader sees a picture. `![` stays; the alt text is still scanned
      // (a comment opened in it hides what follows) but nothing of it is kept.
      const close = match[i + 1]!;
      if (close > i + 1) {
        flush(i + 2);
        i = textStart = i + 2;
        altEnd = Math.max(altEnd, close);
        continue;
      }
    } else if (c === 0x5d /* ] */ && s.charCodeAt(i + 1) === 0x28 /* ( */) {
      LINK_TARGET.lastIndex = i + 2;
      const target = LINK_TARGET.exec(s);
      if (target) {
        flush(i);
        emit(i, `](${target[1]})`);
        i = textStart = LINK_TARGET.lastIndex;
        continue;
      }
    }
    i++;
  }
  if (i >= s.length) flush(s.length);
  return out.join("");
}

/** The end of a link reference definition starting at `i` (its line, or its title's), or -1 when there is none. */
function definitionAt(
  s: string,
  i: number,
  match: Int32Array,
  search: (key: string, from: number) => number,
): number {
  let p = i;
  while (p < i + 3 && s.charCodeAt(p) === 0x20) p++;
  const close = s.charCodeAt(p) === 0x5b ? match[p]! : -1;
  if (close <= p + 1) return -1;
  DEFINITION_DEST.lastIndex = close + 1;
  if (!DEFINITION_DEST.test(s)) return -1;
  const destEnd = DEFINITION_DEST.lastIndex;
  TITLE_START.lastIndex = destEnd;
  const title = TITLE_START.exec(s);
  if (title) {
    const open = TITLE_START.lastIndex - 1;
    const end = search(title[1] === "(" ? ")" : title[1]!, open + 1);
    const blank = search("blank", open);
    // A title cannot span a blank line; the line must end after it.
    if (end > open && (blank < 0 || blank > end)) {
      TRAILING_BLANK.lastIndex = end + 1;
      if (TRAILING_BLANK.test(s)) return TRAILING_BLANK.lastIndex;
    }
  }
  TRAILING_BLANK.lastIndex = destEnd;
  return TRAILING_BLANK.test(s) ? TRAILING_BLANK.lastIndex : -1;
}

export interface SanitizeOptions {
  /** The most characters kept (a note says how many more there were). */
  maxChars?: number;
}

/**
 * Outsiders' text as an agent may read it: capped BEFORE anything else runs (at twice the output cap, since hidden
 * parts shrink it), invisible characters removed, hidden markup removed, character references decoded and
 * invisible characters removed again (an entity may encode one), then trimmed and cut to `maxChars`.
 */
export function sanitizeUntrustedText(text: string, options: SanitizeOptions = {}): string {
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  const capped = text.length > maxChars * 2 ? text.slice(0, maxChars * 2) : text;
  const out = stripInvisible(decodeEntities(stripHiddenMarkup(stripInvisible(capped)))).trim();
  // Characters never read, plus those read but over the cap.
  const dropped = text.length - capped.length + Math.max(0, out.length - maxChars);
  return dropped > 0 ? `${out.slice(0, maxChars)}\n[… truncated ${dropped} characters]` : out;
}
