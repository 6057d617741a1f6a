import { beforeEach, describe, expect, it } from "vitest";
import type { GitHubState, StateEvent } from "../../src/github/index.js";
import {
  addProjectItem,
  createGitHubState,
  createIssue,
  createProject,
  handleGraphQL,
  nodeId,
  onStateEvent,
  setItemField,
} from "../../src/github/index.js";

let state: GitHubState;
let events: StateEvent[];
const gql = (query: string, variables: Record<string, unknown> = {}) =>
  handleGraphQL(state, { query, variables }, "trellis[bot]") as {
    data?: Record<string, unknown>;
    errors?: { message: string; extensions?: unknown; type?: string }[];
  };

beforeEach(() => {
  state = createGitHubState({
    users: [{ login: "acme", type: "Organization" }],
    repos: [{ owner: "acme", name: "web" }],
  });
  events = [];
  onStateEvent(state, (e) => events.push(e));
});

describe("GraphQL validation against GitHub's schema", () => {
  it("refuses an unknown field with GitHub's error shape", () => {
    const result = gql('query { organization(login: "acme") { projectV2(number: 1) { colour } } }');
    expect(result.data).toBeUndefined();
    expect(result.errors).toEqual([
      expect.objectContaining({
        message: "Field 'colour' doesn't exist on type 'ProjectV2'",
        extensions: { code: "undefinedField", typeName: "ProjectV2", fieldName: "colour" },
      }),
    ]);
  });

  it("refuses syntax errors and missing arguments", () => {
    expect(gql("query { organization(login: ").errors?.[0]?.message).toMatch(/Syntax Error/);
    expect(gql("query { organization { id } }").errors?.[0]?.message).toMatch(/argument "login"/);
  });

  it("answers valid operations it does not implement with a clear error", () => {
    const result = gql('query { codeOfConduct(key: "x") { name } }');
    expect(result.errors?.[0]?.message).toMatch(/codeOfConduct.*not implemented in the sandbox/);
  });
});

describe("Projects v2 operations", () => {
  it("creates a project and fields, adds an issue, sets values, and reads them back", () => {
    const org = gql('query { organization(login: "acme") { id } }').data?.["organization"] as { id: string };
    const created = gql(
      'mutation($owner: ID!) { createProjectV2(input: { ownerId: $owner, title: "Trellis" }) { projectV2 { id number title } } }',
      { owner: org.id },
    );
    const project = (created.data?.["createProjectV2"] as { projectV2: { id: string; number: number } })
      .projectV2;
    expect(project.number).toBe(1);

    const field = gql(
      `mutation($p: ID!) { createProjectV2Field(input: { projectId: $p, dataType: SINGLE_SELECT, name: "Stage",
        singleSelectOptions: [{ name: "Ready", color: GREEN, description: "" }, { name: "Done", color: PURPLE, description: "" }] }) {
        projectV2Field { ... on ProjectV2SingleSelectField { id name options { id name } } } } }`,
      { p: project.id },
    );
    const stage = (
      field.data?.["createProjectV2Field"] as {
        projectV2Field: { id: string; options: { id: string; name: string }[] };
      }
    ).projectV2Field;
    expect(stage.options.map((o) => o.name)).toEqual(["Ready", "Done"]);
    const duplicate = gql(
      `mutation($p: ID!) { createProjectV2Field(input: { projectId: $p, dataType: TEXT, name: "stage" }) { clientMutationId } }`,
      { p: project.id },
    );
    expect(duplicate.errors?.[0]?.message).toMatch(/already been taken/);

    const repo = state.repos.get("acme/web");
    if (!repo) throw new Error("no repo");
    createIssue(state, repo, { title: "Login", user: "acme" });
    const issueId = (
      gql('query { repository(owner: "acme", name: "web") { issue(number: 1) { id } } }').data?.[
        "repository"
      ] as { issue: { id: string } }
    ).issue.id;
    const added = gql(
      "mutation($p: ID!, $c: ID!) { addProjectV2ItemById(input: { projectId: $p, contentId: $c }) { item { id } } }",
      {
        p: project.id,
        c: issueId,
      },
    );
    const itemId = (added.data?.["addProjectV2ItemById"] as { item: { id: string } }).item.id;
    const again = gql(
      "mutation($p: ID!, $c: ID!) { addProjectV2ItemById(input: { projectId: $p, contentId: $c }) { item { id } } }",
      {
        p: project.id,
        c: issueId,
      },
    );
    expect((again.data?.["addProjectV2ItemById"] as { item: { id: string } }).item.id).toBe(itemId);

    events.length = 0;
    const ready = stage.options[0]?.id;
    const updated = gql(
      `mutation($p: ID!, $i: ID!, $f: ID!, $o: String!) { updateProjectV2ItemFieldValue(input: { projectId: $p, itemId: $i, fieldId: $f, value: { singleSelectOptionId: $o } }) { projectV2Item { id } } }`,
      { p: project.id, i: itemId, f: stage.id, o: ready },
    );
    expect(updated.errors).toBeUndefined();
    expect(events.map((e) => `${e.name}.${e.action}`)).toEqual(["projects_v2_item.edited"]);
    expect(events[0]?.fields["changes"]).toMatchObject({
      field_value: { field_node_id: stage.id, to: { name: "Ready" }, from: null },
    });

    const wrong = gql(
      `mutation($p: ID!, $i: ID!, $f: ID!) { updateProjectV2ItemFieldValue(input: { projectId: $p, itemId: $i, fieldId: $f, value: { text: "x" } }) { clientMutationId } }`,
      { p: project.id, i: itemId, f: stage.id },
    );
    expect(wrong.errors?.[0]?.message).toMatch(/SINGLE_SELECT/);

    const read = gql(
      `query { organization(login: "acme") { projectV2(number: 1) { id fields(first: 20) { nodes { ... on ProjectV2FieldCommon { name dataType } } }
        items(first: 10) { nodes { id content { ... on Issue { number } } fieldValueByName(name: "Stage") { ... on ProjectV2ItemFieldSingleSelectValue { name optionId } } } } } } }`,
    );
    const p = (
      read.data?.["organization"] as {
        projectV2: { fields: { nodes: { name: string }[] }; items: { nodes: unknown[] } };
      }
    ).projectV2;
    expect(p.fields.nodes.map((f) => f.name)).toEqual(["Title", "Status", "Stage"]);
    expect(p.items.nodes).toEqual([
      { id: itemId, content: { number: 1 }, fieldValueByName: { name: "Ready", optionId: ready } },
    ]);

    const lookup = gql(
      `query($id: ID!) { node(id: $id) { ... on Issue { projectItems(first: 5) { nodes { id project { number } } } } } }`,
      { id: issueId },
    );
    expect(lookup.data?.["node"]).toEqual({
      projectItems: { nodes: [{ id: itemId, project: { number: 1 } }] },
    });
  });

  it("reports a missing project as GitHub does", () => {
    const result = gql('query { organization(login: "acme") { projectV2(number: 9) { id } } }');
    expect(result.errors?.[0]).toMatchObject({
      type: "NOT_FOUND",
      message: expect.stringMatching(/ProjectV2 with the number 9/),
    });
  });
});

describe("updateProjectV2Field replaces a single select's options (GitHub's schema: the input has no option id)", () => {
  it("gives every option a new id and clears the item values that pointed at the old ones", () => {
    const org = gql('query { organization(login: "acme") { id } }').data?.["organization"] as { id: string };
    const project = (
      gql(
        'mutation($o: ID!) { createProjectV2(input: { ownerId: $o, title: "B" }) { projectV2 { id fields(first: 10) { nodes { ... on ProjectV2SingleSelectField { id name options { id name } } } } } } }',
        { o: org.id },
      ).data?.["createProjectV2"] as {
        projectV2: {
          id: string;
          fields: { nodes: { id?: string; name?: string; options?: { id: string; name: string }[] }[] };
        };
      }
    ).projectV2;
    const status = project.fields.nodes.find((f) => f.name === "Status")!;
    const repo = state.repos.get("acme/web")!;
    createIssue(state, repo, { title: "Login", user: "acme" });
    const issueId = (
      gql('query { repository(owner: "acme", name: "web") { issue(number: 1) { id } } }').data?.[
        "repository"
      ] as {
        issue: { id: string };
      }
    ).issue.id;
    const item = (
      gql(
        "mutation($p: ID!, $c: ID!) { addProjectV2ItemById(input: { projectId: $p, contentId: $c }) { item { id } } }",
        {
          p: project.id,
          c: issueId,
        },
      ).data?.["addProjectV2ItemById"] as { item: { id: string } }
    ).item.id;
    const done = status.options!.find((o) => o.name === "Done")!.id;
    gql(
      "mutation($p: ID!, $i: ID!, $f: ID!, $o: String!) { updateProjectV2ItemFieldValue(input: { projectId: $p, itemId: $i, fieldId: $f, value: { singleSelectOptionId: $o } }) { clientMutationId } }",
      { p: project.id, i: item, f: status.id, o: done },
    );

    const updated = gql(
      `mutation($f: ID!, $o: [ProjectV2SingleSelectFieldOptionInput!]) { updateProjectV2Field(input: { fieldId: $f, singleSelectOptions: $o }) {
        projectV2Field { ... on ProjectV2SingleSelectField { options { id name } } } } }`,
      {
        f: status.id,
        o: ["Todo", "In Progress", "Done", "Failed"].map((name) => ({
          name,
          color: "GRAY",
          description: "",
        })),
      },
    );
    expect(updated.errors).toBeUndefined();
    const after = (
      updated.data?.["updateProjectV2Field"] as {
        projectV2Field: { options: { id: string; name: string }[] };
      }
    ).projectV2Field.options;
    expect(after.map((o) => o.name)).toEqual(["Todo", "In Progress", "Done", "Failed"]);
    // Same names, new ids: nothing in the input says which old option a new one replaces.
    for (const o of status.options!) expect(after.map((a) => a.id)).not.toContain(o.id);
    const read = gql(
      'query($i: ID!) { node(id: $i) { ... on ProjectV2Item { fieldValueByName(name: "Status") { ... on ProjectV2ItemFieldSingleSelectValue { name } } } } }',
      { i: item },
    );
    expect(read.data?.["node"]).toEqual({ fieldValueByName: null });

    // An empty list changes nothing ("If empty, no changes will be made to the options").
    gql(
      "mutation($f: ID!) { updateProjectV2Field(input: { fieldId: $f, singleSelectOptions: [] }) { clientMutationId } }",
      {
        f: status.id,
      },
    );
    const kept = gql(
      'query { organization(login: "acme") { projectV2(number: 1) { field(name: "Status") { ... on ProjectV2SingleSelectField { options { id } } } } } }',
    );
    expect(
      (
        kept.data?.["organization"] as { projectV2: { field: { options: { id: string }[] } } }
      ).projectV2.field.options.map((o) => o.id),
    ).toEqual(after.map((o) => o.id));
  });
});

describe("a user's Project (v2) and a GitHub App (GitHub's docs: Apps are for organization projects)", () => {
  const asUser = (query: string, variables: Record<string, unknown> = {}) =>
    handleGraphQL(state, { query, variables }, "octocat") as {
      data?: Record<string, unknown>;
      errors?: { message: string; type?: string; path?: unknown[] }[];
    };

  beforeEach(() => {
    state = createGitHubState({
      users: [{ login: "acme", type: "Organization" }, "octocat"],
      repos: [{ owner: "octocat", name: "site" }],
    });
    events = [];
    onStateEvent(state, (e) => events.push(e));
    createProject(state, "octocat", "Mine");
  });

  it("is refused to the App with GitHub's FORBIDDEN error, the owner still answered", () => {
    const result = gql(
      'query { repositoryOwner(login: "octocat") { __typename id ... on ProjectV2Owner { projectV2(number: 1) { id } } } }',
    );
    expect(result.data?.["repositoryOwner"]).toMatchObject({ __typename: "User", projectV2: null });
    expect(result.errors).toEqual([
      expect.objectContaining({
        type: "FORBIDDEN",
        path: ["repositoryOwner", "projectV2"],
        message: "Resource not accessible by integration",
      }),
    ]);
    const owner = (result.data?.["repositoryOwner"] as { id: string }).id;
    const create = gql(
      'mutation($o: ID!) { createProjectV2(input: { ownerId: $o, title: "T" }) { projectV2 { id } } }',
      { o: owner },
    );
    expect(create.errors?.[0]).toMatchObject({ type: "FORBIDDEN" });
    // Its node ids are no way round it.
    const project = state.projects[0]!;
    const byId = gql("query($id: ID!) { node(id: $id) { id } }", { id: nodeId("PVT", project.id) });
    expect(byId.errors?.[0]).toMatchObject({ type: "FORBIDDEN" });
  });

  it("is readable by its owner with a personal token", () => {
    const result = asUser('query { user(login: "octocat") { projectV2(number: 1) { title } } }');
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ user: { projectV2: { title: "Mine" } } });
  });

  it("sends no projects_v2_item webhook for a user's project, one for an organization's", () => {
    const repo = state.repos.get("octocat/site")!;
    const issue = createIssue(state, repo, { title: "x", user: "octocat" });
    const mine = state.projects[0]!;
    const status = mine.fields.find((f) => f.name === "Status")!;
    events.length = 0;
    setItemField(
      state,
      mine,
      addProjectItem(state, mine, nodeId("I", issue.id)),
      status.id,
      { singleSelectOptionId: status.options[0]!.id },
      "octocat",
    );
    expect(events.filter((e) => e.name === "projects_v2_item")).toEqual([]);

    const org = createProject(state, "acme", "Ours");
    const orgStatus = org.fields.find((f) => f.name === "Status")!;
    setItemField(
      state,
      org,
      addProjectItem(state, org, nodeId("I", issue.id)),
      orgStatus.id,
      { singleSelectOptionId: orgStatus.options[0]!.id },
      "octocat",
    );
    expect(events.map((e) => `${e.name}.${e.action}`)).toEqual(["projects_v2_item.edited"]);
  });
});
