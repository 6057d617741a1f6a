import type { FieldValue, GitHubState, Project, ProjectField, ProjectItem } from "../state.js";
import { newId } from "../state.js";
import { SandboxError } from "../errors.js";
import {
  addProjectItem,
  createProject,
  fieldPrefix,
  optionId,
  replaceFieldOptions,
  setItemField,
} from "../mutations.js";
import { nodeId, parseNodeId } from "../shapes.js";
import type { Args, Obj } from "./objects.js";
import { contentObj, fieldObj, itemObj, projectObj, refuseUserProjectToApp } from "./objects.js";

/** The GraphQL mutation root: the Projects (v2) mutations Trellis uses. */

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

export function mutationRoot(state: GitHubState, login: string): Obj {
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
