import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { COMMANDS, helpText, LIMITS, parseCommands, type SlashCommand } from "../../src/core/commands.js";

const only = (body: string, options?: Parameters<typeof parseCommands>[1]) => {
  const r = parseCommands(body, options);
  expect(r.errors).toEqual([]);
  return r.commands.map(({ line: _line, ...c }) => c);
};
const errors = (body: string) => parseCommands(body).errors;

describe("each command", () => {
  it.each<[string, SlashCommand]>([
    ["/run feature", { name: "run", target: "feature" }],
    ["/run dev", { name: "run", target: "dev" }],
    ["/batch", { name: "batch" }],
    ["/batch sequential", { name: "batch", strategy: "sequential" }],
    ["/batch dependency-aware --parallel 5", { name: "batch", strategy: "dependency-aware", parallel: 5 }],
    ["/batch --parallel=2 parallel", { name: "batch", strategy: "parallel", parallel: 2 }],
    ["/batch --parallel 50", { name: "batch", parallel: 50 }],
    ["/retry", { name: "retry" }],
    ["/retry qa", { name: "retry", stage: "qa" }],
    ["/approve", { name: "approve" }],
    ["/approve scenarios", { name: "approve", stage: "scenarios" }],
    ["/reject the error path is untested", { name: "reject", reason: "the error path is untested" }],
    ["/answer use PostgreSQL 16", { name: "answer", text: "use PostgreSQL 16" }],
    ["/hold", { name: "hold" }],
    ["/hold waiting for the API freeze", { name: "hold", reason: "waiting for the API freeze" }],
    ["/unhold", { name: "unhold" }],
    ["/abort", { name: "abort" }],
    ["/abort wrong issue", { name: "abort", reason: "wrong issue" }],
    ["/status", { name: "status" }],
    ["/assign review qa", { name: "assign", stage: "review", profile: "qa" }],
    ["/help", { name: "help" }],
    ["/help batch", { name: "help", command: "batch" }],
    ["/help /run", { name: "help", command: "run" }],
  ])("%s", (body, expected) => {
    expect(only(body)).toEqual([expected]);
  });

  it("covers every command in the table", () => {
    expect(COMMANDS.map((c) => c.name)).toEqual([
      "run",
      "batch",
      "retry",
      "approve",
      "reject",
      "answer",
      "hold",
      "unhold",
      "abort",
      "status",
      "assign",
      "help",
    ]);
  });

  it("is case-insensitive in the command name and tolerates trailing spaces and CRLF", () => {
    expect(only("/APPROVE  \r\n/Status\r\n")).toEqual([{ name: "approve" }, { name: "status" }]);
  });
});

describe("argument errors are values with a helpful message", () => {
  it.each([
    ["/run", /\/run needs a workflow or profile name/],
    ["/run dev please", /\/run takes one name/],
    ["/run ../etc", /is not a workflow or profile name/],
    ["/batch fast", /unknown \/batch argument "fast".*strategies: sequential, parallel, dependency-aware/],
    ["/batch paralel", /did you mean "parallel"\?/],
    ["/batch --parallel", /--parallel needs a number/],
    ["/batch --parallel 0", /whole number from 1 to 50, got "0"/],
    ["/batch --parallel 51", /got "51"/],
    ["/batch --parallel 2.5", /got "2.5"/],
    ["/batch parallel sequential", /unknown \/batch argument "sequential"/],
    ["/retry a b", /at most one stage id/],
    ["/approve a/b", /is not a stage id/],
    ["/reject", /\/reject needs a reason/],
    ["/answer", /\/answer needs the answer text/],
    ["/unhold now", /\/unhold takes no arguments/],
    ["/status please", /\/status takes no arguments/],
    ["/assign review", /\/assign needs a stage and a profile/],
    ["/assign a b c", /\/assign needs a stage and a profile/],
    ["/help nothing", /\/help takes one command name/],
  ])("%s", (body, message) => {
    const r = parseCommands(body);
    expect(r.commands).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ line: 1, input: body });
    expect(r.errors[0]?.message).toMatch(message);
    expect(r.errors[0]?.message).toMatch(/See `\/help`/);
  });

  it("suggests the closest command for an unknown one and points to /help", () => {
    expect(errors("/aprove")).toEqual([
      {
        line: 1,
        input: "/aprove",
        message: "unknown command `/aprove` (did you mean `/approve`?). See `/help` for the list.",
      },
    ]);
    expect(errors("/unhld")[0]?.message).toContain("did you mean `/unhold`?");
  });

  it("leaves /words like no command alone: prose, not typos", () => {
    expect(parseCommands("/shrug\n/s\n/foo bar")).toEqual({ commands: [], errors: [] });
    // Addressed to Trellis, an unknown word is answered.
    expect(errors("/trellis foo")[0]?.message).toBe("unknown command `/foo`. See `/help` for the list.");
  });

  it("keeps good commands next to bad ones", () => {
    const r = parseCommands("/approve\n/aprove\n/status");
    expect(r.commands.map((c) => [c.name, c.line])).toEqual([
      ["approve", 1],
      ["status", 3],
    ]);
    expect(r.errors.map((e) => e.line)).toEqual([2]);
  });
});

describe("/reject and known stages", () => {
  const knownStages = new Set(["dev", "qa"]);

  it("takes the first word as the stage only when it is a known stage", () => {
    expect(only("/reject qa misses the empty-list case", { knownStages })).toEqual([
      { name: "reject", stage: "qa", reason: "misses the empty-list case" },
    ]);
    expect(only("/reject tests are flaky", { knownStages })).toEqual([
      { name: "reject", reason: "tests are flaky" },
    ]);
  });

  it("treats every word as reason without known stages", () => {
    expect(only("/reject qa misses a case")).toEqual([{ name: "reject", reason: "qa misses a case" }]);
  });

  it("requires a reason after the stage", () => {
    const r = parseCommands("/reject qa", { knownStages });
    expect(r.errors[0]?.message).toMatch(/needs a reason/);
  });
});

describe("/answer spans lines", () => {
  it("takes the following lines up to a blank line", () => {
    const r = parseCommands("/answer use the v2 API\nand keep v1 working\n\nThanks!");
    expect(r.commands).toEqual([{ name: "answer", text: "use the v2 API\nand keep v1 working", line: 1 }]);
  });

  it("stops at the next command", () => {
    const r = parseCommands("/answer yes\nbecause of X\n/approve");
    expect(r.commands).toEqual([
      { name: "answer", text: "yes\nbecause of X", line: 1 },
      { name: "approve", line: 3 },
    ]);
  });

  it("may start on the next line and keep a code block, blank lines inside it included", () => {
    const r = parseCommands("/answer\nUse this config:\n```yaml\na: 1\n\nb: 2\n```\n\n/status");
    expect(r.commands).toEqual([
      { name: "answer", text: "Use this config:\n```yaml\na: 1\n\nb: 2\n```", line: 1 },
      { name: "status", line: 9 },
    ]);
  });

  it("does not treat a command-looking line inside its code block as a command", () => {
    const r = parseCommands("/answer run this:\n```\n/abort\n```");
    expect(r.commands.map((c) => c.name)).toEqual(["answer"]);
  });
});

describe("where commands are recognised", () => {
  it("finds several commands in one comment, with their lines", () => {
    const r = parseCommands("Looks good.\n\n/approve dev\n  /run docs\nthanks");
    expect(r.commands).toEqual([
      { name: "approve", stage: "dev", line: 3 },
      { name: "run", target: "docs", line: 4 },
    ]);
  });

  it("accepts the /trellis prefix form", () => {
    expect(only("/trellis run feature\n/trellis /approve\n/TRELLIS status")).toEqual([
      { name: "run", target: "feature" },
      { name: "approve" },
      { name: "status" },
    ]);
    expect(only("/trellis")).toEqual([{ name: "help" }]);
    expect(errors("/trellis frob")[0]?.message).toMatch(/unknown command `\/frob`/);
  });

  it("ignores commands not at line start", () => {
    expect(parseCommands("please /approve this\nI said: /abort")).toEqual({ commands: [], errors: [] });
  });

  it("ignores quoted lines, nested quotes included", () => {
    expect(parseCommands("> /approve\n  > /abort\n>> /hold\n> text\n/status").commands).toEqual([
      { name: "status", line: 5 },
    ]);
  });

  it("ignores fenced code blocks with ``` and ~~~, and longer fences", () => {
    const body = [
      "```",
      "/abort",
      "```",
      "~~~ts",
      "/abort",
      "```", // does not close a ~~~ fence
      "/abort",
      "~~~",
      "````",
      "/abort",
      "```", // too short to close a ```` fence
      "/abort",
      "````",
      "/approve",
    ].join("\n");
    expect(parseCommands(body)).toEqual({ commands: [{ name: "approve", line: 14 }], errors: [] });
  });

  it("treats an unclosed fence as code to the end", () => {
    expect(parseCommands("```\n/abort\n/hold").commands).toEqual([]);
  });

  it("ignores inline code, also when a span crosses lines", () => {
    expect(parseCommands("`/abort`\ntext ``span\n/abort\n`` end\n/status").commands).toEqual([
      { name: "status", line: 5 },
    ]);
    // A blank line ends the paragraph, so an unclosed backtick does not hide what follows.
    expect(parseCommands("stray ` tick\n\n/status").commands).toEqual([{ name: "status", line: 3 }]);
  });

  it("ignores HTML comments (the App's own hidden markers), keeping line numbers", () => {
    expect(parseCommands("<!-- trellis:status\n/abort\n-->\n/status").commands).toEqual([
      { name: "status", line: 4 },
    ]);
  });

  it("ignores paths and URLs", () => {
    expect(parseCommands("/usr/bin/env node\n/etc/hosts\nhttps://x.test/run\n/a.b\n//approve")).toEqual({
      commands: [],
      errors: [],
    });
  });
});

describe("hostile input is bounded", () => {
  it("reads at most 10 commands and reports the rest in one error", () => {
    const body = Array.from({ length: 25 }, () => "/status").join("\n");
    const r = parseCommands(body);
    expect(r.commands).toHaveLength(LIMITS.commands);
    expect(r.errors).toEqual([
      {
        line: 11,
        input: "/status",
        message: "at most 10 commands are read per comment; 15 more from line 11 on were ignored",
      },
    ]);
  });

  it("counts invalid commands towards the limit so errors stay bounded too", () => {
    const r = parseCommands(Array.from({ length: 1000 }, () => "/aprove").join("\n"));
    expect(r.errors).toHaveLength(LIMITS.commands + 1);
  });

  it("ignores lines over 1,000 characters", () => {
    const long = `/reject ${"x".repeat(LIMITS.lineChars)}`;
    expect(parseCommands(`${long}\n/status`).commands).toEqual([{ name: "status", line: 2 }]);
  });

  it("truncates bodies over 64 KiB before parsing", () => {
    const filler = `${"a".repeat(99)}\n`.repeat(Math.ceil(LIMITS.bodyChars / 100));
    expect(parseCommands(`${filler}/approve`).commands).toEqual([]);
    expect(parseCommands(`/approve\n${filler}`).commands).toHaveLength(1);
  });

  it("never throws on random bodies, and every result is well-formed", () => {
    const piece = fc.oneof(
      fc.string(),
      fc.constantFrom(
        "/run x",
        "/approve",
        "/answer",
        "/reject",
        "/batch --parallel",
        "```",
        "~~~",
        "> ",
        "`",
        "<!--",
        "-->",
        "\n",
        "\r\n",
        "/trellis",
        " ",
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const r = parseCommands(pieces.join(""));
        expect(r.commands.length).toBeLessThanOrEqual(LIMITS.commands);
        for (const c of r.commands) expect(c.line).toBeGreaterThanOrEqual(1);
        for (const e of r.errors) expect(e.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it("never parses a command placed inside a code block or a quote", () => {
    const command = fc.constantFrom("/approve", "/abort", "/run dev", "/hold", "/trellis abort");
    const filler = fc.array(fc.stringMatching(/^[a-z /.]{0,20}$/), { maxLength: 5 });
    fc.assert(
      fc.property(
        filler,
        command,
        filler,
        fc.constantFrom("```", "~~~", "````"),
        (before, cmd, after, fence) => {
          const plain = before.filter((l) => !l.trimStart().startsWith("/"));
          const code = [...plain, fence, cmd, ...after, fence].join("\n");
          const quoted = [...plain, `> ${cmd}`, ...after.map((l) => `> ${l}`)].join("\n");
          expect(parseCommands(code).commands).toEqual([]);
          expect(parseCommands(quoted).commands).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("helpText", () => {
  it("is generated from the command table: one row per command with its syntax", () => {
    const help = helpText();
    for (const c of COMMANDS) expect(help).toContain(`/${c.name}`);
    expect(help).toContain("| `/run <workflow\\|profile>` |");
    expect(help).toContain("| `/reject [stage] <reason>` |");
    expect(help).toContain("| `/assign <stage> <profile>` |");
    expect(help.split("\n").filter((l) => l.startsWith("| `/"))).toHaveLength(COMMANDS.length);
  });

  it("can show one command", () => {
    const help = helpText("batch");
    expect(help.split("\n").filter((l) => l.startsWith("| `/"))).toEqual([
      "| `/batch [sequential\\|parallel\\|dependency-aware] [--parallel N]` | Plan this tracking issue's task list as a batch and start it. |",
    ]);
  });

  it("documents only commands the parser accepts", () => {
    for (const line of helpText()
      .split("\n")
      .filter((l) => l.startsWith("| `/"))) {
      const name = /^\| `(\/[a-z]+)/.exec(line)?.[1] ?? "";
      const r = parseCommands(name);
      // Either it parses bare, or it fails only for a missing argument, never as an unknown command.
      for (const e of r.errors) expect(e.message).not.toMatch(/unknown command/);
    }
  });
});
