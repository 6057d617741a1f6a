/** The scripted Messages API itself (the e2e tests drive it with the real CLI; this pins its protocol). */
import { afterEach, describe, expect, it } from "vitest";
import { cliEnv, startFakeAnthropic, text, toolUse } from "../../sandbox/src/fake-anthropic.js";
import type { FakeAnthropic } from "../../sandbox/src/fake-anthropic.js";

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const post = (url: string, body: unknown): Promise<Response> =>
  fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

function parseSse(textBody: string): { event: string; data: Record<string, unknown> }[] {
  return textBody
    .trim()
    .split("\n\n")
    .map((chunk) => {
      const [eventLine = "", dataLine = ""] = chunk.split("\n");
      return {
        event: eventLine.replace("event: ", ""),
        data: JSON.parse(dataLine.replace("data: ", "")) as Record<string, unknown>,
      };
    });
}

const agentRequest = (messages: unknown[], stream = true) => ({
  model: "claude-sonnet-4-5",
  stream,
  max_tokens: 1000,
  tools: [{ name: "Write" }],
  messages,
});

describe("fake Anthropic Messages API", () => {
  it("streams text and tool_use blocks as proper SSE, tool input split into input_json_delta parts", async () => {
    fake = await startFakeAnthropic({
      script: [() => [text("Writing."), toolUse("Write", { file_path: "/a", content: "hello" })]],
      usage: { input_tokens: 7, output_tokens: 3 },
    });
    const res = await post(fake.url, agentRequest([{ role: "user", content: "go" }]));
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const json = events
      .filter((e) => (e.data["delta"] as { type?: string } | undefined)?.type === "input_json_delta")
      .map((e) => (e.data["delta"] as { partial_json: string }).partial_json)
      .join("");
    expect(JSON.parse(json)).toEqual({ file_path: "/a", content: "hello" });
    expect(events[8]?.data).toMatchObject({
      delta: { stop_reason: "tool_use" },
      usage: { output_tokens: 3 },
    });
    expect(fake.turnsUsed()).toBe(1);
  });

  it("gives each turn the tool results the client sent back, and JSON to non-streaming requests", async () => {
    const seen: unknown[] = [];
    fake = await startFakeAnthropic({
      script: [
        (_req, ctx) => {
          seen.push(ctx);
          return "ok";
        },
      ],
    });
    const res = await post(
      fake.url,
      agentRequest(
        [
          { role: "user", content: [{ type: "text", text: "the prompt" }] },
          { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "Bash", input: {} }] },
          {
            role: "user",
            content: [
              {
                type: "tool_result",
                tool_use_id: "t1",
                content: [{ type: "text", text: "out" }],
                is_error: true,
              },
            ],
          },
          { role: "system", content: "budget note" },
        ],
        false,
      ),
    );
    expect(await res.json()).toMatchObject({
      type: "message",
      content: [{ type: "text", text: "ok" }],
      stop_reason: "end_turn",
    });
    expect(seen).toEqual([
      { index: 0, prompt: "the prompt", toolResults: [{ toolUseId: "t1", text: "out", isError: true }] },
    ]);
  });

  it("answers side-requests, token counting and model listing without consuming turns; replays scripted errors", async () => {
    fake = await startFakeAnthropic({
      script: [() => ({ content: [], error: { status: 529, type: "overloaded_error", message: "busy" } })],
    });
    const side = await post(fake.url, {
      model: "claude-haiku",
      max_tokens: 10,
      messages: [{ role: "user", content: "title?" }],
    });
    expect(side.status).toBe(200);
    const count = await fetch(`${fake.url}/v1/messages/count_tokens`, { method: "POST", body: "{}" });
    expect(await count.json()).toEqual({ input_tokens: 1 });
    expect((await fetch(`${fake.url}/v1/models`)).status).toBe(200);
    expect(fake.turnsUsed()).toBe(0);
    const err = await post(fake.url, agentRequest([{ role: "user", content: "go" }]));
    expect(err.status).toBe(529);
    expect(await err.json()).toEqual({ type: "error", error: { type: "overloaded_error", message: "busy" } });
    const after = await post(fake.url, agentRequest([{ role: "user", content: "go" }], false));
    expect(await after.json()).toMatchObject({ content: [{ type: "text", text: "Done." }] });
    expect(fake.requests.filter((r) => r.agentTurn)).toHaveLength(2);
  });

  it("builds an offline environment for the CLI", () => {
    expect(cliEnv("http://127.0.0.1:1", "/h")).toMatchObject({
      ANTHROPIC_BASE_URL: "http://127.0.0.1:1",
      ANTHROPIC_API_KEY: "test",
      HOME: "/h",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_ERROR_REPORTING: "1",
    });
  });
});
