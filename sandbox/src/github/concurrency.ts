import { parse } from "yaml";
import { SandboxError } from "./mutations.js";

/**
 * A workflow file's workflow-level `concurrency` key, evaluated for one run as GitHub evaluates it.
 * https://docs.github.com/actions/writing-workflows/workflow-syntax-for-github-actions#concurrency :
 * a string is the group; a map has `group` and `cancel-in-progress`. Group names are case insensitive.
 * Expressions may use the `github`, `inputs` and `vars` contexts; the stand-in evaluates plain property
 * references (`inputs.x`, `github.event.inputs.x`, `github.workflow`, `github.ref`, `github.repository`…),
 * which is all the workflows it runs use, and refuses anything else rather than guess.
 */
export interface Concurrency {
  /** Lower-cased: "prod" and "Prod" are the same group. */
  group: string;
  cancelInProgress: boolean;
}

export interface ExpressionContext {
  inputs: Record<string, string>;
  github: Record<string, unknown>;
}

export function workflowConcurrency(source: string, context: ExpressionContext): Concurrency | undefined {
  let doc: unknown;
  try {
    doc = parse(source);
  } catch {
    return undefined; // GitHub fails such a run at startup; nothing to group
  }
  if (typeof doc !== "object" || doc === null) return undefined;
  const raw = (doc as Record<string, unknown>)["concurrency"];
  if (raw === undefined || raw === null) return undefined;
  const spec = typeof raw === "object" ? (raw as Record<string, unknown>) : { group: raw };
  const group = evaluate(String(spec["group"] ?? ""), context);
  if (group === "") return undefined;
  const cancel = spec["cancel-in-progress"];
  const cancelInProgress =
    typeof cancel === "boolean" ? cancel : typeof cancel === "string" && evaluate(cancel, context) === "true";
  return { group: group.toLowerCase(), cancelInProgress };
}

/** Substitutes `${{ <context.path> }}`; a missing property is '' (GitHub's null in a string). */
export function evaluate(template: string, context: ExpressionContext): string {
  return template.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_m, expr: string) => {
    if (expr === "true" || expr === "false") return expr;
    if (!/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/.test(expr))
      throw new SandboxError(500, `the stand-in cannot evaluate the expression \${{ ${expr} }}`);
    const [head, ...path] = expr.split(".");
    let value: unknown = head === "inputs" ? context.inputs : head === "github" ? context.github : undefined;
    for (const key of path)
      value =
        typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    return value === undefined || value === null ? "" : String(value);
  });
}
