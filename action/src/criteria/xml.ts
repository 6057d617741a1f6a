/**
 * A small, forgiving XML reader for test and coverage reports (JUnit, Cobertura). It is not a
 * validating parser: it skips the prolog, comments, processing instructions and DOCTYPE, decodes
 * the standard entities, keeps CDATA as text, and closes unbalanced elements instead of failing,
 * because reports written by crashed test runs are often truncated.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text and CDATA directly inside this element. */
  text: string;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ent: string) => {
    if (ent.startsWith("#x")) return safeCodePoint(parseInt(ent.slice(2), 16)) ?? whole;
    if (ent.startsWith("#")) return safeCodePoint(parseInt(ent.slice(1), 10)) ?? whole;
    return ENTITIES[ent] ?? whole;
  });
}

function safeCodePoint(n: number): string | undefined {
  return Number.isFinite(n) && n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

const ATTR = /([^\s=/>]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

function parseAttrs(src: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of src.matchAll(ATTR)) {
    const key = m[1];
    if (key === undefined) continue;
    attrs[key] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? "");
  }
  return attrs;
}

/** Parses `xml` into a synthetic root element (name `#document`) holding the top-level elements. */
export function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: "#document", attrs: {}, children: [], text: "" };
  const stack: XmlElement[] = [root];
  const top = (): XmlElement => stack[stack.length - 1] ?? root;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    if (lt === -1) {
      top().text += decodeEntities(xml.slice(i));
      break;
    }
    if (lt > i) top().text += decodeEntities(xml.slice(i, lt));
    if (xml.startsWith("<!--", lt)) {
      const end = xml.indexOf("-->", lt + 4);
      i = end === -1 ? xml.length : end + 3;
    } else if (xml.startsWith("<![CDATA[", lt)) {
      const end = xml.indexOf("]]>", lt + 9);
      top().text += xml.slice(lt + 9, end === -1 ? xml.length : end);
      i = end === -1 ? xml.length : end + 3;
    } else if (xml.startsWith("<?", lt)) {
      const end = xml.indexOf("?>", lt + 2);
      i = end === -1 ? xml.length : end + 2;
    } else if (xml.startsWith("<!", lt)) {
      const end = xml.indexOf(">", lt + 2);
      i = end === -1 ? xml.length : end + 1;
    } else if (xml.startsWith("</", lt)) {
      const end = xml.indexOf(">", lt + 2);
      const name = xml.slice(lt + 2, end === -1 ? xml.length : end).trim();
      // Close up to the matching element; a stray closing tag is ignored.
      const idx = stack.map((e) => e.name).lastIndexOf(name);
      if (idx > 0) stack.length = idx;
      i = end === -1 ? xml.length : end + 1;
    } else {
      const end = findTagEnd(xml, lt + 1);
      const body = xml.slice(lt + 1, end === -1 ? xml.length : end);
      const selfClosing = body.endsWith("/");
      const inner = selfClosing ? body.slice(0, -1) : body;
      const nameMatch = /^[^\s/>]+/.exec(inner);
      if (nameMatch) {
        const el: XmlElement = {
          name: nameMatch[0],
          attrs: parseAttrs(inner.slice(nameMatch[0].length)),
          children: [],
          text: "",
        };
        top().children.push(el);
        if (!selfClosing) stack.push(el);
      }
      i = end === -1 ? xml.length : end + 1;
    }
  }
  return root;
}

/** Index of the `>` closing a start tag, skipping `>` inside quoted attribute values. */
function findTagEnd(xml: string, from: number): number {
  let quote: string | undefined;
  for (let j = from; j < xml.length; j++) {
    const c = xml[j];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ">") return j;
  }
  return -1;
}

/** All descendants (depth-first, document order) whose name is `name`. */
export function descendants(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    for (const c of e.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}

/** Text of an element and all its descendants. */
export function deepText(el: XmlElement): string {
  return el.text + el.children.map(deepText).join("");
}
