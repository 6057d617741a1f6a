import type { FieldValue, GitHubState, Project, ProjectField, ProjectItem } from "../state.js";
import { ensureUser, newId, now } from "../state.js";
import { SandboxError } from "../errors.js";
import { nodeId, userJson } from "../shapes.js";

/** Projects (v2): projects, their fields and options, items and their field values. */

export function createProject(state: GitHubState, owner: string, title: string): Project {
  ensureUser(state, owner);
  const project: Project = {
    id: newId(state),
    number: state.projects.filter((p) => p.owner.toLowerCase() === owner.toLowerCase()).length + 1,
    owner,
    title,
    closed: false,
    createdAt: now(state),
    fields: [],
    items: [],
  };
  // Every project has these built-in fields.
  project.fields.push({ id: newId(state), name: "Title", dataType: "TITLE", options: [] });
  project.fields.push({
    id: newId(state),
    name: "Status",
    dataType: "SINGLE_SELECT",
    options: ["Todo", "In Progress", "Done"].map((name) => ({
      id: optionId(name),
      name,
      color: "GRAY",
      description: "",
    })),
  });
  state.projects.push(project);
  return project;
}

/**
 * `updateProjectV2Field` with `singleSelectOptions` REPLACES the field's options: GitHub's schema says of
 * UpdateProjectV2FieldInput.singleSelectOptions "If values are present, they will overwrite the existing options
 * for the field", and its ProjectV2SingleSelectFieldOptionInput has no option id, so nothing ties a new option to
 * an old one: every option gets a new id, even one whose name did not change, and every item whose value pointed
 * at a replaced option loses it (https://docs.github.com/en/graphql/reference/input-objects#updateprojectv2fieldinput;
 * seen in practice: modelcontextprotocol/inspector#1823, "orphaned every card's Status"). GitHub documents no
 * webhook for those cleared values, so none is sent.
 */
export function replaceFieldOptions(
  state: GitHubState,
  project: Project,
  field: ProjectField,
  options: readonly { name: string; color: string; description: string }[],
): void {
  field.options = options.map((o) => ({
    id: optionId(`${field.name}/${o.name}/${newId(state)}`),
    name: o.name,
    color: o.color,
    description: o.description,
  }));
  for (const item of project.items) {
    const value = item.values.get(field.id);
    if (
      value &&
      "singleSelectOptionId" in value &&
      !field.options.some((o) => o.id === value.singleSelectOptionId)
    )
      item.values.delete(field.id);
  }
}

/** Single-select option ids are short hex strings in GitHub; here a stable hash of the name. */
export function optionId(name: string): string {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h.toString(16).padStart(8, "0");
}

export function addProjectItem(state: GitHubState, project: Project, contentNodeId: string): ProjectItem {
  const existing = project.items.find((i) => i.contentNodeId === contentNodeId);
  if (existing) return existing;
  const t = now(state);
  const item: ProjectItem = {
    id: newId(state),
    contentNodeId,
    createdAt: t,
    updatedAt: t,
    archived: false,
    values: new Map(),
  };
  project.items.push(item);
  return item;
}

/** Sets (or clears, with `undefined`) a field value and announces `projects_v2_item.edited`. */
export function setItemField(
  state: GitHubState,
  project: Project,
  item: ProjectItem,
  fieldId: number,
  value: FieldValue | undefined,
  sender: string,
): void {
  const field = project.fields.find((f) => f.id === fieldId);
  if (!field) throw new SandboxError(422, "Could not resolve to a ProjectV2Field");
  const from = item.values.get(fieldId);
  if (value === undefined) item.values.delete(fieldId);
  else item.values.set(fieldId, value);
  item.updatedAt = now(state);
  const describe = (v: FieldValue | undefined) => {
    if (!v) return null;
    if ("singleSelectOptionId" in v) {
      const o = field.options.find((x) => x.id === v.singleSelectOptionId);
      return o ? { id: o.id, name: o.name, color: o.color, description: o.description } : null;
    }
    return Object.values(v)[0] ?? null;
  };
  const owner = ensureUser(state, project.owner);
  const installation = [...state.installations.values()].find(
    (i) => i.account.toLowerCase() === project.owner.toLowerCase(),
  );
  const content = contentKind(item.contentNodeId);
  const fields = {
    projects_v2_item: {
      id: item.id,
      node_id: nodeId("PVTI", item.id),
      project_node_id: nodeId("PVT", project.id),
      content_node_id: item.contentNodeId,
      content_type: content,
      creator: repoOwnerJsonLite(state, sender),
      created_at: item.createdAt,
      updated_at: item.updatedAt,
      archived_at: null,
    },
    changes: {
      field_value: {
        field_node_id: nodeId(fieldPrefix(field.dataType), field.id),
        field_type: field.dataType.toLowerCase(),
        field_name: field.name,
        project_number: project.number,
        from: describe(from),
        to: describe(value),
      },
    },
  };
  // GitHub only sends projects_v2_item for organization projects: "activity relating to an item on an
  // organization-level project" (https://docs.github.com/en/webhooks/webhook-events-and-payloads#projects_v2_item).
  if (owner.type !== "Organization") return;
  for (const listener of state.listeners)
    listener({
      name: "projects_v2_item",
      action: "edited",
      sender,
      fields,
      ...(installation ? { installationId: installation.id } : {}),
    });
}

// The item's creator is a full user object in GitHub's payload (webhooks' `user`).
const repoOwnerJsonLite = (state: GitHubState, login: string) => userJson(state, login);

export function fieldPrefix(dataType: string): string {
  return dataType === "SINGLE_SELECT" ? "PVTSSF" : dataType === "ITERATION" ? "PVTIF" : "PVTF";
}

function contentKind(contentNodeId: string): "Issue" | "PullRequest" | "DraftIssue" {
  return contentNodeId.startsWith("PR_")
    ? "PullRequest"
    : contentNodeId.startsWith("I_")
      ? "Issue"
      : "DraftIssue";
}
