/**
 * Projects (v2) GraphQL executors: every document Trellis sends is validated against GitHub's real
 * schema (@octokit/graphql-schema), its variables coerced against the operation's declared types,
 * and the executors are driven through Octokit against nock with the request bodies checked.
 */
import { schema as githubIdl } from "@octokit/graphql-schema";
import {
  buildSchema,
  getVariableValues,
  Kind,
  parse,
  validate,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { planFields, type FieldChange } from "../../src/core/board.js";
import { defaultConfig } from "../../src/core/config.js";
import {
  addItems,
  addItemsDocument,
  applyFieldChanges,
  contentIds,
  contentIdsDocument,
  CREATE_PROJECT_MUTATION,
  createProject,
  fieldChangesDocument,
  ITEM_QUERY,
  itemWritesDocument,
  MORE_FIELDS_QUERY,
  OWNER_PROJECT_QUERY,
  readItem,
  readOwnerProject,
  readSelectValues,
  selectValuesDocument,
  writeItems,
} from "../../src/github/projects.js";
import { repo, testOctokit } from "./helpers.js";

let githubSchema: GraphQLSchema | undefined;
const schema = (): GraphQLSchema => (githubSchema ??= buildSchema(githubIdl.idl, { assumeValidSDL: true }));

/** Problems GitHub would report for this document with these variables (empty: it would accept it). */
function graphqlProblems(query: string, variables: Record<string, unknown> = {}): string[] {
  let doc;
  try {
    doc = parse(query);
  } catch (error) {
    return [String(error)];
  }
  const problems = validate(schema(), doc).map((e) => e.message);
  if (problems.length > 0) return problems;
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!op) return ["no operation"];
  const coerced = getVariableValues(schema(), op.variableDefinitions ?? [], variables);
  return (coerced.errors ?? []).map((e) => e.message);
}

interface Sent {
  operation: string;
  query: string;
  variables: Record<string, unknown>;
}

/** POST /graphql on nock: every request validated; answers come from `answer` by operation name. */
function fakeGraphQL(answer: (req: Sent) => object) {
  const sent: Sent[] = [];
  const problems: string[] = [];
  nock("https://api.github.com")
    .persist()
    .post("/graphql")
    .reply((_uri, body) => {
      const b = body as { query: string; variables?: Record<string, unknown> };
      const variables = b.variables ?? {};
      problems.push(...graphqlProblems(b.query, variables));
      const op = parse(b.query).definitions[0] as OperationDefinitionNode;
      const req = { operation: op.name?.value ?? "", query: b.query, variables };
      sent.push(req);
      return [200, answer(req)];
    });
  return { sent, problems };
}

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});

const rawStatus = {
  __typename: "ProjectV2SingleSelectField",
  id: "PVTSSF_status",
  name: "Status",
  dataType: "SINGLE_SELECT",
  options: [
    { id: "o_todo", name: "Todo", color: "GRAY", description: "" },
    { id: "o_prog", name: "In Progress", color: "YELLOW", description: "" },
    { id: "o_done", name: "Done", color: "GREEN", description: "" },
  ],
};
const rawTitle = { __typename: "ProjectV2Field", id: "PVTF_title", name: "Title", dataType: "TITLE" };
const rawSprint = {
  __typename: "ProjectV2IterationField",
  id: "PVTIF_sprint",
  name: "Iteration",
  dataType: "ITERATION",
  configuration: { iterations: [{ id: "it1", startDate: "2026-11-16", duration: 14 }] },
};

describe("every document is valid for GitHub's schema", () => {
  const allChanges: FieldChange[] = [
    ...planFields([], { config: defaultConfig().board, agents: ["dev", "qa"] }).changes,
    {
      op: "update",
      field: "status",
      fieldId: "PVTSSF_x",
      name: "Status",
      options: [{ name: "Ready", color: "BLUE", description: "" }],
      added: ["Ready"],
    },
  ];
  const documents: [string, string, Record<string, unknown>][] = [
    ["owner + project", OWNER_PROJECT_QUERY, { login: "octo-org", number: 3, withProject: true }],
    ["owner only", OWNER_PROJECT_QUERY, { login: "octo-org", number: 0, withProject: false }],
    ["more fields", MORE_FIELDS_QUERY, { project: "PVT_1", after: "Y3Vyc29y" }],
    ["create project", CREATE_PROJECT_MUTATION, { owner: "O_1", title: "Trellis" }],
    ["item", ITEM_QUERY, { item: "PVTI_1", status: "Status" }],
    ["field changes", ...spread(fieldChangesDocument("PVT_1", allChanges))],
    ["content ids", ...spread(contentIdsDocument(repo, [1, 2, 3]))],
    ["select values", ...spread(selectValuesDocument("PVT_1", ["Status", "Agent"], null))],
    ["select values, next page", ...spread(selectValuesDocument("PVT_1", ["Status"], "Y3Vyc29y"))],
    ["add items", ...spread(addItemsDocument("PVT_1", ["I_1", "PR_2"]))],
    [
      "item writes",
      ...spread(
        itemWritesDocument("PVT_1", [
          {
            itemId: "PVTI_1",
            writes: [
              { fieldId: "F_status", value: { singleSelectOptionId: "o1" } },
              { fieldId: "F_stage", value: { text: "dev" } },
              { fieldId: "F_cost", value: { number: 1.25 } },
              { fieldId: "F_iter", value: { iterationId: "it1" } },
              { fieldId: "F_agent", value: null },
            ],
          },
          { itemId: "PVTI_2", writes: [{ fieldId: "F_status", value: { singleSelectOptionId: "o2" } }] },
        ]),
      ),
    ],
  ];
  test.each(documents)("%s", (_name, query, variables) => {
    expect(graphqlProblems(query, variables)).toEqual([]);
  });

  test("the validator does catch what GitHub would refuse", () => {
    expect(graphqlProblems('query { repositoryOwner(login: "x") { projectV2s } }')).not.toEqual([]);
    expect(graphqlProblems(CREATE_PROJECT_MUTATION, { owner: "O_1" })).not.toEqual([]); // title missing
    const bad = fieldChangesDocument("PVT_1", [
      {
        op: "create",
        field: "status",
        name: "Status",
        dataType: "SINGLE_SELECT",
        options: [{ name: "x", color: "MAUVE" as "RED", description: "" }],
      },
    ]);
    expect(graphqlProblems(bad.query, bad.variables).join()).toMatch(/MAUVE/);
  });
});

function spread(d: { query: string; variables: Record<string, unknown> }): [string, Record<string, unknown>] {
  return [d.query, d.variables];
}

describe("executors", () => {
  test("readOwnerProject reads the owner id, the project and all its fields (paginated)", async () => {
    const gh = fakeGraphQL((req) =>
      req.operation === "TrellisOwnerProject"
        ? {
            data: {
              repositoryOwner: {
                __typename: "Organization",
                id: "O_org",
                projectV2: {
                  id: "PVT_1",
                  number: 3,
                  title: "Trellis",
                  url: "https://github.com/orgs/octo-org/projects/3",
                  fields: {
                    pageInfo: { hasNextPage: true, endCursor: "c1" },
                    nodes: [rawTitle, rawStatus],
                  },
                },
              },
            },
          }
        : {
            data: {
              node: { fields: { pageInfo: { hasNextPage: false, endCursor: null }, nodes: [rawSprint] } },
            },
          },
    );
    const got = await readOwnerProject(testOctokit(), "octo-org", 3);
    expect(gh.problems).toEqual([]);
    expect(gh.sent.map((s) => s.operation)).toEqual(["TrellisOwnerProject", "TrellisProjectFields"]);
    expect(gh.sent[0]!.variables).toEqual({ login: "octo-org", number: 3, withProject: true });
    expect(gh.sent[1]!.variables).toEqual({ project: "PVT_1", after: "c1" });
    expect(got.owner).toEqual({ id: "O_org", type: "Organization" });
    expect(got.project?.fields.map((f) => f.name)).toEqual(["Title", "Status", "Iteration"]);
    expect(got.project?.fields[2]?.iterations).toEqual([
      { id: "it1", startDate: "2026-11-16", duration: 14 },
    ]);
  });

  test("a project number that does not exist gives the owner and no project", async () => {
    const gh = fakeGraphQL(() => ({
      data: { repositoryOwner: { __typename: "User", id: "U_1", projectV2: null } },
      errors: [
        {
          type: "NOT_FOUND",
          path: ["repositoryOwner", "projectV2"],
          message: "Could not resolve to a ProjectV2 with the number 9.",
        },
      ],
    }));
    const got = await readOwnerProject(testOctokit(), "octocat", 9);
    expect(got).toEqual({ owner: { id: "U_1", type: "User" } });
    expect(gh.problems).toEqual([]);
  });

  test("other GraphQL errors are thrown, with GitHub's message", async () => {
    fakeGraphQL(() => ({
      data: null,
      errors: [{ type: "FORBIDDEN", message: "Resource not accessible by integration" }],
    }));
    await expect(readOwnerProject(testOctokit(), "octo-org", 1)).rejects.toThrow(/not accessible/);
  });

  test("a user's project refused to the App gives the owner (its type tells why) and no project", async () => {
    fakeGraphQL(() => ({
      data: { repositoryOwner: { __typename: "User", id: "U_1", projectV2: null } },
      errors: [
        {
          type: "FORBIDDEN",
          path: ["repositoryOwner", "projectV2"],
          extensions: { saml_failure: false },
          message: "Resource not accessible by integration",
        },
      ],
    }));
    expect(await readOwnerProject(testOctokit(), "octocat", 1)).toEqual({
      owner: { id: "U_1", type: "User" },
    });
  });

  test("the same refusal for an organization's project (a missing permission) is thrown", async () => {
    fakeGraphQL(() => ({
      data: { repositoryOwner: { __typename: "Organization", id: "O_1", projectV2: null } },
      errors: [{ type: "FORBIDDEN", message: "Resource not accessible by integration" }],
    }));
    await expect(readOwnerProject(testOctokit(), "octo-org", 1)).rejects.toThrow(/not accessible/);
  });

  test("readSelectValues reads every card's values by option name, 100 cards a page, up to a bound", async () => {
    const page = (n: number, next: boolean) => ({
      data: {
        node: {
          items: {
            pageInfo: { hasNextPage: next, endCursor: `c${n}` },
            nodes: [
              { id: `I${n}a`, v0: { name: "Done" }, v1: null },
              { id: `I${n}b`, v0: {}, v1: { name: "dev" } }, // {}: a value of another type, or none
            ],
          },
        },
      },
    });
    const gh = fakeGraphQL((req) => page(req.variables.after ? 2 : 1, !req.variables.after));
    const fields = [
      { id: "F_status", name: "Status" },
      { id: "F_agent", name: "Agent" },
    ];
    expect(await readSelectValues(testOctokit(), "PVT_1", fields, 100)).toEqual([
      { itemId: "I1a", fieldId: "F_status", optionName: "Done" },
      { itemId: "I1b", fieldId: "F_agent", optionName: "dev" },
      { itemId: "I2a", fieldId: "F_status", optionName: "Done" },
      { itemId: "I2b", fieldId: "F_agent", optionName: "dev" },
    ]);
    expect(gh.sent.map((r) => r.variables)).toEqual([
      { project: "PVT_1", after: null, n0: "Status", n1: "Agent" },
      { project: "PVT_1", after: "c1", n0: "Status", n1: "Agent" },
    ]);
    expect(gh.problems).toEqual([]);
    gh.sent.length = 0;
    // More cards than the bound: undefined after the bound's pages, not one request more.
    expect(await readSelectValues(testOctokit(), "PVT_1", fields, 2)).toBeUndefined();
    expect(gh.sent).toHaveLength(1);
  });

  test("an unknown owner is a clear error", async () => {
    fakeGraphQL(() => ({ data: { repositoryOwner: null } }));
    await expect(readOwnerProject(testOctokit(), "nobody", 0)).rejects.toThrow(
      /no user or organisation "nobody"/,
    );
  });

  test("createProject creates it with the owner id and title", async () => {
    const gh = fakeGraphQL(() => ({
      data: {
        createProjectV2: {
          projectV2: {
            id: "PVT_new",
            number: 7,
            title: "Trellis",
            url: "u",
            fields: { pageInfo: { hasNextPage: false, endCursor: null }, nodes: [rawTitle, rawStatus] },
          },
        },
      },
    }));
    const p = await createProject(testOctokit(), "O_org", "Trellis");
    expect(gh.sent[0]!.variables).toEqual({ owner: "O_org", title: "Trellis" });
    expect(p).toMatchObject({ id: "PVT_new", number: 7 });
    expect(p.fields.find((f) => f.name === "Status")?.options).toHaveLength(3);
  });

  test("applyFieldChanges creates and updates every field in ONE request", async () => {
    const { changes } = planFields(
      [{ id: "PVTSSF_status", name: "Status", dataType: "SINGLE_SELECT", options: rawStatus.options }],
      { config: defaultConfig().board, agents: ["dev"] },
    );
    const gh = fakeGraphQL((req) => ({
      data: Object.fromEntries(
        changes.map((c, i) => [
          `f${i}`,
          {
            projectV2Field:
              c.op === "update"
                ? { ...rawStatus, options: c.options.map((o, j) => ({ id: `s${j}`, ...o })) }
                : {
                    __typename:
                      c.dataType === "SINGLE_SELECT" ? "ProjectV2SingleSelectField" : "ProjectV2Field",
                    id: `F_${c.name}`,
                    name: c.name,
                    dataType: c.dataType,
                    ...(c.options ? { options: c.options.map((o, j) => ({ id: `a${j}`, ...o })) } : {}),
                  },
          },
        ]),
      ),
      ...(req.operation === "TrellisEnsureFields" ? {} : { errors: [{ message: "unexpected" }] }),
    }));
    const fields = await applyFieldChanges(testOctokit(), "PVT_1", changes);
    expect(gh.problems).toEqual([]);
    expect(gh.sent).toHaveLength(1);
    const vars = gh.sent[0]!.variables;
    // Status keeps its three options (Done matches "Done") and gains the six missing columns.
    expect(vars.update0).toMatchObject({ fieldId: "PVTSSF_status" });
    const names = (vars.update0 as { singleSelectOptions: { name: string }[] }).singleSelectOptions.map(
      (o) => o.name,
    );
    expect(names).toEqual([
      "Todo",
      "In Progress",
      "Done",
      "Backlog",
      "Ready",
      "Needs human",
      "In review",
      "Failed",
    ]);
    expect(vars.create1).toEqual({ projectId: "PVT_1", name: "Stage", dataType: "TEXT" });
    expect(vars.create3).toEqual({ projectId: "PVT_1", name: "Cost", dataType: "NUMBER" });
    expect(fields.map((f) => f.name)).toEqual(["Status", "Stage", "Agent", "Cost", "Batch"]);
    expect(fields[0]!.options).toHaveLength(8);
  });

  test("nothing to change sends nothing", async () => {
    expect(await applyFieldChanges(testOctokit(), "PVT_1", [])).toEqual([]);
    expect(await writeItems(testOctokit(), "PVT_1", [{ itemId: "I", writes: [] }])).toBe(false);
    expect(await contentIds(testOctokit(), repo, [])).toEqual(new Map());
    expect(await addItems(testOctokit(), "PVT_1", [])).toEqual(new Map());
  });

  test("contentIds and addItems resolve an issue and a PR in one request each", async () => {
    const gh = fakeGraphQL((req) =>
      req.operation === "TrellisContentIds"
        ? {
            data: {
              repository: {
                c0: { __typename: "Issue", id: "I_1" },
                c1: { __typename: "PullRequest", id: "PR_2" },
                c2: null,
              },
            },
          }
        : { data: { a0: { item: { id: "PVTI_a" } }, a1: { item: { id: "PVTI_b" } } } },
    );
    const ids = await contentIds(testOctokit(), repo, [1, 2, 404]);
    expect([...ids]).toEqual([
      [1, { id: "I_1", kind: "issue" }],
      [2, { id: "PR_2", kind: "pull_request" }],
    ]);
    const items = await addItems(testOctokit(), "PVT_1", ["I_1", "PR_2"]);
    expect([...items]).toEqual([
      ["I_1", "PVTI_a"],
      ["PR_2", "PVTI_b"],
    ]);
    expect(gh.problems).toEqual([]);
    expect(gh.sent[0]!.variables).toEqual({
      owner: "Codertocat",
      name: "Hello-World",
      n0: 1,
      n1: 2,
      n2: 404,
    });
    expect(gh.sent[1]!.variables).toEqual({ project: "PVT_1", c0: "I_1", c1: "PR_2" });
  });

  test("writeItems sends all writes of a transition in one document", async () => {
    const gh = fakeGraphQL(() => ({ data: {} }));
    const sent = await writeItems(testOctokit(), "PVT_1", [
      {
        itemId: "PVTI_a",
        writes: [
          { fieldId: "F_s", value: { singleSelectOptionId: "o_done" } },
          { fieldId: "F_stage", value: null },
        ],
      },
      { itemId: "PVTI_b", writes: [] },
      { itemId: "PVTI_c", writes: [{ fieldId: "F_cost", value: { number: 0.5 } }] },
    ]);
    expect(sent).toBe(true);
    expect(gh.problems).toEqual([]);
    expect(gh.sent).toHaveLength(1);
    const doc = parse(gh.sent[0]!.query).definitions[0] as OperationDefinitionNode;
    const fields = doc.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : ""));
    expect(fields).toEqual([
      "updateProjectV2ItemFieldValue",
      "clearProjectV2ItemFieldValue",
      "updateProjectV2ItemFieldValue",
    ]);
    expect(gh.sent[0]!.variables).toEqual({
      project: "PVT_1",
      i0: "PVTI_a",
      f0_0: "F_s",
      v0_0: { singleSelectOptionId: "o_done" },
      f0_1: "F_stage",
      i1: "PVTI_c",
      f1_0: "F_cost",
      v1_0: { number: 0.5 },
    });
  });

  test("readItem reads the card's Status and what it stands for", async () => {
    const gh = fakeGraphQL(() => ({
      data: {
        node: {
          id: "PVTI_a",
          project: { id: "PVT_1" },
          fieldValueByName: { name: "Ready", optionId: "o_ready" },
          content: {
            __typename: "Issue",
            id: "I_1",
            number: 1,
            title: "Spelling error in the README file",
            repository: { name: "Hello-World", owner: { login: "Codertocat" } },
          },
        },
      },
    }));
    const item = await readItem(testOctokit(), "PVTI_a", "Status");
    expect(gh.problems).toEqual([]);
    expect(gh.sent[0]!.variables).toEqual({ item: "PVTI_a", status: "Status" });
    expect(item).toEqual({
      itemId: "PVTI_a",
      projectId: "PVT_1",
      status: { name: "Ready", optionId: "o_ready" },
      content: {
        kind: "issue",
        id: "I_1",
        number: 1,
        title: "Spelling error in the README file",
        repo: { owner: "Codertocat", name: "Hello-World" },
      },
    });
  });

  test("readItem of a draft issue or a deleted item", async () => {
    fakeGraphQL((req) =>
      req.variables.item === "gone"
        ? { data: { node: null } }
        : {
            data: {
              node: {
                id: "PVTI_d",
                project: { id: "PVT_1" },
                fieldValueByName: null,
                content: { __typename: "DraftIssue" },
              },
            },
          },
    );
    expect(await readItem(testOctokit(), "gone")).toBeUndefined();
    expect(await readItem(testOctokit(), "PVTI_d")).toEqual({ itemId: "PVTI_d", projectId: "PVT_1" });
  });
});
