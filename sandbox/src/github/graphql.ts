import { schema as githubIdl } from "@octokit/graphql-schema";
import type {
  DocumentNode,
  ExecutionResult,
  GraphQLError,
  GraphQLSchema,
  OperationDefinitionNode,
} from "graphql";
import { buildSchema, execute, executeSync, GraphQLScalarType, Kind, parse, validate } from "graphql";
import type { Actor, GitHubState } from "./state.js";
import { botLogin } from "./state.js";
import { SandboxError } from "./errors.js";
import { takeGraphQLRateLimit } from "./rate-limits.js";
import { setViewerIsApp } from "./graphql/objects.js";
import { queryRoot } from "./graphql/query.js";
import { mutationRoot } from "./graphql/project-mutations.js";
import { commitMutations } from "./graphql/commit-mutations.js";
import { TypedGraphQLError } from "./commits.js";

/**
 * GitHub's GraphQL endpoint for the sandbox: every document is validated against GitHub's real schema (from
 * @octokit/graphql-schema) and the Projects v2 operations Trellis uses are executed by plain resolver objects.
 * A valid operation the sandbox does not implement is answered with a clear error, never silently.
 */

let schema: GraphQLSchema | undefined;

export function githubSchema(): GraphQLSchema {
  if (schema) return schema;
  schema = buildSchema(githubIdl.idl, { assumeValidSDL: true });
  // Scalars built from SDL pass any value through; hold the sandbox's results to the formats GitHub documents
  // for them (https://docs.github.com/graphql/reference/scalars), so a malformed one fails like a wrong type.
  for (const [name, valid] of Object.entries(SCALAR_FORMATS)) {
    const type = schema.getType(name);
    if (type instanceof GraphQLScalarType)
      type.serialize = (value: unknown) => {
        if (typeof value !== "string" || !valid(value))
          throw new TypeError(`${name} cannot represent value: ${JSON.stringify(value)}`);
        return value;
      };
  }
  return schema;
}

const SCALAR_FORMATS: Record<string, (value: string) => boolean> = {
  // "An ISO-8601 encoded UTC date string."
  DateTime: (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/.test(v),
  // "An ISO-8601 encoded date string."
  Date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v),
  // "An RFC 3986, RFC 3987, and RFC 6570 (level 4) compliant URI string."
  URI: (v) => URL.canParse(v),
  // "A Git object ID."
  GitObjectID: (v) => /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(v),
};

export interface GraphQLResponse {
  data?: unknown;
  errors?: Record<string, unknown>[];
}

const QUERY_FIELDS = new Set([
  "organization",
  "user",
  "repositoryOwner",
  "repository",
  "node",
  "nodes",
  "viewer",
  "rateLimit",
]);
const MUTATION_FIELDS = new Set([
  "addProjectV2ItemById",
  "updateProjectV2ItemFieldValue",
  "clearProjectV2ItemFieldValue",
  "deleteProjectV2Item",
  "createProjectV2",
  "createProjectV2Field",
  "updateProjectV2Field",
  "createCommitOnBranch",
]);
/** Mutations that write git, so run asynchronously (handleGraphQLAsync). */
const ASYNC_MUTATIONS = new Set(["createCommitOnBranch"]);

/**
 * handleGraphQL for the HTTP endpoint: mutations that write git (createCommitOnBranch) are executed asynchronously
 * with the caller's credentials; everything else as handleGraphQL does.
 */
export async function handleGraphQLAsync(
  state: GitHubState,
  body: unknown,
  login: string,
  actor: Actor,
): Promise<GraphQLResponse> {
  return handleGraphQL(state, body, login, actor);
}

export function handleGraphQL(
  state: GitHubState,
  body: unknown,
  login: string,
  actor?: Actor,
): GraphQLResponse | Promise<GraphQLResponse> {
  const counted = takeGraphQLRateLimit();
  const request = (body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof request.query !== "string")
    return { errors: [{ message: "A query attribute must be specified and must be a string." }] };
  let document: DocumentNode;
  try {
    document = parse(request.query);
  } catch (error) {
    const e = error as GraphQLError;
    return { errors: [{ message: e.message, locations: e.locations ?? [] }] };
  }
  const problems = validate(githubSchema(), document);
  if (problems.length > 0) return { errors: problems.map(githubStyle) };

  const operationName = typeof request.operationName === "string" ? request.operationName : undefined;
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  if (!operation) return { errors: [{ message: `No operation named "${operationName ?? ""}"` }] };
  const implemented = operation.operation === "mutation" ? MUTATION_FIELDS : QUERY_FIELDS;
  const missing = operation.selectionSet.selections.flatMap((s) =>
    s.kind === Kind.FIELD && s.name.value !== "__typename" && !implemented.has(s.name.value)
      ? [s.name.value]
      : [],
  );
  if (missing.length > 0 || operation.operation === "subscription")
    return {
      errors: [
        {
          message: `${operation.operation} field(s) ${missing.join(", ") || operation.operation} are valid for GitHub but not implemented in the sandbox`,
          extensions: { code: "notImplementedInSandbox" },
        },
      ],
    };

  const writesGit = operation.selectionSet.selections.some(
    (s) => s.kind === Kind.FIELD && ASYNC_MUTATIONS.has(s.name.value),
  );
  if (writesGit) {
    if (!actor) return { errors: [{ message: "createCommitOnBranch needs the caller's credentials" }] };
    return Promise.resolve(
      execute({
        schema: githubSchema(),
        document,
        rootValue: commitMutations(state, login, actor),
        variableValues: (request.variables ?? {}) as Record<string, unknown>,
        ...(operationName ? { operationName } : {}),
      }),
    ).then((result) => respond(result, operation));
  }
  // executeSync runs the resolvers synchronously: the flag holds for exactly this request.
  setViewerIsApp(login.toLowerCase() === botLogin(state).toLowerCase());
  const result = executeSync({
    schema: githubSchema(),
    document,
    rootValue:
      operation.operation === "mutation" ? mutationRoot(state, login) : queryRoot(state, login, counted),
    variableValues: (request.variables ?? {}) as Record<string, unknown>,
    ...(operationName ? { operationName } : {}),
  });
  return respond(result, operation);
}

function respond(result: ExecutionResult, operation: OperationDefinitionNode): GraphQLResponse {
  const response: GraphQLResponse = {
    ...(result.data !== undefined ? { data: result.data } : {}),
    ...(result.errors ? { errors: result.errors.map(githubStyle) } : {}),
  };
  // Errors raised while completing a result (a null for a non-null field, a value outside an enum, a failing
  // resolver) mean the sandbox's objects do not fit GitHub's schema; errors GitHub itself would give are
  // SandboxErrors.
  const faults = (result.errors ?? []).filter((e) => e.path && !(e.originalError instanceof SandboxError));
  if (faults.length > 0)
    schemaFaults.set(
      response,
      faults.map((e) => `GraphQL ${operation.operation} at ${e.path?.join(".") ?? ""}: ${e.message}`),
    );
  return response;
}

const schemaFaults = new WeakMap<object, string[]>();

/** How a GraphQL answer of `handleGraphQL` departed from GitHub's schema; empty when it fits. */
export function graphqlProblems(response: unknown): string[] {
  return (typeof response === "object" && response !== null && schemaFaults.get(response)) || [];
}

/** GitHub's wording for the commonest validation error, so error handling can be tested against it. */
function githubStyle(error: GraphQLError): Record<string, unknown> {
  const unknownField = /^Cannot query field "(\w+)" on type "(\w+)"/.exec(error.message);
  const original = error.originalError;
  const type =
    original instanceof TypedGraphQLError
      ? original.type
      : original instanceof SandboxError
        ? original.status === 404
          ? "NOT_FOUND"
          : original.status === 403
            ? "FORBIDDEN"
            : "UNPROCESSABLE"
        : undefined;
  return {
    message: unknownField
      ? `Field '${unknownField[1]}' doesn't exist on type '${unknownField[2]}'`
      : error.message,
    locations: error.locations ?? [],
    ...(error.path ? { path: error.path } : {}),
    ...(type ? { type } : {}),
    ...(unknownField
      ? { extensions: { code: "undefinedField", typeName: unknownField[2], fieldName: unknownField[1] } }
      : type === "FORBIDDEN"
        ? { extensions: { saml_failure: false } }
        : {}),
  };
}
