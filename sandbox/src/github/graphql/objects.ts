import type {
  FieldValue,
  GitHubState,
  Issue,
  Project,
  ProjectField,
  ProjectItem,
  Repository,
} from "../state.js";
import { ensureUser, findIssueAnywhere, fullName } from "../state.js";
import { SandboxError } from "../errors.js";
import { fieldPrefix } from "../mutations.js";
import { nodeId, parseNodeId } from "../shapes.js";

// Object graph: plain objects with __typename; functions are field resolvers taking the field's arguments.

export type Obj = Record<string, unknown>;
export type Args = Record<string, unknown>;

/** Whether the request being executed comes from the App (its installation token), not a person. */
let viewerIsApp = false;

/** Set by `handleGraphQL` for the request it is about to execute. */
export function setViewerIsApp(value: boolean): void {
  viewerIsApp = value;
}

/**
 * A GitHub App cannot reach a Project (v2) owned by a user: GitHub's docs recommend "a GitHub App (recommended for
 * organization projects) or a personal access token (recommended for user projects)", and an App's only Projects
 * permission is the organization's
 * (https://docs.github.com/en/issues/planning-and-tracking-with-projects/automating-your-project/automating-projects-using-actions).
 * GitHub answers with its usual FORBIDDEN error, "Resource not accessible by integration", and a null in its place.
 */
export function refuseUserProjectToApp(state: GitHubState, owner: string): void {
  if (!viewerIsApp) return;
  const u = ensureUser(state, owner);
  if (u.type !== "Organization") throw new SandboxError(403, "Resource not accessible by integration");
}

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

export function ownerObj(state: GitHubState, login: string): Obj {
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

export function projectObj(state: GitHubState, p: Project): Obj {
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

export function fieldObj(state: GitHubState, p: Project, f: ProjectField): Obj {
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

export function itemObj(state: GitHubState, p: Project, item: ProjectItem): Obj {
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

export function contentObj(state: GitHubState, contentNodeId: string): Obj | null {
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

export function repoObj(state: GitHubState, repo: Repository): Obj {
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

export function resolveNode(state: GitHubState, id: string): Obj | null {
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
