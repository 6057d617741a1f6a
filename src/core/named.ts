/** Named definition files (profiles, templates): one directory parsed, names checked for clashes. */
import type { Diagnostic, Validation } from "./diagnostics.js";

/**
 * Parse one directory's worth of profiles or templates. Names must be unique within it (the later
 * file is the error); a name that differs from its file name is only a warning, as Claude Code
 * itself goes by the name, but it usually means an intended override does not happen.
 */
export function parseNamed<T extends { name: string; source: string }>(
  list: readonly { file: string; text: string }[],
  kind: "profile" | "template",
  parse: (file: string, text: string) => Validation<T>,
): Validation<T[]> {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const byName = new Map<string, T>();
  for (const { file, text } of list) {
    const r = parse(file, text);
    errors.push(...r.errors);
    warnings.push(...r.warnings);
    if (!r.value) continue;
    const where = { ...nameLocation(text), file, path: ["name"], severity: "error" as const };
    const first = byName.get(r.value.name);
    if (first) {
      errors.push({ ...where, message: `${kind} "${r.value.name}" is already defined in ${first.source}` });
      continue;
    }
    const base = (file.split("/").pop() ?? "").replace(/\.(md|ya?ml)$/, "");
    if (base !== r.value.name) {
      warnings.push({
        ...where,
        severity: "warning",
        message: `${kind} "${r.value.name}" is defined in ${base}${file.slice(file.lastIndexOf("."))}; name the file ${r.value.name}${file.slice(file.lastIndexOf("."))} to avoid surprises`,
      });
    }
    byName.set(r.value.name, r.value);
  }
  return { value: [...byName.values()], errors, warnings };
}

/** The line of the top-level `name:` key (front matter or template), for duplicate-name diagnostics. */
function nameLocation(text: string): { line?: number; column?: number } {
  const index = text.split(/\r?\n/).findIndex((l) => /^name\s*:/.test(l));
  return index >= 0 ? { line: index + 1, column: 1 } : {};
}
