import { isMap, isSeq, LineCounter, parseDocument, type Document } from "yaml";

/** Where a problem is: the file, a 1-based line (and column) when known, and the key path. */
export interface Location {
  file: string;
  line?: number;
  column?: number;
  path: (string | number)[];
}

export interface Diagnostic extends Location {
  severity: "error" | "warning";
  message: string;
}

/** Validation never throws: it returns what is wrong and what is merely suspicious. */
export interface Validation<T> {
  value?: T;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** `file:line:col key.path: message`, the form editors and CI logs link. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = [d.file, d.line, d.line !== undefined ? d.column : undefined].filter((x) => x !== undefined);
  const path = d.path.length > 0 ? ` ${formatPath(d.path)}:` : "";
  return `${where.join(":")}: ${d.severity}${path} ${d.message}`;
}

export function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

/** A parsed YAML document that can say on which line a key path sits. */
export interface LocatedYaml {
  data: unknown;
  /** Syntax errors, already located. */
  errors: Diagnostic[];
  locate(path: (string | number)[]): Pick<Location, "line" | "column">;
}

export function parseLocatedYaml(file: string, text: string): LocatedYaml {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const errors: Diagnostic[] = doc.errors.map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    return {
      file,
      line: pos.line,
      column: pos.col,
      path: [],
      severity: "error",
      message: e.message.split("\n")[0] ?? e.message,
    };
  });
  const locate = (path: (string | number)[]): Pick<Location, "line" | "column"> => {
    // Walk down as far as the path exists; report the deepest node found (a missing key points at its parent).
    let node: unknown = doc.contents;
    let offset: number | undefined = (doc.contents as { range?: [number, number, number] } | null)
      ?.range?.[0];
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === key);
        if (!pair) break;
        const k = pair.key as { range?: [number, number, number] } | null;
        offset = k?.range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof key === "number") {
        const item = node.items[key] as { range?: [number, number, number] } | undefined;
        if (!item) break;
        offset = item.range?.[0] ?? offset;
        node = item;
      } else break;
    }
    if (offset === undefined) return {};
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  if (errors.length > 0) return { data: undefined, errors, locate };
  try {
    // Building values can still fail: an alias to a missing anchor, or an alias bomb past the limit.
    return { data: doc.toJS({ maxAliasCount: 100 }), errors, locate };
  } catch (e) {
    const message = e instanceof Error ? (e.message.split("\n")[0] ?? e.message) : String(e);
    return {
      data: undefined,
      errors: [{ file, line: 1, column: 1, path: [], severity: "error", message: `YAML: ${message}` }],
      locate,
    };
  }
}

export function diagnostic(
  severity: Diagnostic["severity"],
  file: string,
  path: (string | number)[],
  message: string,
  yaml?: LocatedYaml,
): Diagnostic {
  return { file, path, severity, message, ...(yaml ? yaml.locate(path) : {}) };
}
