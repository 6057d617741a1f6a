/** Which workflow a batch ticket's run follows. Pure. */
import type { Definitions } from "../definitions.js";
import type { WorkflowTemplate } from "../model.js";
import { singleAgentTemplate } from "../templates.js";
import { resolveWorkflow } from "../triggers.js";

/**
 * The workflow a ticket's issue asks for with its labels (`<workflow_prefix><name>`), when the repository has a
 * workflow of that name: the first such label wins.
 */
export function workflowFromLabels(labels: readonly string[], defs: Definitions): string | undefined {
  const prefix = defs.config.labels.workflow_prefix;
  return labels
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length))
    .find((w) => defs.templates.has(w));
}

/** The ticket's own workflow when the repository knows it, else the default workflow. */
export function ticketWorkflow(defs: Definitions, name: string | undefined): WorkflowTemplate {
  for (const candidate of [name, defs.config.default_workflow]) {
    if (!candidate) continue;
    const w = resolveWorkflow(candidate, defs);
    if (typeof w !== "string") return w;
  }
  return singleAgentTemplate(defs.config.default_profile);
}
