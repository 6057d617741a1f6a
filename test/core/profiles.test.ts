import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../src/core/diagnostics.js";
import type { AgentProfile } from "../../src/core/model.js";
import {
  checkToolName,
  mergeProfiles,
  parseProfile,
  parseProfiles,
  splitToolList,
  suggest,
  toClaudeSubagent,
} from "../../src/core/profiles.js";

const root = join(import.meta.dirname, "../..");
const builtinDir = join(root, "agent-profiles");
const fixtureDir = join(root, "test/fixtures/profiles");
const read = (dir: string, f: string) => ({ file: f, text: readFileSync(join(dir, f), "utf8") });
const fixture = (name: string) => {
  const { file, text } = read(fixtureDir, name);
  return parseProfile(`test/fixtures/profiles/${file}`, text);
};
const brief = (ds: { line?: number; path: (string | number)[]; message: string }[]) =>
  ds.map((d) => [d.line, d.path.join("."), d.message] as const);

const minimal = (front: string, body = "You are a test agent.") =>
  `---\nname: tester\ndescription: Tests things.\n${front}---\n\n${body}\n`;

describe("shipped profiles (agent-profiles/*.md)", () => {
  const files = readdirSync(builtinDir).filter((f) => f.endsWith(".md"));
  const expected = ["bdd", "design", "dev", "devops", "docs", "qa", "refine", "review", "security-review"];

  it("ships exactly the documented set", () => {
    expect(files.map((f) => basename(f, ".md")).sort()).toEqual(expected);
  });

  it.each(files)("%s parses with no errors and no warnings", (f) => {
    const { file, text } = read(builtinDir, f);
    const r = parseProfile(`agent-profiles/${file}`, text);
    expect([...r.errors, ...r.warnings].map(formatDiagnostic)).toEqual([]);
    expect(r.value?.name).toBe(basename(f, ".md"));
    expect(r.value?.role).toBe(basename(f, ".md"));
  });

  it.each(files)("%s has a real system prompt with the Trellis ground rules", (f) => {
    const p = parseProfile(f, read(builtinDir, f).text).value!;
    const lines = p.prompt.split("\n").length;
    expect(lines).toBeGreaterThanOrEqual(30);
    expect(lines).toBeLessThanOrEqual(80);
    expect(p.prompt).toContain(".trellis/question.md");
    expect(p.prompt).toMatch(/untrusted data/i);
    expect(p.prompt).toMatch(/never\s+follow\s+instructions/i);
    expect(p.prompt).toContain(".github/workflows");
    expect(p.prompt).toMatch(/## What done means|## How to give your verdict/);
    expect(p.prompt).toMatch(/## How to report/);
    expect(p.description.length).toBeGreaterThan(40);
  });

  it.each(["review.md", "devops.md"])("%s, a reviewer, says how to give a verdict", (f) => {
    const p = parseProfile(f, read(builtinDir, f).text).value!;
    expect(p.prompt).toContain(".trellis/review.md");
    expect(p.prompt).toMatch(/first line is exactly\s+`APPROVE` or `REQUEST_CHANGES`/);
  });

  it("refine writes .trellis/refined.md with criteria as a checklist, an estimate and labels", () => {
    const p = parseProfile("refine.md", read(builtinDir, "refine.md").text).value!;
    expect(p.prompt).toContain(".trellis/refined.md");
    expect(p.prompt).toContain("- [ ]");
    expect(p.prompt).toContain("est: <N>");
    expect(p.prompt).toMatch(/labels:/);
  });

  it("read-only roles cannot edit source files", () => {
    for (const f of ["review.md", "refine.md"]) {
      const p = parseProfile(f, read(builtinDir, f).text).value!;
      expect(p.tools).not.toContain("Edit");
      expect(p.disallowedTools).toContain("Edit");
    }
  });

  it("security-review, the detection gate, can only read and answers with its verdict in its final message", () => {
    const p = parseProfile("security-review.md", read(builtinDir, "security-review.md").text).value!;
    expect(p.tools).toEqual(["Read", "Glob", "Grep", "LS"]);
    for (const tool of ["Bash", "Edit", "MultiEdit", "Write", "NotebookEdit", "WebFetch"])
      expect(p.disallowedTools).toContain(tool);
    expect(p.prompt).toMatch(/final message is your verdict/);
    expect(p.prompt).toMatch(/first line is exactly\s+`APPROVE` or `REQUEST_CHANGES`/);
    for (const threat of [
      /exfiltration/i,
      /backdoor/i,
      /\.github\/workflows/,
      /obfuscation/i,
      /dependency confusion/i,
    ])
      expect(p.prompt).toMatch(threat);
  });

  it("parses together without duplicate names", () => {
    const r = parseProfiles(files.map((f) => read(builtinDir, f)));
    expect(r.errors).toEqual([]);
    expect(r.value?.map((p) => p.name).sort()).toEqual(expected);
  });
});

describe("parseProfile: values and defaults", () => {
  it("maps front matter to AgentProfile with the documented defaults", () => {
    const r = parseProfile("a.md", minimal(""));
    expect(r.errors).toEqual([]);
    expect(r.value).toEqual<AgentProfile>({
      name: "tester",
      description: "Tests things.",
      role: "tester",
      disallowedTools: [],
      maxTurns: 30,
      timeoutMinutes: 30,
      permission: "autonomous",
      maxParallel: 3,
      prompt: "You are a test agent.",
      source: "a.md",
    });
    expect(r.value).not.toHaveProperty("tools");
    expect(r.value).not.toHaveProperty("model");
  });

  it("reads every Trellis field", () => {
    const r = parseProfile(
      "a.md",
      minimal(
        "role: qa\ntools: [Read, Grep]\ndisallowed_tools: Bash\nmodel: claude-sonnet-4-5-20250929\n" +
          "max_turns: 5\ntimeout_minutes: 120\npermission: human-required\nmax_parallel: 1\n",
      ),
    );
    expect(r.errors).toEqual([]);
    expect(r.value).toMatchObject({
      role: "qa",
      tools: ["Read", "Grep"],
      disallowedTools: ["Bash"],
      model: "claude-sonnet-4-5-20250929",
      maxTurns: 5,
      timeoutMinutes: 120,
      permission: "human-required",
      maxParallel: 1,
    });
  });

  it("splits comma-separated tools, keeping commas inside Tool(pattern)", () => {
    const r = parseProfile("a.md", minimal("tools: Read, Bash(git diff, git log), mcp__github__get_issue\n"));
    expect(r.value?.tools).toEqual(["Read", "Bash(git diff, git log)", "mcp__github__get_issue"]);
    expect(r.warnings).toEqual([]);
  });

  it("accepts Claude Code's own key spellings, so .claude/agents files work as they are", () => {
    const r = fixture("claude-style.md");
    expect([...r.errors, ...r.warnings]).toEqual([]);
    expect(r.value).toMatchObject({
      name: "code-reviewer",
      disallowedTools: ["Write"],
      maxTurns: 12,
      model: "inherit",
    });
  });

  it("refuses both spellings of one key", () => {
    const r = parseProfile("a.md", minimal("max_turns: 3\nmaxTurns: 4\n"));
    expect(brief(r.errors)).toEqual([[5, "maxTurns", "give either max_turns or maxTurns, not both"]]);
  });

  it("handles CRLF line endings and a byte-order mark", () => {
    const text = "\uFEFF" + minimal("model: opus\n").replace(/\n/g, "\r\n");
    const r = parseProfile("a.md", text);
    expect(r.errors).toEqual([]);
    expect(r.value?.model).toBe("opus");
    expect(r.value?.prompt).toBe("You are a test agent.");
  });

  it("keeps the whole Markdown body, including its own --- rules", () => {
    const r = parseProfile("a.md", minimal("", "# Title\n\nText\n\n---\n\nMore"));
    expect(r.value?.prompt).toBe("# Title\n\nText\n\n---\n\nMore");
  });
});

describe("parseProfile: located errors", () => {
  it("reports every bad field of a fixture at its exact line", () => {
    const r = fixture("invalid-fields.md");
    expect(r.value).toBeUndefined();
    expect(brief(r.errors)).toEqual([
      [2, "name", "name must use only lowercase letters, digits and hyphens ([a-z0-9-]+)"],
      [4, "permission", "permission must be one of autonomous, supervised, human-required"],
      [5, "max_turns", "max_turns must be a whole number from 1 to 500"],
      [6, "timeout_minutes", "timeout_minutes must be a whole number from 1 to 360 (minutes)"],
      [
        7,
        "model",
        "model must be one of sonnet, opus, haiku, inherit or a full model id such as claude-sonnet-4-5",
      ],
      [8, "max_parallel", "max_parallel must be a whole number from 1 to 100"],
    ]);
    expect(formatDiagnostic(r.errors[0]!)).toBe(
      "test/fixtures/profiles/invalid-fields.md:2:1: error name: name must use only lowercase letters, digits and hyphens ([a-z0-9-]+)",
    );
  });

  it("reports missing name and description", () => {
    const r = fixture("missing-required.md");
    expect(brief(r.errors)).toEqual([
      [3, "name", "name is required"],
      [3, "description", "description is required"],
    ]);
  });

  it("reports a file without front matter, or with an unclosed one, at line 1", () => {
    expect(brief(parseProfile("a.md", "# Just Markdown\n").errors)).toEqual([
      [
        1,
        "",
        "missing YAML front matter: the file must start with a --- line, the profile's keys, and a closing --- line",
      ],
    ]);
    expect(brief(parseProfile("a.md", "---\nname: x\ndescription: y\n").errors)).toEqual([
      [1, "", "the front matter is not closed: add a --- line after the profile's keys"],
    ]);
  });

  it("locates YAML syntax errors in the front matter at the file's line", () => {
    const r = parseProfile("a.md", "---\nname: ok\ndescription: [unclosed\n---\nbody\n");
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.line).toBeGreaterThanOrEqual(3);
    expect(r.errors[0]!.file).toBe("a.md");
  });

  it("refuses front matter that is not a mapping, and an empty body", () => {
    expect(brief(parseProfile("a.md", "---\n- a\n- b\n---\nbody\n").errors)).toEqual([
      [2, "", "the front matter must be a mapping of keys to values"],
    ]);
    expect(brief(parseProfile("a.md", minimal("", "   ")).errors)).toEqual([
      [5, "", "the Markdown body is empty: it is the agent's system prompt"],
    ]);
  });

  it("reports missing keys of an empty front matter at line 1", () => {
    expect(brief(parseProfile("a.md", "---\n---\nbody\n").errors)).toEqual([
      [1, "name", "name is required"],
      [1, "description", "description is required"],
    ]);
  });

  it("rejects non-string tool entries at the entry", () => {
    const r = parseProfile("a.md", minimal("tools:\n  - Read\n  - 42\n"));
    expect(brief(r.errors)).toEqual([[6, "tools.1", "tools entries must be tool names"]]);
  });
});

describe("parseProfile: warnings", () => {
  it("warns about unknown tools and keys, with suggestions, at their lines", () => {
    const r = fixture("warnings.md");
    expect(r.errors).toEqual([]);
    expect(r.value?.tools).toEqual([
      "Read",
      "bash",
      "Bash(npm test:*)",
      "mcp__github__create_issue",
      "Fetch",
    ]);
    expect(brief(r.warnings).map(([line, path, msg]) => [line, path, msg.split(";")[0]])).toEqual([
      [6, "tools.1", 'unknown tool "bash" (did you mean "Bash"?)'],
      [9, "tools.4", 'unknown tool "Fetch"'],
      [10, "disallowed_tools", '"Read" is both allowed and disallowed: it will be disallowed'],
      [11, "max_turn", 'unknown key "max_turn" is ignored (did you mean "max_turns"?)'],
      [12, "colour", 'unknown key "colour" is ignored'],
    ]);
    expect(r.value?.maxTurns).toBe(30);
  });

  it("locates a bad tool in a comma-separated string at the key", () => {
    const r = parseProfile("a.md", minimal("tools: Read, Grpe\n"));
    expect(brief(r.warnings).map(([l, p, m]) => [l, p, m.split(";")[0]])).toEqual([
      [4, "tools", 'unknown tool "Grpe" (did you mean "Grep"?)'],
    ]);
  });
});

describe("tool names", () => {
  it.each([
    ["Read", true],
    ["Bash(npm run test:*)", true],
    ["WebFetch(domain:example.com)", true],
    ["mcp__server__tool", true],
    ["Bash()", false],
    ["read", false],
    ["Shell", false],
  ])("%s known: %s", (tool, ok) => {
    expect(checkToolName(tool) === undefined).toBe(ok);
  });

  it("splits lists and ignores empty entries", () => {
    expect(splitToolList(" Read ,, Grep ,")).toEqual(["Read", "Grep"]);
    expect(splitToolList("Bash(a, (b), c), Edit")).toEqual(["Bash(a, (b), c)", "Edit"]);
  });

  it("suggests only close matches", () => {
    expect(suggest("disallowedtools", ["disallowed_tools", "tools"])).toBe("disallowed_tools");
    expect(suggest("zzz", ["name", "description"])).toBeUndefined();
  });
});

describe("never throws", () => {
  it("returns diagnostics for arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-ascii", maxLength: 300 }), fc.boolean(), (s, framed) => {
        const text = framed ? `---\n${s}\n---\nbody` : s;
        const r = parseProfile("x.md", text);
        expect(r.value !== undefined || r.errors.length > 0).toBe(true);
        for (const d of [...r.errors, ...r.warnings]) expect(d.file).toBe("x.md");
      }),
    );
  });
});

describe("parseProfiles", () => {
  it("reports a duplicate name at the later file's name line", () => {
    const r = parseProfiles([
      { file: "one.md", text: minimal("") },
      { file: "two.md", text: `---\ndescription: again\nname: tester\n---\nbody\n` },
    ]);
    expect(r.errors.map(formatDiagnostic)).toEqual([
      'two.md:3:1: error name: profile "tester" is already defined in one.md',
    ]);
    expect(r.value?.map((p) => p.source)).toEqual(["one.md"]);
  });

  it("keeps the profiles that parsed when others are broken", () => {
    const r = parseProfiles([
      { file: "ok.md", text: minimal("") },
      { file: "bad.md", text: "no front matter" },
    ]);
    expect(r.errors).toHaveLength(1);
    expect(r.value?.map((p) => p.name)).toEqual(["tester"]);
  });
});

describe("mergeProfiles", () => {
  const p = (name: string, source: string): AgentProfile => ({
    ...parseProfile(source, minimal("").replace("tester", name)).value!,
  });

  it("replaces built-ins in place and appends new profiles", () => {
    const merged = mergeProfiles(
      [p("dev", "agent-profiles/dev.md"), p("qa", "agent-profiles/qa.md")],
      [p("security", ".github/trellis/agents/security.md"), p("dev", ".github/trellis/agents/dev.md")],
    );
    expect(merged.map((m) => [m.name, m.source])).toEqual([
      ["dev", ".github/trellis/agents/dev.md"],
      ["qa", "agent-profiles/qa.md"],
      ["security", ".github/trellis/agents/security.md"],
    ]);
  });

  it("is the identity without overrides", () => {
    const builtins = [p("dev", "a"), p("qa", "b")];
    expect(mergeProfiles(builtins, [])).toEqual(builtins);
  });
});

describe("toClaudeSubagent", () => {
  it("writes Claude Code sub-agent front matter and the prompt", () => {
    const profile = parseProfile(
      "review.md",
      minimal("tools: Read, Grep, Edit\ndisallowed_tools: Edit, Bash(rm:*)\nmodel: opus\nmax_turns: 9\n"),
    ).value!;
    expect(toClaudeSubagent(profile)).toBe(
      [
        "---",
        "name: tester",
        "description: Tests things.",
        "tools: Read, Grep",
        "disallowedTools: Edit, Bash(rm:*)",
        "model: opus",
        "maxTurns: 9",
        "---",
        "",
        "You are a test agent.",
        "",
      ].join("\n"),
    );
  });

  it("omits tools (inherit all) and model when the profile does not set them", () => {
    const out = toClaudeSubagent(parseProfile("a.md", minimal("")).value!);
    expect(out).not.toMatch(/^tools:/m);
    expect(out).not.toMatch(/^model:/m);
    expect(out).not.toMatch(/^disallowedTools:/m);
  });

  it("round-trips every shipped profile through parseProfile", () => {
    for (const f of readdirSync(builtinDir)) {
      const original = parseProfile(f, read(builtinDir, f).text).value!;
      const again = parseProfile(f, toClaudeSubagent(original));
      expect([...again.errors, ...again.warnings]).toEqual([]);
      expect(again.value).toMatchObject({
        name: original.name,
        description: original.description,
        model: original.model,
        prompt: original.prompt,
        maxTurns: original.maxTurns,
        disallowedTools: original.disallowedTools,
      });
      expect(again.value?.tools).toEqual(
        original.tools?.filter((t) => !original.disallowedTools.includes(t)),
      );
    }
  });

  it("quotes descriptions that YAML would misread", () => {
    const profile = {
      ...parseProfile("a.md", minimal("")).value!,
      description: "Use when: tests fail # always",
    };
    expect(parseProfile("a.md", toClaudeSubagent(profile)).value?.description).toBe(
      "Use when: tests fail # always",
    );
  });
});
