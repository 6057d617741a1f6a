import { describe, expect, it } from "vitest";
import {
  agentFailureReason,
  applyResult,
  emptyOutcome,
  foldEvent,
  parseStreamLine,
  renderEvent,
  summariseToolInput,
} from "../../action/src/stream.js";

// Lines captured from a real `claude -p --output-format stream-json --verbose` run (2.1.197).
const toolUse = {
  type: "assistant",
  message: {
    content: [
      {
        type: "tool_use",
        id: "t1",
        name: "Write",
        input: { file_path: "/w/a.txt", content: "x".repeat(500) },
      },
    ],
  },
  parent_tool_use_id: null,
  session_id: "s-1",
};
const toolError = {
  type: "user",
  message: {
    role: "user",
    content: [
      {
        type: "tool_result",
        content: "<tool_use_error>Error: No such tool available: Bash.</tool_use_error>",
        is_error: true,
        tool_use_id: "t2",
      },
    ],
  },
  parent_tool_use_id: null,
};
const maxTurns = {
  type: "result",
  subtype: "error_max_turns",
  is_error: true,
  num_turns: 3,
  session_id: "s-1",
  total_cost_usd: 0.0021,
  usage: {
    input_tokens: 200,
    output_tokens: 100,
    cache_read_input_tokens: 5,
    cache_creation_input_tokens: 7,
  },
  permission_denials: [
    { tool_name: "Bash", tool_use_id: "t", tool_input: { command: "rm -rf /", description: "x" } },
  ],
  errors: ["Reached maximum number of turns (2)"],
};

describe("stream parsing", () => {
  it("ignores noise lines", () => {
    expect(parseStreamLine("")).toBeUndefined();
    expect(parseStreamLine("Warning: something")).toBeUndefined();
    expect(parseStreamLine("{broken")).toBeUndefined();
    expect(parseStreamLine("[1,2]")).toBeUndefined();
    expect(parseStreamLine(JSON.stringify(toolUse))?.["type"]).toBe("assistant");
  });
  it("summarises long tool inputs instead of printing them", () => {
    const s = summariseToolInput(toolUse.message.content[0]!.input);
    expect(s).toContain('file_path="/w/a.txt"');
    expect(s).toContain("<500 chars");
    expect(s.length).toBeLessThan(120);
  });
  it("renders tool calls, tool errors and the result readably", () => {
    expect(renderEvent(toolUse)).toEqual([expect.stringMatching(/^🔧 Write\(file_path="\/w\/a.txt"/)]);
    expect(renderEvent(toolError)[0]).toMatch(/✗ error .*No such tool available: Bash/);
    const result = renderEvent(maxTurns);
    expect(result[0]).toMatch(/agent error \(error_max_turns\): 3 turns, \$0\.0021/);
    expect(result).toContain("  ✗ Reached maximum number of turns (2)");
    expect(result.some((l) => l.includes("denied Bash"))).toBe(true);
    expect(renderEvent({ ...toolUse, parent_tool_use_id: "p" })[0]).toContain("[sub-agent]");
  });
  it("folds the result event into numbers and a failure reason", () => {
    let o = foldEvent(emptyOutcome(), toolUse);
    expect(o.sessionId).toBe("s-1");
    expect(agentFailureReason(o)).toBe("Claude Code ended without a result");
    o = foldEvent(o, maxTurns);
    expect(o).toMatchObject({
      finished: true,
      isError: true,
      numTurns: 3,
      costUsd: 0.0021,
      tokens: { input: 200, output: 100, cacheRead: 5, cacheWrite: 7 },
    });
    expect(o.permissionDenials[0]?.tool).toBe("Bash");
    expect(agentFailureReason(o, 2)).toBe("turn limit hit (2 turns) before the agent finished");
    const apiError = applyResult(emptyOutcome(), {
      type: "result",
      subtype: "success",
      is_error: true,
      result: "API Error: 400 boom",
      num_turns: 1,
    });
    expect(agentFailureReason(apiError)).toBe("agent error: API Error: 400 boom");
    const budget = applyResult(emptyOutcome(), {
      type: "result",
      subtype: "error_max_budget_usd",
      is_error: true,
      total_cost_usd: 0.0021,
      errors: ["Reached maximum budget ($0.002)"],
    });
    expect(agentFailureReason(budget)).toBe(
      "cost cap reached: $0.0021 spent (Reached maximum budget ($0.002))",
    );
    const ok = applyResult(emptyOutcome(), {
      type: "result",
      subtype: "success",
      is_error: false,
      num_turns: 2,
    });
    expect(agentFailureReason(ok)).toBeUndefined();
  });
});
