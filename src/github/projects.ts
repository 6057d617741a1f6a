/**
 * Projects (v2) through GitHub's GraphQL API. Every document here is valid for GitHub's real schema
 * (test/github/projects.test.ts validates each against @octokit/graphql-schema). Values always travel
 * as variables; several changes to one project go out as aliased mutations in ONE request.
 */
import type { FieldChange, FieldValueInput, ProjectField, SelectValue } from "../core/board.js";
import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";

/** `octokit.graphql`, or anything that sends a document with variables and returns `data`. */
export type GraphQLClient = Pick<GitHub, "graphql">;

const FIELD_SELECTION = `
  __typename
  ... on ProjectV2Field { id name dataType }
  ... on ProjectV2SingleSelectField { id name dataType options { id name color description } }
  ... on ProjectV2IterationField {
    id name dataType
    configuration { iterations { id startDate duration } }
  }`;

const PROJECT_SELECTION = `
  id number title url
  fields(first: 50) {
    pageInfo { hasNextPage endCursor }
    nodes { ${FIELD_SELECTION} }
  }`;

export const OWNER_PROJECT_QUERY = `
query TrellisOwnerProject($login: String!, $number: Int!, $withProject: Boolean!) {
  repositoryOwner(login: $login) {
    __typename
    id
    ... on ProjectV2Owner {
      projectV2(number: $number) @include(if: $withProject) { ${PROJECT_SELECTION} }
    }
  }
}`;

export const MORE_FIELDS_QUERY = `
query TrellisProjectFields($project: ID!, $after: String!) {
  node(id: $project) {
    ... on ProjectV2 {
      fields(first: 50, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { ${FIELD_SELECTION} }
      }
    }
  }
}`;

export const CREATE_PROJECT_MUTATION = `
mutation TrellisCreateProject($owner: ID!, $title: String!) {
  createProjectV2(input: { ownerId: $owner, title: $title }) {
    projectV2 { ${PROJECT_SELECTION} }
  }
}`;

export const ITEM_QUERY = `
query TrellisProjectItem($item: ID!, $status: String!) {
  node(id: $item) {
    ... on ProjectV2Item {
      id
      project { id }
      fieldValueByName(name: $status) {
        ... on ProjectV2ItemFieldSingleSelectValue { name optionId }
      }
      content {
        __typename
        ... on Issue { id number title repository { name owner { login } } }
        ... on PullRequest { id number title repository { name owner { login } } }
      }
    }
  }
}`;

interface RawField {
  __typename: string;
  id?: string;
  name?: string;
  dataType?: string;
  options?: { id: string; name: string; color?: string; description?: string }[];
  configuration?: { iterations?: { id: string; startDate: string; duration: number }[] };
}

interface RawFields {
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: (RawField | null)[];
}

interface RawProject {
  id: string;
  number: number;
  title: string;
  url: string;
  fields: RawFields;
}

export interface ProjectInfo {
  id: string;
  number: number;
  title: string;
  url: string;
  fields: ProjectField[];
}

export interface OwnerInfo {
  id: string;
  type: "Organization" | "User" | string;
}

function toField(raw: RawField): ProjectField | undefined {
  if (!raw.id || !raw.name || !raw.dataType) return undefined;
  return {
    id: raw.id,
    name: raw.name,
    dataType: raw.dataType,
    ...(raw.options ? { options: raw.options.map((o) => ({ ...o })) } : {}),
    ...(raw.configuration?.iterations ? { iterations: raw.configuration.iterations } : {}),
  };
}

/** All fields of a project: the first page came with the project; more pages are rare (≤ 50 fields). */
async function withAllFields(gql: GraphQLClient, raw: RawProject): Promise<ProjectInfo> {
  const fields: ProjectField[] = [];
  let page: RawFields | undefined = raw.fields;
  while (page) {
    for (const n of page.nodes) {
      const f = n && toField(n);
      if (f) fields.push(f);
    }
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) break;
    const more: { node: { fields?: RawFields } | null } = await gql.graphql(MORE_FIELDS_QUERY, {
      project: raw.id,
      after: page.pageInfo.endCursor,
    });
    page = more.node?.fields;
  }
  return { id: raw.id, number: raw.number, title: raw.title, url: raw.url, fields };
}

/** A GraphQL error list, whether Octokit threw it or returned it. */
function graphqlErrors(error: unknown): { type?: string; message: string; path?: unknown[] }[] | undefined {
  if (typeof error === "object" && error !== null && "errors" in error) {
    const errors = (error as { errors: unknown }).errors;
    if (Array.isArray(errors)) return errors as { type?: string; message: string }[];
  }
  return undefined;
}

/**
 * The owner's node id and, when `number` > 0, its project with all fields, in one query. A project
 * that does not exist (or the App cannot see) comes back as `project: undefined`.
 */
export async function readOwnerProject(
  gql: GraphQLClient,
  login: string,
  number: number,
): Promise<{ owner: OwnerInfo; project?: ProjectInfo }> {
  type Data = { repositoryOwner: { __typename: string; id: string; projectV2?: RawProject | null } | null };
  let data: Data;
  try {
    data = await gql.graphql<Data>(OWNER_PROJECT_QUERY, { login, number, withProject: number > 0 });
  } catch (error) {
    // "Could not resolve to a ProjectV2 with the number N" comes with the owner's partial data; so does
    // "Resource not accessible by integration" for a user's project, which no App can reach (the
    // caller tells the user why).
    const errors = graphqlErrors(error);
    const partial = (error as { data?: Data }).data;
    const owner = partial?.repositoryOwner;
    const tolerated = (e: { type?: string }): boolean =>
      e.type === "NOT_FOUND" || (e.type === "FORBIDDEN" && owner?.__typename === "User");
    if (!errors?.every(tolerated) || !owner) throw error;
    data = { repositoryOwner: { ...owner, projectV2: null } };
  }
  const owner = data.repositoryOwner;
  if (!owner) throw new Error(`GitHub has no user or organisation "${login}" (board.owner)`);
  const info: OwnerInfo = { id: owner.id, type: owner.__typename };
  return owner.projectV2
    ? { owner: info, project: await withAllFields(gql, owner.projectV2) }
    : { owner: info };
}

export async function createProject(
  gql: GraphQLClient,
  ownerId: string,
  title: string,
): Promise<ProjectInfo> {
  const data = await gql.graphql<{ createProjectV2: { projectV2: RawProject } }>(CREATE_PROJECT_MUTATION, {
    owner: ownerId,
    title,
  });
  return withAllFields(gql, data.createProjectV2.projectV2);
}

/** One document creating and updating every field in `changes` (aliased mutations, one request). */
export function fieldChangesDocument(
  projectId: string,
  changes: readonly FieldChange[],
): { query: string; variables: Record<string, unknown> } {
  const params: string[] = [];
  const body: string[] = [];
  const variables: Record<string, unknown> = {};
  changes.forEach((c, i) => {
    if (c.op === "create") {
      params.push(`$create${i}: CreateProjectV2FieldInput!`);
      variables[`create${i}`] = {
        projectId,
        name: c.name,
        dataType: c.dataType,
        ...(c.options ? { singleSelectOptions: c.options } : {}),
      };
      body.push(`f${i}: createProjectV2Field(input: $create${i}) { projectV2Field { ${FIELD_SELECTION} } }`);
    } else {
      params.push(`$update${i}: UpdateProjectV2FieldInput!`);
      variables[`update${i}`] = { fieldId: c.fieldId, singleSelectOptions: c.options };
      body.push(`f${i}: updateProjectV2Field(input: $update${i}) { projectV2Field { ${FIELD_SELECTION} } }`);
    }
  });
  return {
    query: `mutation TrellisEnsureFields(${params.join(", ")}) {\n  ${body.join("\n  ")}\n}`,
    variables,
  };
}

/** Applies field creations/updates in one request; returns the fields as GitHub now has them. */
export async function applyFieldChanges(
  gql: GraphQLClient,
  projectId: string,
  changes: readonly FieldChange[],
): Promise<ProjectField[]> {
  if (changes.length === 0) return [];
  const { query, variables } = fieldChangesDocument(projectId, changes);
  const data = await gql.graphql<Record<string, { projectV2Field: RawField | null } | null>>(
    query,
    variables,
  );
  return changes.flatMap((_c, i) => {
    const raw = data[`f${i}`]?.projectV2Field;
    const f = raw && toField(raw);
    return f ? [f] : [];
  });
}

/** One page of the project's cards with their values of the named single-select fields (`v<i>` per field). */
export function selectValuesDocument(
  projectId: string,
  fieldNames: readonly string[],
  after: string | null,
): { query: string; variables: Record<string, unknown> } {
  const params = ["$project: ID!", "$after: String"];
  const variables: Record<string, unknown> = { project: projectId, after };
  const values = fieldNames.map((name, i) => {
    params.push(`$n${i}: String!`);
    variables[`n${i}`] = name;
    return `v${i}: fieldValueByName(name: $n${i}) { ... on ProjectV2ItemFieldSingleSelectValue { name } }`;
  });
  return {
    query: `query TrellisSelectValues(${params.join(", ")}) {
  node(id: $project) {
    ... on ProjectV2 {
      items(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id ${values.join(" ")} }
      }
    }
  }
}`,
    variables,
  };
}

/**
 * Every card's value of these single-select fields, by option name (100 cards a request), or
 * undefined when the project has more than `maxItems` cards (the caller does not replace options then).
 */
export async function readSelectValues(
  gql: GraphQLClient,
  projectId: string,
  fields: readonly { id: string; name: string }[],
  maxItems: number,
): Promise<SelectValue[] | undefined> {
  type Page = {
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    nodes: ({ id: string } & Record<string, { name?: string | null } | null | string>)[] | null;
  };
  const out: SelectValue[] = [];
  let after: string | null = null;
  for (let seen = 0; ;) {
    const { query, variables } = selectValuesDocument(
      projectId,
      fields.map((f) => f.name),
      after,
    );
    const data: { node: { items?: Page } | null } = await gql.graphql(query, variables);
    const page = data.node?.items;
    if (!page) return out;
    for (const item of page.nodes ?? []) {
      fields.forEach((f, i) => {
        const v = item[`v${i}`];
        const name = typeof v === "object" && v !== null ? v.name : undefined;
        if (name) out.push({ itemId: item.id, fieldId: f.id, optionName: name });
      });
    }
    seen += page.nodes?.length ?? 0;
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return out;
    if (seen >= maxItems) return undefined;
    after = page.pageInfo.endCursor;
  }
}

/** The node ids of issues and pull requests by number, in one query. */
export function contentIdsDocument(
  repo: RepoRef,
  numbers: readonly number[],
): { query: string; variables: Record<string, unknown> } {
  const params = ["$owner: String!", "$name: String!"];
  const variables: Record<string, unknown> = { owner: repo.owner, name: repo.name };
  const body = numbers.map((n, i) => {
    params.push(`$n${i}: Int!`);
    variables[`n${i}`] = n;
    return `c${i}: issueOrPullRequest(number: $n${i}) { __typename ... on Issue { id } ... on PullRequest { id } }`;
  });
  return {
    query: `query TrellisContentIds(${params.join(", ")}) {\n  repository(owner: $owner, name: $name) {\n    ${body.join("\n    ")}\n  }\n}`,
    variables,
  };
}

export interface ContentRef {
  id: string;
  kind: "issue" | "pull_request";
}

export async function contentIds(
  gql: GraphQLClient,
  repo: RepoRef,
  numbers: readonly number[],
): Promise<Map<number, ContentRef>> {
  if (numbers.length === 0) return new Map();
  const { query, variables } = contentIdsDocument(repo, numbers);
  const data = await gql.graphql<{
    repository: Record<string, { __typename: string; id: string } | null> | null;
  }>(query, variables);
  const out = new Map<number, ContentRef>();
  numbers.forEach((n, i) => {
    const c = data.repository?.[`c${i}`];
    if (c) out.set(n, { id: c.id, kind: c.__typename === "PullRequest" ? "pull_request" : "issue" });
  });
  return out;
}

/** Adds contents to a project (an existing item is returned as is), in one request. */
export function addItemsDocument(
  projectId: string,
  contentIds: readonly string[],
): { query: string; variables: Record<string, unknown> } {
  const params = ["$project: ID!"];
  const variables: Record<string, unknown> = { project: projectId };
  const body = contentIds.map((id, i) => {
    params.push(`$c${i}: ID!`);
    variables[`c${i}`] = id;
    return `a${i}: addProjectV2ItemById(input: { projectId: $project, contentId: $c${i} }) { item { id } }`;
  });
  return { query: `mutation TrellisAddItems(${params.join(", ")}) {\n  ${body.join("\n  ")}\n}`, variables };
}

export async function addItems(
  gql: GraphQLClient,
  projectId: string,
  contentIds: readonly string[],
): Promise<Map<string, string>> {
  if (contentIds.length === 0) return new Map();
  const { query, variables } = addItemsDocument(projectId, contentIds);
  const data = await gql.graphql<Record<string, { item: { id: string } | null } | null>>(query, variables);
  const out = new Map<string, string>();
  contentIds.forEach((c, i) => {
    const id = data[`a${i}`]?.item?.id;
    if (id) out.set(c, id);
  });
  return out;
}

export interface ItemWrites {
  itemId: string;
  writes: { fieldId: string; value: FieldValueInput | null }[];
}

/**
 * Every field write of a transition (on the issue's item and its pull requests' items) in ONE
 * document: `updateProjectV2ItemFieldValue` per value, `clearProjectV2ItemFieldValue` per cleared field.
 */
export function itemWritesDocument(
  projectId: string,
  items: readonly ItemWrites[],
): { query: string; variables: Record<string, unknown> } {
  const params = ["$project: ID!"];
  const variables: Record<string, unknown> = { project: projectId };
  const body: string[] = [];
  items.forEach((item, i) => {
    params.push(`$i${i}: ID!`);
    variables[`i${i}`] = item.itemId;
    item.writes.forEach((w, j) => {
      const k = `${i}_${j}`;
      params.push(`$f${k}: ID!`);
      variables[`f${k}`] = w.fieldId;
      if (w.value === null) {
        body.push(
          `w${k}: clearProjectV2ItemFieldValue(input: { projectId: $project, itemId: $i${i}, fieldId: $f${k} }) { clientMutationId }`,
        );
      } else {
        params.push(`$v${k}: ProjectV2FieldValue!`);
        variables[`v${k}`] = w.value;
        body.push(
          `w${k}: updateProjectV2ItemFieldValue(input: { projectId: $project, itemId: $i${i}, fieldId: $f${k}, value: $v${k} }) { clientMutationId }`,
        );
      }
    });
  });
  return { query: `mutation TrellisMoveCards(${params.join(", ")}) {\n  ${body.join("\n  ")}\n}`, variables };
}

/** Writes the fields of one or more items in one request; nothing is sent when there is nothing to write. */
export async function writeItems(
  gql: GraphQLClient,
  projectId: string,
  items: readonly ItemWrites[],
): Promise<boolean> {
  const withWrites = items.filter((i) => i.writes.length > 0);
  if (withWrites.length === 0) return false;
  const { query, variables } = itemWritesDocument(projectId, withWrites);
  await gql.graphql(query, variables);
  return true;
}

export interface ItemInfo {
  itemId: string;
  projectId: string;
  status?: { name: string; optionId: string | null };
  content?: {
    kind: "issue" | "pull_request";
    id: string;
    number: number;
    title: string;
    repo: RepoRef;
  };
}

/** A card as it is now: its Status value and what it stands for (for board-driven control). */
export async function readItem(
  gql: GraphQLClient,
  itemId: string,
  statusField = "Status",
): Promise<ItemInfo | undefined> {
  type Content = {
    __typename: string;
    id?: string;
    number?: number;
    title?: string;
    repository?: { name: string; owner: { login: string } };
  };
  const data = await gql.graphql<{
    node: {
      id?: string;
      project?: { id: string };
      fieldValueByName?: { name?: string | null; optionId?: string | null } | null;
      content?: Content | null;
    } | null;
  }>(ITEM_QUERY, { item: itemId, status: statusField });
  const node = data.node;
  if (!node?.id || !node.project) return undefined;
  const c = node.content;
  const status = node.fieldValueByName;
  return {
    itemId: node.id,
    projectId: node.project.id,
    ...(status?.name ? { status: { name: status.name, optionId: status.optionId ?? null } } : {}),
    ...(c?.id && c.number !== undefined && c.repository
      ? {
          content: {
            kind: c.__typename === "PullRequest" ? ("pull_request" as const) : ("issue" as const),
            id: c.id,
            number: c.number,
            title: c.title ?? "",
            repo: { owner: c.repository.owner.login, name: c.repository.name },
          },
        }
      : {}),
  };
}
