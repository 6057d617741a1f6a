import { createRequire } from "node:module";
import { Ajv } from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { matchOperation } from "./openapi.js";

/**
 * The stand-in's answers held to GitHub's published schemas: REST responses to the response schemas of GitHub's
 * OpenAPI description (@octokit/openapi, api.github.com), webhook payloads to @octokit/webhooks-schemas. Documents
 * are loaded once per process and a validator is compiled per operation + status (or event + action) on first use.
 */

const require = createRequire(import.meta.url);
// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

type Json = Record<string, unknown>;
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, Json> }>>;
  components: { responses: Record<string, Json> };
}

let openapi: OpenApiDocument | undefined;
let webhooks: Json | undefined;
let ajv: Ajv | undefined;
const restValidators = new Map<string, ValidateFunction | string | null>();
const webhookValidators = new Map<string, ValidateFunction | string>();

function validatorHost(): Ajv {
  if (ajv) return ajv;
  // strict: false because OpenAPI 3.0 adds keywords JSON Schema does not know (example, discriminator, x-github…).
  const instance = new Ajv({
    strict: false,
    allErrors: true,
    validateSchema: false,
    addUsedSchema: false,
    inlineRefs: false,
  });
  addFormats(instance);
  // Formats of GitHub's description that are not JSON Schema formats: descriptive only.
  for (const name of ["timestamp", "repo.nwo"]) instance.addFormat(name, true);
  ajv = instance;
  return instance;
}

function openapiDocument(): OpenApiDocument {
  if (openapi) return openapi;
  const doc = require("@octokit/openapi/generated/api.github.com.json") as OpenApiDocument & Json;
  jsonSchemaOf(doc["components"]);
  jsonSchemaOf(doc["paths"]);
  validatorHost().addSchema(doc, "openapi");
  openapi = doc;
  return doc;
}

function webhookSchema(): Json {
  if (webhooks) return webhooks;
  const schema = require("@octokit/webhooks-schemas") as Json;
  validatorHost().addSchema({ definitions: schema["definitions"] }, "webhooks");
  webhooks = schema;
  return schema;
}

/**
 * OpenAPI 3.0's `nullable: true` is not JSON Schema (and ajv's own support needs a sibling `type`, which 145 of
 * GitHub's schemas lack): rewrite each as `anyOf: [schema, {type: "null"}]`, in place, once.
 */
function jsonSchemaOf(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) jsonSchemaOf(item);
    return;
  }
  if (!node || typeof node !== "object") return;
  const o = node as Json;
  for (const [key, value] of Object.entries(o))
    if (key !== "example" && key !== "examples") jsonSchemaOf(value);
  if (o["nullable"] === true) {
    const copy: Json = { ...o };
    delete copy["nullable"];
    for (const key of Object.keys(o)) delete o[key];
    o["anyOf"] = [copy, { type: "null" }];
  }
}

const pointer = (...parts: string[]): string =>
  parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

/** The JSON schema a documented response has, as a `$ref` into the loaded document; a string says why none. */
function responseSchemaRef(route: string, method: string, status: number): Json | string | null {
  const doc = openapiDocument();
  const operation = doc.paths[route]?.[method.toLowerCase()];
  if (!operation) return `is not described in GitHub's OpenAPI document`;
  const responses = operation.responses ?? {};
  let key = String(status) in responses ? String(status) : "default" in responses ? "default" : undefined;
  let at = ["paths", route, method.toLowerCase(), "responses"];
  if (!key) {
    // Error statuses GitHub does not list for an operation still carry its documented error body.
    if (status >= 400) return { $ref: `openapi#/${pointer("components", "schemas", "basic-error")}` };
    return `answered ${status}, which GitHub does not document for it (documented: ${Object.keys(responses).join(", ")})`;
  }
  let response = responses[key];
  const ref = response?.["$ref"];
  if (typeof ref === "string" && ref.startsWith("#/components/responses/")) {
    key = ref.slice("#/components/responses/".length);
    at = ["components", "responses"];
    response = doc.components.responses[key];
  }
  const content = (response?.["content"] ?? {}) as Record<string, unknown>;
  const type = Object.keys(content).find((t) => /json/.test(t));
  if (!type) return null; // documented without a JSON body
  return { $ref: `openapi#/${pointer(...at, key, "content", type, "schema")}` };
}

/** Loads GitHub's documents now (a second or so) rather than at the first answer. */
export function loadSchemas(): void {
  openapiDocument();
  webhookSchema();
}

function describeErrors(errors: ErrorObject[] | null | undefined, limit = 8): string[] {
  const list = (errors ?? []).map((e) => {
    const at = e.instancePath || "(root)";
    const params = e.params as { additionalProperty?: string; allowedValues?: unknown[] };
    if (e.keyword === "additionalProperties")
      return `${at} has "${params.additionalProperty}", which the schema does not allow`;
    if (e.keyword === "enum") return `${at} must be one of ${JSON.stringify(params.allowedValues)}`;
    return `${at} ${e.message ?? "is invalid"}`;
  });
  const unique = [...new Set(list)];
  return unique.length > limit ? [...unique.slice(0, limit), `… and ${unique.length - limit} more`] : unique;
}

/**
 * What is wrong with a REST answer, in words; empty when it fits the response GitHub documents for that operation
 * and status. `path` is the request path (an `/api/v3` prefix and a query string are ignored).
 */
export function responseProblems(method: string, path: string, status: number, body: unknown): string[] {
  const url = new URL(path, "https://api.github.com");
  const pathname = url.pathname.replace(/^\/api\/v3(?=\/|$)/, "") || "/";
  const what = `${method.toUpperCase()} ${pathname} → ${status}`;
  const op = matchOperation(method, pathname);
  if (!op) return status === 404 ? [] : [`${what}: not a route of GitHub's REST API`];
  const cacheKey = `${op.method} ${op.route} ${status}`;
  let validate = restValidators.get(cacheKey);
  if (validate === undefined) {
    const schema = responseSchemaRef(op.route, op.method, status);
    validate = schema === null || typeof schema === "string" ? schema : validatorHost().compile(schema);
    restValidators.set(cacheKey, validate);
  }
  if (typeof validate === "string") return [`${what} (${op.id}) ${validate}`];
  const hasBody = body !== undefined && !(body instanceof Uint8Array) && body !== "";
  if (validate === null)
    return hasBody && status !== 304 ? [`${what} (${op.id}) has a body, but GitHub documents none`] : [];
  if (!hasBody) return [`${what} (${op.id}) has no body, but GitHub documents a JSON one`];
  if (validate(body)) return [];
  return describeErrors(validate.errors).map((e) => `${what} (${op.id}): ${e}`);
}

/**
 * Fields GitHub sends and documents in its own description of each webhook (the `x-webhooks` of the OpenAPI
 * document in @octokit/openapi) that @octokit/webhooks-schemas, hand-written before GitHub published that
 * description and no longer kept in step with it, refuses as additional properties. Its maintainers say so:
 * https://github.com/octokit/webhooks/issues/998 ("woefully out of date"). Only these exact paths are exempt.
 */
const NEWER_THAN_WEBHOOK_SCHEMAS: Record<string, string[][]> = {
  // webhook-issues-*.issue.sub_issues_summary; sent since sub-issues shipped (google/go-github#3450).
  issues: [["issue", "sub_issues_summary"]],
  issue_comment: [["issue", "sub_issues_summary"]],
  // webhook-projects-v2-item-edited.changes.field_value: the field's name, project number and the values.
  projects_v2_item: ["field_name", "project_number", "from", "to"].map((k) => ["changes", "field_value", k]),
};

function withoutNewerFields(name: string, payload: Record<string, unknown>): Record<string, unknown> {
  const paths = NEWER_THAN_WEBHOOK_SCHEMAS[name];
  if (!paths) return payload;
  const copy = structuredClone(payload);
  for (const path of paths) {
    const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Json | undefined)?.[k], copy);
    if (parent && typeof parent === "object") delete (parent as Json)[path.at(-1) ?? ""];
  }
  return copy;
}

/** What is wrong with a webhook payload, in words; empty when it fits @octokit/webhooks-schemas for the event. */
export function webhookProblems(name: string, payload: Record<string, unknown>): string[] {
  const action = typeof payload["action"] === "string" ? payload["action"] : undefined;
  const what = `webhook ${name}${action ? `.${action}` : ""}`;
  const key = `${name}$${action ?? ""}`;
  let validate = webhookValidators.get(key);
  if (validate === undefined) {
    const definitions = webhookSchema()["definitions"] as Json;
    const definition =
      action !== undefined && `${name}$${action}` in definitions ? `${name}$${action}` : undefined;
    // Events without an action are named `push$event` in the schemas; others have an `_event` union.
    const fallback = [`${name}$event`, `${name}_event`, name].find((d) => d in definitions);
    const chosen = definition ?? fallback;
    validate = chosen
      ? validatorHost().compile({ $ref: `webhooks#/definitions/${pointer(chosen)}` })
      : `is not an event of @octokit/webhooks-schemas`;
    webhookValidators.set(key, validate);
  }
  if (typeof validate === "string") return [`${what} ${validate}`];
  if (validate(withoutNewerFields(name, payload))) return [];
  return describeErrors(validate.errors).map((e) => `${what}: ${e}`);
}
