/**
 * Claude Code's `--output-format stream-json` events: parse one line, render it readably for the
 * job log, and fold the final `result` event into the numbers the result needs (pure functions).
 */

export interface AgentOutcome {
  /** Whether a `result` event arrived. */
  finished: boolean;
  isError: boolean;
  subtype?: string;
  resultText?: string;
  numTurns: number;
  costUsd: number;
  sessionId?: string;
  tokens: { input: number; output: number; cacheRead: number; cacheWrite: number };
  permissionDenials: { tool: string; input: string }[];
  errors: string[];
}

export const emptyOutcome = (): AgentOutcome => ({
  finished: false,
  isError: false,
  numTurns: 0,
  costUsd: 0,
  tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
  permissionDenials: [],
  errors: [],
});

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** One stream line → an event object, or undefined for noise (blank or non-JSON lines). */
export function parseStreamLine(line: string): Json | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function truncate(text: string, max: number): string {
  const single = text.length > max ? `${text.slice(0, max)}… (${text.length - max} more chars)` : text;
  return single;
}

/** Tool input, summarised: long strings become their size, so file contents don't flood the log. */
export function summariseToolInput(input: unknown): string {
  if (!isObject(input)) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (typeof value === "string") {
      const oneLine = value.replace(/\s+/g, " ");
      const keep = key === "command" || key === "file_path" || key === "pattern" || key === "path" ? 200 : 60;
      parts.push(
        `${key}=${oneLine.length > keep ? `<${value.length} chars: ${JSON.stringify(oneLine.slice(0, 40))}…>` : JSON.stringify(oneLine)}`,
      );
    } else if (value !== undefined) {
      const json = JSON.stringify(value);
      parts.push(`${key}=${json.length > 60 ? `<${json.length} chars>` : json}`);
    }
  }
  return parts.join(", ");
}

function toolResultText(block: Json): string {
  const content = block["content"];
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content
      .map((c) => (isObject(c) && typeof c["text"] === "string" ? c["text"] : "[non-text]"))
      .join("\n");
  return "";
}

/** Readable transcript lines for one event (empty for events not worth showing). */
export function renderEvent(event: Json): string[] {
  const type = event["type"];
  const prefix = event["parent_tool_use_id"] ? "  [sub-agent] " : "";
  if (type === "system" && event["subtype"] === "init")
    return [
      `▶ Claude Code ${str(event["claude_code_version"]) ?? ""} · model ${str(event["model"]) ?? "?"} · ${str(event["permissionMode"]) ?? ""}`,
    ];
  const message = event["message"];
  if ((type === "assistant" || type === "user") && isObject(message) && Array.isArray(message["content"])) {
    const lines: string[] = [];
    for (const block of message["content"]) {
      if (!isObject(block)) continue;
      if (block["type"] === "text" && type === "assistant") {
        const text = str(block["text"])?.trim();
        if (text) lines.push(`${prefix}💬 ${truncate(text, 2_000)}`);
      } else if (block["type"] === "tool_use") {
        lines.push(`${prefix}🔧 ${str(block["name"]) ?? "?"}(${summariseToolInput(block["input"])})`);
      } else if (block["type"] === "tool_result") {
        const text = toolResultText(block).replace(/\s+$/g, "");
        const error = block["is_error"] === true;
        lines.push(`${prefix}   ${error ? "✗ error" : "↳"} ${truncate(text.replace(/\n/g, "\n     "), 800)}`);
      }
    }
    return lines;
  }
  if (type === "result") {
    const outcome = applyResult(emptyOutcome(), event);
    return [
      `■ ${outcome.isError ? "agent error" : "done"} (${outcome.subtype ?? "?"}): ${outcome.numTurns} turns, $${outcome.costUsd.toFixed(4)}` +
        (outcome.resultText ? ` — ${truncate(outcome.resultText.replace(/\s+/g, " "), 300)}` : ""),
      ...outcome.errors.map((e) => `  ✗ ${e}`),
      ...outcome.permissionDenials.map((d) => `  ⛔ denied ${d.tool}(${d.input})`),
    ];
  }
  return [];
}

/** Fold the final `result` event. */
export function applyResult(outcome: AgentOutcome, event: Json): AgentOutcome {
  if (event["type"] !== "result") return outcome;
  const usage = isObject(event["usage"]) ? event["usage"] : {};
  const denials = Array.isArray(event["permission_denials"]) ? event["permission_denials"] : [];
  const errors = Array.isArray(event["errors"])
    ? event["errors"].filter((e): e is string => typeof e === "string")
    : [];
  return {
    finished: true,
    isError: event["is_error"] === true,
    subtype: str(event["subtype"]),
    resultText: str(event["result"]),
    numTurns: num(event["num_turns"]),
    costUsd: num(event["total_cost_usd"]),
    sessionId: str(event["session_id"]) ?? outcome.sessionId,
    tokens: {
      input: num(usage["input_tokens"]),
      output: num(usage["output_tokens"]),
      cacheRead: num(usage["cache_read_input_tokens"]),
      cacheWrite: num(usage["cache_creation_input_tokens"]),
    },
    permissionDenials: denials.filter(isObject).map((d) => ({
      tool: str(d["tool_name"]) ?? "?",
      input: summariseToolInput(d["tool_input"]),
    })),
    errors,
  };
}

/** Fold any event: the session id arrives early, the numbers at the end. */
export function foldEvent(outcome: AgentOutcome, event: Json): AgentOutcome {
  if (event["type"] === "result") return applyResult(outcome, event);
  const sessionId = str(event["session_id"]);
  return sessionId && !outcome.sessionId ? { ...outcome, sessionId } : outcome;
}

export const formatUsd = (usd: number): string => (usd < 1 ? usd.toFixed(4) : usd.toFixed(2));

/** Why an outcome is a failure, in one line, or undefined when it is not. */
export function agentFailureReason(outcome: AgentOutcome, maxTurns?: number): string | undefined {
  if (!outcome.finished) return "Claude Code ended without a result";
  if (outcome.subtype === "error_max_turns")
    return `turn limit hit (${maxTurns ?? outcome.numTurns} turns) before the agent finished`;
  if (outcome.subtype === "error_max_budget_usd" || /budget/i.test(outcome.subtype ?? ""))
    return `cost cap reached: $${formatUsd(outcome.costUsd)} spent${outcome.errors[0] ? ` (${outcome.errors[0]})` : ""}`;
  if (outcome.isError) {
    const detail = outcome.errors[0] ?? outcome.resultText ?? outcome.subtype ?? "unknown error";
    return `agent error: ${truncate(detail.replace(/\s+/g, " "), 300)}`;
  }
  return undefined;
}
