import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import ts from "typescript";

/**
 * GitHub's REST API as described by its OpenAPI document (shipped as @octokit/openapi-types), so that the sandbox
 * refuses every route, query parameter and body shape GitHub would refuse. (Moved from test/support/github-routes.ts,
 * which the nock-based tests use.)
 */

export interface FieldSet {
  fields: Map<string, boolean>; // name → required
  open: boolean; // has an index signature: any key allowed
}
export interface Operation {
  id: string;
  method: string;
  route: string;
  pattern: RegExp;
  literalChars: number;
  query?: FieldSet;
  body?: FieldSet | "unknown";
}

let cache: Operation[] | undefined;

export function githubOperations(): Operation[] {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  const file = require.resolve("@octokit/openapi-types/types.d.ts");
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  for (const s of source.statements) if (ts.isInterfaceDeclaration(s)) interfaces.set(s.name.text, s);
  const paths = interfaces.get("paths");
  const operations = interfaces.get("operations");
  if (!paths || !operations) throw new Error("unexpected @octokit/openapi-types layout");

  const opDefs = new Map<string, ts.TypeLiteralNode>();
  for (const m of operations.members) {
    const name = propName(m);
    if (name && ts.isPropertySignature(m) && m.type && ts.isTypeLiteralNode(m.type)) opDefs.set(name, m.type);
  }

  const out: Operation[] = [];
  for (const m of paths.members) {
    const route = propName(m);
    if (!route || !ts.isPropertySignature(m) || !m.type || !ts.isTypeLiteralNode(m.type)) continue;
    for (const verb of m.type.members) {
      const method = propName(verb);
      if (!method || !ts.isPropertySignature(verb) || !verb.type || !ts.isIndexedAccessTypeNode(verb.type))
        continue;
      const index = verb.type.indexType;
      if (!ts.isLiteralTypeNode(index) || !ts.isStringLiteral(index.literal)) continue;
      const id = index.literal.text;
      const def = opDefs.get(id);
      const op: Operation = { id, method: method.toUpperCase(), route, ...compileRoute(route) };
      if (def) {
        const query = member(member(def, "parameters"), "query");
        if (query && ts.isTypeLiteralNode(query)) op.query = fieldSet(query);
        const json = member(member(member(def, "requestBody"), "content"), "application/json");
        if (json) op.body = ts.isTypeLiteralNode(json) ? fieldSet(json) : "unknown";
      }
      out.push(op);
    }
  }
  cache = out;
  return out;
}

function propName(m: ts.TypeElement): string | undefined {
  const n = m.name;
  if (!n) return undefined;
  if (ts.isIdentifier(n) || ts.isStringLiteral(n)) return n.text;
  return undefined;
}

function member(node: ts.TypeNode | undefined, name: string): ts.TypeNode | undefined {
  if (!node || !ts.isTypeLiteralNode(node)) return undefined;
  for (const m of node.members) if (ts.isPropertySignature(m) && propName(m) === name) return m.type;
  return undefined;
}

function fieldSet(node: ts.TypeLiteralNode): FieldSet {
  const fields = new Map<string, boolean>();
  let open = false;
  for (const m of node.members) {
    if (ts.isIndexSignatureDeclaration(m)) open = true;
    const name = propName(m);
    if (name && ts.isPropertySignature(m)) fields.set(name, !m.questionToken);
  }
  return { fields, open };
}

function compileRoute(route: string): { pattern: RegExp; literalChars: number } {
  let literalChars = 0;
  const parts = route.split(/(\{[^}]+\})/).map((part, i, all) => {
    if (part.startsWith("{")) return part === "{path}" && i === all.length - 2 ? "(.+)" : "([^/]+)";
    literalChars += part.length;
    return part.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
  });
  return { pattern: new RegExp(`^${parts.join("")}$`), literalChars };
}

/** The OpenAPI operation a request goes to, preferring the most specific route. */
export function matchOperation(method: string, pathname: string): Operation | undefined {
  // Matched as sent: an encoded slash stays inside its parameter (`branches/trellis%2F1-fix` is one branch name).
  let best: Operation | undefined;
  for (const op of githubOperations()) {
    if (op.method !== method.toUpperCase() || !op.pattern.test(pathname)) continue;
    if (!best || op.literalChars > best.literalChars) best = op;
  }
  return best;
}

/** What is wrong with a request, in words; empty when GitHub's REST API accepts its route, query and body shape. */
export function requestProblems(method: string, pathAndQuery: string, body?: unknown): string[] {
  const url = new URL(pathAndQuery, "https://api.github.com");
  const op = matchOperation(method, url.pathname);
  const what = `${method.toUpperCase()} ${url.pathname}`;
  if (!op) return [`${what} is not a route of GitHub's REST API`];
  const problems: string[] = [];
  for (const key of url.searchParams.keys())
    if (!op.query?.fields.has(key) && !op.query?.open)
      problems.push(`${what} (${op.id}): unknown query "${key}"`);
  if (body !== undefined && body !== "" && op.body !== "unknown") {
    if (!op.body) problems.push(`${what} (${op.id}) takes no JSON body`);
    else if (typeof body !== "object" || body === null || Array.isArray(body))
      problems.push(`${what} (${op.id}): body must be a JSON object`);
    else {
      for (const key of Object.keys(body))
        if (!op.body.fields.has(key) && !op.body.open)
          problems.push(`${what} (${op.id}): unknown body field "${key}"`);
      for (const [key, required] of op.body.fields)
        if (required && !(key in body))
          problems.push(`${what} (${op.id}): missing required body field "${key}"`);
    }
  }
  return problems;
}
