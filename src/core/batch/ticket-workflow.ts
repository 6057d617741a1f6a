/** How a batch ticket's run is set up: the workflow it follows, and whether its proposals need approval. Pure. */
import type { TrellisConfig } from "../config.js";
import type { Definitions } from "../definitions.js";
import type { WorkflowTemplate } from "../model.js";
import { outsiderText, type ReadIssue } from "../outsiders.js";
import { singleAgentTemplate } from "../templates.js";
import { resolveWorkflow } from "../triggers.js";
import type { BatchState } from "./types.js";

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

/**
 * Why a ticket's proposals need a human's approval before the App commits them (src/core/outsiders.ts), judged by
 * the issues whose text reaches its agent: the tracking issue (the App wrote a raw ticket's issue from its task list)
 * and a referenced ticket's own issue. Only authors the batch learned from GitHub count: a batch stored before it
 * kept them is not gated.
 */
export function ticketOutsiderText(
  prompt: TrellisConfig["prompt"],
  batch: BatchState,
  ticketKey: string,
): string | undefined {
  const ticket = batch.tickets.find((t) => t.key === ticketKey);
  const read: ReadIssue[] = [];
  if (batch.trackingAuthor) read.push({ number: batch.trackingIssue, author: batch.trackingAuthor });
  if (ticket?.author && ticket.issue !== undefined)
    read.push({ number: ticket.issue, author: ticket.author });
  return outsiderText(prompt, read);
}
