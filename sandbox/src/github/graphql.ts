import { schema as githubIdl } from "@octokit/graphql-schema";
import type { DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode } from "graphql";
import { buildSchema, executeSync, GraphQLScalarType, Kind, parse, validate } from "graphql";
import type {
  FieldValue,
  GitHubState,
  Issue,
  Project,
  ProjectField,
  ProjectItem,
  Repository,
} from "./state.js";
import { botLogin, ensureUser, findIssueAnywhere, fullName, getRepo, newId } from "./state.js";
import {
  addProjectItem,
  createProject,
  fieldPrefix,
  optionId,
  replaceFieldOptions,
  SandboxError,
  setItemField,
} from "./mutations.js";
import { nodeId, parseNodeId } from "./shapes.js";
import type { CountedRateLimit } from "./rate-limits.js";
import { takeGraphQLRateLimit } from "./rate-limits.js";

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
]);

export function handleGraphQL(state: GitHubState, body: unknown, login: string): GraphQLResponse {
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

  // executeSync runs the resolvers synchronously: the flag holds for exactly this request.
  viewerIsApp = login.toLowerCase() === botLogin(state).toLowerCase();
  const result = executeSync({
    schema: githubSchema(),
    document,
    rootValue:
      operation.operation === "mutation" ? mutationRoot(state, login) : queryRoot(state, login, counted),
    variableValues: (request.variables ?? {}) as Record<string, unknown>,
    ...(operationName ? { operationName } : {}),
  });
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

/** Whether the request being executed comes from the App (its installation token), not a person. */
let viewerIsApp = false;

/**
 * A GitHub App cannot reach a Project (v2) owned by a user: GitHub's docs recommend "a GitHub App (recommended for
 * organization projects) or a personal access token (recommended for user projects)", and an App's only Projects
 * permission is the organization's
 * (https://docs.github.com/en/issues/planning-and-tracking-with-projects/automating-your-project/automating-projects-using-actions).
 * GitHub answers with its usual FORBIDDEN error, "Resource not accessible by integration", and a null in its place.
 */
function refuseUserProjectToApp(state: GitHubState, owner: string): void {
  if (!viewerIsApp) return;
  const u = ensureUser(state, owner);
  if (u.type !== "Organization") throw new SandboxError(403, "Resource not accessible by integration");
}

/** GitHub's wording for the commonest validation error, so error handling can be tested against it. */
function githubStyle(error: GraphQLError): Record<string, unknown> {
  const unknownField = /^Cannot query field "(\w+)" on type "(\w+)"/.exec(error.message);
  const original = error.originalError;
  const type =
    original instanceof SandboxError
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

// ---------------------------------------------------------------------------------------------------------------
// Object graph: plain objects with __typename; functions are field resolvers taking the field's arguments.

type Obj = Record<string, unknown>;
type Args = Record<string, unknown>;

function connection<T>(list: T[], args: Args): Obj {
  const after =
    typeof args["after"] === "string" ? Number(Buffer.from(args["after"], "base64").toString()) + 1 : 0;
  const first = typeof args["first"] === "number" ? args["first"] : 100;
  if (first > 100)
    throw new SandboxError(422, "Requesting more than 100 records on a connection is not allowed");
  const slice = list.slice(after, after + first);
  const cursor = (i: number) => Buffer.from(String(after + i)).toString("base64");
  return {
    nodes: slice,
    edges: slice.map((node, i) => ({ node, cursor: cursor(i) })),
    totalCount: list.length,
    pageInfo: {
      hasNextPage: after + first < list.length,
      hasPreviousPage: after > 0,
      startCursor: slice.length ? cursor(0) : null,
      endCursor: slice.length ? cursor(slice.length - 1) : null,
    },
  };
}

function ownerObj(state: GitHubState, login: string): Obj {
  const u = ensureUser(state, login);
  const projects = () => state.projects.filter((p) => p.owner.toLowerCase() === u.login.toLowerCase());
  return {
    __typename: u.type === "Organization" ? "Organization" : u.type === "Bot" ? "Bot" : "User",
    id: nodeId(u.type === "Organization" ? "O" : u.type === "Bot" ? "BOT" : "U", u.id),
    databaseId: u.id,
    login: u.login,
    url: `${state.htmlBase}/${u.login}`,
    projectV2: (args: Args) => {
      refuseUserProjectToApp(state, u.login);
      const p = projects().find((x) => x.number === args["number"]);
      if (!p)
        throw new SandboxError(
          404,
          `Could not resolve to a ProjectV2 with the number ${String(args["number"])}.`,
        );
      return projectObj(state, p);
    },
    projectsV2: (args: Args) => {
      refuseUserProjectToApp(state, u.login);
      return connection(
        projects().map((p) => projectObj(state, p)),
        args,
      );
    },
  };
}

function projectObj(state: GitHubState, p: Project): Obj {
  return {
    __typename: "ProjectV2",
    id: nodeId("PVT", p.id),
    databaseId: p.id,
    number: p.number,
    title: p.title,
    closed: p.closed,
    public: false,
    createdAt: p.createdAt,
    updatedAt: p.createdAt,
    url: `${state.htmlBase}/orgs/${p.owner}/projects/${p.number}`,
    owner: () => ownerObj(state, p.owner),
    fields: (args: Args) =>
      connection(
        p.fields.map((f) => fieldObj(state, p, f)),
        args,
      ),
    field: (args: Args) => {
      const f = p.fields.find((x) => x.name === args["name"]);
      return f ? fieldObj(state, p, f) : null;
    },
    items: (args: Args) =>
      connection(
        p.items.map((i) => itemObj(state, p, i)),
        args,
      ),
  };
}

function fieldObj(state: GitHubState, p: Project, f: ProjectField): Obj {
  const common = {
    id: nodeId(fieldPrefix(f.dataType), f.id),
    databaseId: f.id,
    name: f.name,
    dataType: f.dataType,
    createdAt: p.createdAt,
    updatedAt: p.createdAt,
    project: () => projectObj(state, p),
  };
  if (f.dataType === "SINGLE_SELECT")
    return {
      __typename: "ProjectV2SingleSelectField",
      ...common,
      options: (args: Args) => {
        const names = Array.isArray(args["names"]) ? (args["names"] as string[]) : undefined;
        return f.options
          .filter((o) => !names || names.includes(o.name))
          .map((o) => ({ ...o, nameHTML: o.name, descriptionHTML: o.description }));
      },
    };
  if (f.dataType === "ITERATION")
    return {
      __typename: "ProjectV2IterationField",
      ...common,
      configuration: { duration: 14, startDay: 1, iterations: [], completedIterations: [] },
    };
  return { __typename: "ProjectV2Field", ...common };
}

function valueObj(state: GitHubState, p: Project, item: ProjectItem, f: ProjectField, v: FieldValue): Obj {
  const common = {
    id: nodeId("PVTFV", f.id * 1000 + item.id),
    field: () => fieldObj(state, p, f),
    item: () => itemObj(state, p, item),
    createdAt: item.updatedAt,
    updatedAt: item.updatedAt,
  };
  if ("singleSelectOptionId" in v) {
    const o = f.options.find((x) => x.id === v.singleSelectOptionId);
    return {
      __typename: "ProjectV2ItemFieldSingleSelectValue",
      ...common,
      optionId: v.singleSelectOptionId,
      name: o?.name ?? null,
      nameHTML: o?.name ?? null,
      color: o?.color ?? "GRAY",
    };
  }
  if ("text" in v) return { __typename: "ProjectV2ItemFieldTextValue", ...common, text: v.text };
  if ("number" in v) return { __typename: "ProjectV2ItemFieldNumberValue", ...common, number: v.number };
  if ("date" in v) return { __typename: "ProjectV2ItemFieldDateValue", ...common, date: v.date };
  return { __typename: "ProjectV2ItemFieldIterationValue", ...common, iterationId: v.iterationId };
}

function itemObj(state: GitHubState, p: Project, item: ProjectItem): Obj {
  const content = contentObj(state, item.contentNodeId);
  const values = () =>
    p.fields.flatMap((f) => {
      const v = item.values.get(f.id);
      return v ? [valueObj(state, p, item, f, v)] : [];
    });
  return {
    __typename: "ProjectV2Item",
    id: nodeId("PVTI", item.id),
    databaseId: item.id,
    type: content ? (content["__typename"] === "PullRequest" ? "PULL_REQUEST" : "ISSUE") : "DRAFT_ISSUE",
    isArchived: item.archived,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    project: () => projectObj(state, p),
    content,
    fieldValues: (args: Args) => connection(values(), args),
    fieldValueByName: (args: Args) => {
      const f = p.fields.find((x) => x.name === args["name"]);
      const v = f ? item.values.get(f.id) : undefined;
      return f && v ? valueObj(state, p, item, f, v) : null;
    },
  };
}

function contentObj(state: GitHubState, contentNodeId: string): Obj | null {
  const parsed = parseNodeId(contentNodeId);
  if (!parsed || (parsed.prefix !== "I" && parsed.prefix !== "PR")) return null;
  const found = findIssueAnywhere(state, parsed.id);
  return found ? issueObj(state, found.repo, found.issue) : null;
}

function issueObj(state: GitHubState, repo: Repository, issue: Issue): Obj {
  const id = nodeId(issue.pull ? "PR" : "I", issue.id);
  const items = () =>
    state.projects.flatMap((p) =>
      p.items.filter((i) => i.contentNodeId === id).map((i) => itemObj(state, p, i)),
    );
  return {
    __typename: issue.pull ? "PullRequest" : "Issue",
    id,
    databaseId: issue.id,
    number: issue.number,
    title: issue.title,
    body: issue.body ?? "",
    url: `${state.htmlBase}/${fullName(repo)}/${issue.pull ? "pull" : "issues"}/${issue.number}`,
    state: issue.pull?.merged ? "MERGED" : issue.state === "open" ? "OPEN" : "CLOSED",
    closed: issue.state === "closed",
    merged: issue.pull?.merged ?? false,
    createdAt: issue.createdAt,
    updatedAt: issue.updatedAt,
    repository: () => repoObj(state, repo),
    projectItems: (args: Args) => connection(items(), args),
    projectsV2: (args: Args) =>
      connection(
        state.projects
          .filter((p) => p.items.some((i) => i.contentNodeId === id))
          .map((p) => projectObj(state, p)),
        args,
      ),
  };
}

function repoObj(state: GitHubState, repo: Repository): Obj {
  const byNumber = (args: Args, kind?: "issue" | "pr") => {
    const issue = repo.issues.get(Number(args["number"]));
    if (!issue || (kind === "issue" && issue.pull) || (kind === "pr" && !issue.pull))
      throw new SandboxError(
        404,
        `Could not resolve to an issue or pull request with the number of ${String(args["number"])}.`,
      );
    return issueObj(state, repo, issue);
  };
  return {
    __typename: "Repository",
    id: nodeId("R", repo.id),
    databaseId: repo.id,
    name: repo.name,
    nameWithOwner: fullName(repo),
    url: `${state.htmlBase}/${fullName(repo)}`,
    owner: () => ownerObj(state, repo.owner),
    issue: (args: Args) => byNumber(args, "issue"),
    pullRequest: (args: Args) => byNumber(args, "pr"),
    issueOrPullRequest: (args: Args) => byNumber(args),
  };
}

function resolveNode(state: GitHubState, id: string): Obj | null {
  const parsed = parseNodeId(id);
  if (!parsed) return null;
  if (parsed.prefix === "I" || parsed.prefix === "PR") return contentObj(state, id);
  for (const p of state.projects) {
    const item = p.items.find((i) => i.id === parsed.id);
    const field = p.fields.find((f) => f.id === parsed.id);
    const hit =
      (parsed.prefix === "PVT" && p.id === parsed.id) ||
      (parsed.prefix === "PVTI" && item) ||
      (field && parsed.prefix.startsWith("PVT"));
    if (hit) refuseUserProjectToApp(state, p.owner);
    if (parsed.prefix === "PVT" && p.id === parsed.id) return projectObj(state, p);
    if (parsed.prefix === "PVTI" && item) return itemObj(state, p, item);
    if (field && parsed.prefix.startsWith("PVT")) return fieldObj(state, p, field);
  }
  for (const repo of state.repos.values())
    if (parsed.prefix === "R" && repo.id === parsed.id) return repoObj(state, repo);
  for (const u of state.users.values()) if (u.id === parsed.id) return ownerObj(state, u.login);
  return null;
}

function queryRoot(state: GitHubState, login: string, counted: CountedRateLimit | undefined): Obj {
  const owner = (args: Args, type?: "Organization" | "User") => {
    const u = state.users.get(String(args["login"]).toLowerCase());
    if (
      !u ||
      (type === "Organization" && u.type !== "Organization") ||
      (type === "User" && u.type === "Organization")
    )
      throw new SandboxError(
        404,
        `Could not resolve to a${type === "Organization" ? "n Organization" : " User"} with the login of '${String(args["login"])}'.`,
      );
    return ownerObj(state, u.login);
  };
  return {
    organization: (args: Args) => owner(args, "Organization"),
    user: (args: Args) => owner(args, "User"),
    repositoryOwner: (args: Args) =>
      state.users.has(String(args["login"]).toLowerCase()) ? owner(args) : null,
    repository: (args: Args) => {
      const repo = getRepo(state, String(args["owner"]), String(args["name"]));
      if (!repo)
        throw new SandboxError(
          404,
          `Could not resolve to a Repository with the name '${String(args["owner"])}/${String(args["name"])}'.`,
        );
      return repoObj(state, repo);
    },
    node: (args: Args) => resolveNode(state, String(args["id"])),
    nodes: (args: Args) => ((args["ids"] as string[]) ?? []).map((id) => resolveNode(state, id)),
    viewer: () => ownerObj(state, login),
    rateLimit: graphqlRateLimit(state, counted),
  };
}

/** `rateLimit` as the request's headers say (rate-limits.ts counted it), or a fresh budget when served directly. */
function graphqlRateLimit(state: GitHubState, counted: CountedRateLimit | undefined): Obj {
  if (!counted)
    return {
      limit: 5000,
      cost: 1,
      remaining: 4999,
      used: 1,
      resetAt: new Date(state.clock().getTime() + 3600_000).toISOString(),
      nodeCount: 1,
    };
  return {
    limit: counted.limit,
    cost: counted.cost,
    remaining: counted.remaining,
    used: counted.used,
    resetAt: new Date(counted.reset * 1000).toISOString(),
    nodeCount: 1,
  };
}

function projectById(state: GitHubState, id: unknown): Project {
  const parsed = typeof id === "string" ? parseNodeId(id) : undefined;
  const p = parsed?.prefix === "PVT" ? state.projects.find((x) => x.id === parsed.id) : undefined;
  if (!p) throw new SandboxError(404, `Could not resolve to a node with the global id of '${String(id)}'.`);
  refuseUserProjectToApp(state, p.owner);
  return p;
}

function itemById(p: Project, id: unknown): ProjectItem {
  const parsed = typeof id === "string" ? parseNodeId(id) : undefined;
  const item = parsed?.prefix === "PVTI" ? p.items.find((i) => i.id === parsed.id) : undefined;
  if (!item)
    throw new SandboxError(404, `Could not resolve to a node with the global id of '${String(id)}'.`);
  return item;
}

function fieldById(p: Project, id: unknown): ProjectField {
  const parsed = typeof id === "string" ? parseNodeId(id) : undefined;
  const f = parsed ? p.fields.find((x) => x.id === parsed.id) : undefined;
  if (!f) throw new SandboxError(404, `Could not resolve to a node with the global id of '${String(id)}'.`);
  return f;
}

type OptionInput = { name: string; color: string; description: string };

function mutationRoot(state: GitHubState, login: string): Obj {
  const input = (args: Args) => (args["input"] ?? {}) as Record<string, unknown>;
  const echo = (i: Record<string, unknown>) => ({ clientMutationId: i["clientMutationId"] ?? null });
  return {
    addProjectV2ItemById: (args: Args) => {
      const i = input(args);
      const p = projectById(state, i["projectId"]);
      if (!contentObj(state, String(i["contentId"])))
        throw new SandboxError(
          404,
          `Could not resolve to a node with the global id of '${String(i["contentId"])}'.`,
        );
      return { ...echo(i), item: itemObj(state, p, addProjectItem(state, p, String(i["contentId"]))) };
    },
    updateProjectV2ItemFieldValue: (args: Args) => {
      const i = input(args);
      const p = projectById(state, i["projectId"]);
      const item = itemById(p, i["itemId"]);
      const field = fieldById(p, i["fieldId"]);
      const value = fieldValue(field, (i["value"] ?? {}) as Record<string, unknown>);
      setItemField(state, p, item, field.id, value, login);
      return { ...echo(i), projectV2Item: itemObj(state, p, item) };
    },
    clearProjectV2ItemFieldValue: (args: Args) => {
      const i = input(args);
      const p = projectById(state, i["projectId"]);
      const item = itemById(p, i["itemId"]);
      setItemField(state, p, item, fieldById(p, i["fieldId"]).id, undefined, login);
      return { ...echo(i), projectV2Item: itemObj(state, p, item) };
    },
    deleteProjectV2Item: (args: Args) => {
      const i = input(args);
      const p = projectById(state, i["projectId"]);
      const item = itemById(p, i["itemId"]);
      p.items = p.items.filter((x) => x !== item);
      return { ...echo(i), deletedItemId: nodeId("PVTI", item.id) };
    },
    createProjectV2: (args: Args) => {
      const i = input(args);
      const owner = parseNodeId(String(i["ownerId"]));
      const user = owner ? [...state.users.values()].find((u) => u.id === owner.id) : undefined;
      if (!user)
        throw new SandboxError(
          404,
          `Could not resolve to a node with the global id of '${String(i["ownerId"])}'.`,
        );
      refuseUserProjectToApp(state, user.login);
      return {
        ...echo(i),
        projectV2: projectObj(state, createProject(state, user.login, String(i["title"]))),
      };
    },
    createProjectV2Field: (args: Args) => {
      const i = input(args);
      const p = projectById(state, i["projectId"]);
      const name = String(i["name"]);
      if (p.fields.some((f) => f.name.toLowerCase() === name.toLowerCase()))
        throw new SandboxError(422, "Name has already been taken");
      const dataType = String(i["dataType"]) as ProjectField["dataType"];
      const options = (i["singleSelectOptions"] ?? []) as OptionInput[];
      if (dataType === "SINGLE_SELECT" && options.length === 0)
        throw new SandboxError(422, "Single select fields must have at least one option");
      const field: ProjectField = {
        id: newId(state),
        name,
        dataType,
        options: options.map((o) => ({
          id: optionId(`${name}/${o.name}`),
          name: o.name,
          color: o.color,
          description: o.description,
        })),
      };
      p.fields.push(field);
      return { ...echo(i), projectV2Field: fieldObj(state, p, field) };
    },
    updateProjectV2Field: (args: Args) => {
      const i = input(args);
      const owner = state.projects.find((p) =>
        p.fields.some((f) => nodeId(fieldPrefix(f.dataType), f.id) === i["fieldId"]),
      );
      if (!owner)
        throw new SandboxError(
          404,
          `Could not resolve to a node with the global id of '${String(i["fieldId"])}'.`,
        );
      refuseUserProjectToApp(state, owner.owner);
      const field = fieldById(owner, i["fieldId"]);
      if (typeof i["name"] === "string") field.name = i["name"];
      const options = i["singleSelectOptions"] as OptionInput[] | undefined;
      // "If empty, no changes will be made to the options" (UpdateProjectV2FieldInput, GitHub's schema).
      if (options && options.length > 0) replaceFieldOptions(state, owner, field, options);
      return { ...echo(i), projectV2Field: fieldObj(state, owner, field) };
    },
  };
}

function fieldValue(field: ProjectField, v: Record<string, unknown>): FieldValue {
  const set = Object.entries(v).filter(([, x]) => x !== undefined && x !== null);
  if (set.length !== 1) throw new SandboxError(422, "Exactly one value must be given");
  const [key, value] = set[0] as [string, unknown];
  const expected: Record<string, string> = {
    text: "TEXT",
    number: "NUMBER",
    date: "DATE",
    singleSelectOptionId: "SINGLE_SELECT",
    iterationId: "ITERATION",
  };
  if (expected[key] !== field.dataType)
    throw new SandboxError(
      422,
      `The field ${field.name} is a ${field.dataType} field; ${key} does not apply`,
    );
  if (key === "singleSelectOptionId" && !field.options.some((o) => o.id === value))
    throw new SandboxError(422, `The single select option Id does not belong to the field ${field.name}`);
  if (key === "number") return { number: Number(value) };
  return { [key]: String(value) } as FieldValue;
}
