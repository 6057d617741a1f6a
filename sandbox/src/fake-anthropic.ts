/**
 * A scripted Anthropic Messages API on 127.0.0.1, so the real Claude Code CLI can run offline
 * (tests, the sandbox demo). Point the CLI at it with `ANTHROPIC_BASE_URL=<url>` (see `cliEnv`).
 *
 * A script is a list of turns; each turn is a function of the request (so it can look at the
 * tool results the CLI sent back) returning the assistant's content blocks. Requests that are not
 * part of the agent loop (title/topic side-requests, token counting, model listing) get generic
 * answers and do not consume turns.
 */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type TextBlock = { type: "text"; text: string };
export type ToolUseBlock = { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };
export type OutputBlock = TextBlock | ToolUseBlock;

/** What a turn may return: a shorthand string, blocks without ids, or a full reply. */
export type TurnBlock =
  TextBlock | { type: "tool_use"; id?: string; name: string; input: Record<string, unknown> };
export interface TurnReply {
  content: TurnBlock[];
  stopReason?: "end_turn" | "tool_use" | "max_tokens";
  usage?: { input_tokens?: number; output_tokens?: number };
  /** Answer with an HTTP error instead (e.g. 500, 529 overloaded). */
  error?: { status: number; type: string; message: string };
}
export type TurnResult = string | TurnBlock[] | TurnReply;

/** The parts of a Messages request a script looks at. */
export interface MessagesRequest {
  model: string;
  stream?: boolean;
  system?: string | { type: string; text?: string }[];
  messages: { role: "user" | "assistant" | "system"; content: string | Record<string, unknown>[] }[];
  tools?: { name: string }[];
  max_tokens?: number;
  [key: string]: unknown;
}

export interface TurnContext {
  /** 0-based index of this turn. */
  index: number;
  /** Text of the tool_result blocks in the last user message (what the CLI sent back). */
  toolResults: { toolUseId: string; text: string; isError: boolean }[];
  /** Text of the first user message (the prompt). */
  prompt: string;
}
export type Turn = (request: MessagesRequest, context: TurnContext) => TurnResult;

export interface RecordedRequest {
  method: string;
  path: string;
  /** Whether it consumed a script turn. */
  agentTurn: boolean;
  body?: MessagesRequest;
}

export interface FakeAnthropicOptions {
  script: Turn[];
  /** What to answer once the script is exhausted (default: a final text "Done."). */
  afterScript?: Turn;
  /** Token usage reported per reply (default 100 in, 50 out). */
  usage?: { input_tokens: number; output_tokens: number };
}

export interface FakeAnthropic {
  url: string;
  requests: RecordedRequest[];
  /** Number of script turns consumed so far. */
  turnsUsed(): number;
  close(): Promise<void>;
}

let idCounter = 0;
const newId = (prefix: string): string => `${prefix}_${Date.now().toString(36)}${(idCounter++).toString(36)}`;

/** Build helpers for scripts. */
export const text = (value: string): TextBlock => ({ type: "text", text: value });
export const toolUse = (name: string, input: Record<string, unknown>): TurnBlock => ({
  type: "tool_use",
  name,
  input,
});

/** Environment for the CLI: offline, no telemetry, isolated HOME. */
export function cliEnv(baseUrl: string, home: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: baseUrl,
    ANTHROPIC_API_KEY: "test",
    HOME: home,
    CLAUDE_CONFIG_DIR: `${home}/.claude`,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    DISABLE_BUG_COMMAND: "1",
    CLAUDE_CODE_DISABLE_TERMINAL_TITLE: "1",
    CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: "1",
  };
}

function blockText(block: Record<string, unknown>): string {
  const content = block["content"];
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content
      .map((c: unknown) =>
        c && typeof c === "object" && typeof (c as { text?: unknown }).text === "string"
          ? (c as { text: string }).text
          : "",
      )
      .join("\n");
  return "";
}

function contextOf(request: MessagesRequest, index: number): TurnContext {
  // The CLI may append non-user messages (e.g. a budget note), so look for the last user message.
  const last = [...request.messages].reverse().find((m) => m.role === "user");
  const toolResults: TurnContext["toolResults"] = [];
  if (last && last.role === "user" && Array.isArray(last.content)) {
    for (const block of last.content) {
      if (block["type"] === "tool_result")
        toolResults.push({
          toolUseId: String(block["tool_use_id"]),
          text: blockText(block),
          isError: block["is_error"] === true,
        });
    }
  }
  const first = request.messages[0];
  let prompt = "";
  if (first) {
    prompt =
      typeof first.content === "string"
        ? first.content
        : first.content
            .filter((b) => b["type"] === "text")
            .map((b) => String(b["text"]))
            .join("\n");
  }
  return { index, toolResults, prompt };
}

function normalise(result: TurnResult): TurnReply & { content: OutputBlock[] } {
  const reply: TurnReply =
    typeof result === "string"
      ? { content: [text(result)] }
      : Array.isArray(result)
        ? { content: result }
        : result;
  const content: OutputBlock[] = reply.content.map((b) =>
    b.type === "tool_use" ? { ...b, id: b.id ?? newId("toolu") } : b,
  );
  const stopReason =
    reply.stopReason ?? (content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");
  return { ...reply, content, stopReason };
}

/** The agent loop always sends tools; side-requests (titles, topic detection, summaries) do not. */
function isAgentTurn(body: MessagesRequest): boolean {
  return Array.isArray(body.tools) && body.tools.length > 0;
}

function sse(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function writeStream(
  res: ServerResponse,
  model: string,
  reply: { content: OutputBlock[]; stopReason?: string },
  usage: { input_tokens: number; output_tokens: number },
): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "request-id": newId("req"),
  });
  sse(res, "message_start", {
    type: "message_start",
    message: {
      id: newId("msg"),
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: usage.input_tokens,
        output_tokens: 1,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      },
    },
  });
  reply.content.forEach((block, index) => {
    if (block.type === "text") {
      sse(res, "content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      });
      sse(res, "content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "text_delta", text: block.text },
      });
    } else {
      sse(res, "content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      });
      const json = JSON.stringify(block.input);
      // Split the JSON like the real API does, so the CLI's partial-JSON assembly is exercised.
      const mid = Math.floor(json.length / 2);
      for (const part of [json.slice(0, mid), json.slice(mid)])
        sse(res, "content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: part },
        });
    }
    sse(res, "content_block_stop", { type: "content_block_stop", index });
  });
  sse(res, "message_delta", {
    type: "message_delta",
    delta: { stop_reason: reply.stopReason ?? "end_turn", stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  });
  sse(res, "message_stop", { type: "message_stop" });
  res.end();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "request-id": newId("req") });
  res.end(JSON.stringify(body));
}

/** Start the server on an ephemeral port of 127.0.0.1. */
export async function startFakeAnthropic(options: FakeAnthropicOptions): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = [];
  const usage = options.usage ?? { input_tokens: 100, output_tokens: 50 };
  const afterScript: Turn = options.afterScript ?? (() => "Done.");
  let turns = 0;

  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      const raw = await readBody(req);
      if (req.method === "POST" && path === "/v1/messages/count_tokens") {
        requests.push({ method: "POST", path, agentTurn: false });
        return json(res, 200, { input_tokens: Math.max(1, Math.ceil(raw.length / 4)) });
      }
      if ((req.method === "HEAD" || req.method === "GET") && path === "/") {
        // The CLI probes the base URL for connectivity.
        requests.push({ method: req.method, path, agentTurn: false });
        return json(res, 200, {});
      }
      if (req.method === "GET" && path.startsWith("/v1/models")) {
        requests.push({ method: "GET", path, agentTurn: false });
        return json(res, 200, { data: [], has_more: false, first_id: null, last_id: null });
      }
      if (req.method !== "POST" || path !== "/v1/messages") {
        requests.push({ method: req.method ?? "GET", path, agentTurn: false });
        return json(res, 404, {
          type: "error",
          error: { type: "not_found_error", message: `no route ${path}` },
        });
      }
      let body: MessagesRequest;
      try {
        body = JSON.parse(raw) as MessagesRequest;
      } catch {
        return json(res, 400, {
          type: "error",
          error: { type: "invalid_request_error", message: "bad JSON" },
        });
      }
      const agentTurn = isAgentTurn(body);
      requests.push({ method: "POST", path, agentTurn, body });
      let reply: ReturnType<typeof normalise>;
      if (agentTurn) {
        const index = turns++;
        const turn = options.script[index] ?? afterScript;
        try {
          reply = normalise(turn(body, contextOf(body, index)));
        } catch (error) {
          reply = normalise(`script error at turn ${index}: ${(error as Error).message}`);
        }
      } else {
        // Side-requests: topic detection expects JSON, titles expect short text; one answer fits both.
        reply = normalise('{"isNewTopic": false, "title": null}');
      }
      if (reply.error)
        return json(res, reply.error.status, {
          type: "error",
          error: { type: reply.error.type, message: reply.error.message },
        });
      const u = {
        input_tokens: reply.usage?.input_tokens ?? usage.input_tokens,
        output_tokens: reply.usage?.output_tokens ?? usage.output_tokens,
      };
      if (body.stream) return writeStream(res, body.model, reply, u);
      return json(res, 200, {
        id: newId("msg"),
        type: "message",
        role: "assistant",
        model: body.model,
        content: reply.content,
        stop_reason: reply.stopReason,
        stop_sequence: null,
        usage: { ...u, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
      });
    })().catch((error: unknown) => {
      if (!res.headersSent)
        json(res, 500, { type: "error", error: { type: "api_error", message: String(error) } });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    turnsUsed: () => turns,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
