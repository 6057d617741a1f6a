// Renders a batch as a Mermaid flowchart for the tracking issue. Pure.
// Ticket titles are untrusted: they are cut to length and every character that could end the quoted label or
// be read as markup (or as a %%{init}%% directive) is written as a Mermaid entity (#NN;), so a title can never
// add nodes, links, styles or configuration.
import { displayTicket, ticketKind, type Ticket } from "./parse.js";
import type { TicketState } from "./schedule.js";

export const MAX_LABEL = 60;

const STYLES: Record<TicketState, string> = {
  pending: "fill:#f6f8fa,stroke:#8c959f,color:#24292f",
  ready: "fill:#ddf4ff,stroke:#0969da,color:#0a3069",
  running: "fill:#fff8c5,stroke:#9a6700,color:#4d2d00",
  done: "fill:#dafbe1,stroke:#1a7f37,color:#044f1e",
  failed: "fill:#ffebe9,stroke:#cf222e,color:#82071e",
  blocked: "fill:#eaeef2,stroke:#57606a,color:#24292f,stroke-dasharray:4 3",
};
const STATE_ORDER = Object.keys(STYLES) as TicketState[];

/** C0/C1 controls and line/paragraph separators: anything that could start a new Mermaid statement. */
const isControl = (n: number): boolean => n < 0x20 || (n >= 0x7f && n < 0xa0) || n === 0x2028 || n === 0x2029;

/** Label text safe inside `["…"]`: one line, at most `max` characters, markup written as entities. */
export function mermaidLabel(text: string, max = MAX_LABEL): string {
  const flat = Array.from(text, (c) => (isControl(c.codePointAt(0) ?? 0) ? " " : c))
    .join("")
    .replace(/\s+/g, " ")
    .trim();
  const chars = Array.from(flat);
  const cut = chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : flat;
  return cut.replace(/[#&"<>`%[\]{}|\\]/g, (c) => `#${c.codePointAt(0)};`);
}

/** Only absolute http(s) links, normalised so that quotes and spaces are percent-encoded. */
function safeUrl(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
    return url.href.replace(/"/g, "%22");
  } catch {
    return undefined;
  }
}

/**
 * A `flowchart TD` with one node per ticket (ids n0…), an edge from each dependency to its dependent, a
 * class per state, and click-through links where given. A ticket without a state is "done" when its box is
 * checked, "pending" otherwise.
 */
export function renderMermaid(
  tickets: readonly Ticket[],
  states: ReadonlyMap<string, TicketState>,
  links?: ReadonlyMap<string, string>,
): string {
  const id = new Map<string, string>();
  tickets.forEach((t, i) => {
    if (!id.has(t.key)) id.set(t.key, `n${i}`);
  });
  const lines = ["flowchart TD"];
  const byState = new Map<TicketState, string[]>();
  tickets.forEach((t, i) => {
    const nodeId = `n${i}`;
    const label =
      ticketKind(t) === "text" ? t.title : t.title ? `${displayTicket(t)} ${t.title}` : displayTicket(t);
    lines.push(`  ${nodeId}["${mermaidLabel(label)}"]`);
    const state = states.get(t.key) ?? (t.done ? "done" : "pending");
    byState.set(state, [...(byState.get(state) ?? []), nodeId]);
  });
  tickets.forEach((t, i) => {
    for (const dep of t.deps) {
      const from = id.get(dep);
      if (from !== undefined) lines.push(`  ${from} --> n${i}`);
    }
  });
  for (const state of STATE_ORDER) lines.push(`  classDef ${state} ${STYLES[state]}`);
  for (const state of STATE_ORDER) {
    const nodes = byState.get(state);
    if (nodes) lines.push(`  class ${nodes.join(",")} ${state}`);
  }
  if (links) {
    tickets.forEach((t, i) => {
      const raw = links.get(t.key);
      const url = raw === undefined ? undefined : safeUrl(raw);
      if (url !== undefined) lines.push(`  click n${i} "${url}" _blank`);
    });
  }
  return lines.join("\n") + "\n";
}
