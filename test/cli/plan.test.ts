import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { planCommand, PLAN_USAGE } from "../../src/cli/plan.js";

const fixtures = fileURLToPath(new URL("../fixtures/batches/", import.meta.url));
const FEATURE = `${fixtures}feature-batch.md`;

async function run(argv: string[], files: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await planCommand(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    readFile: async (path) => files[path] ?? readFile(path, "utf8"),
  });
  return { code, stdout, stderr };
}

describe("trellis plan --json", () => {
  it("prints exactly one JSON object with the contract's fields", async () => {
    const { code, stdout, stderr } = await run([FEATURE, "--json", "--repo", "acme/shop"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(stdout.endsWith("\n")).toBe(true);
    expect(stdout.trimEnd().split("\n")).toHaveLength(1);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(["strategy", "parallel", "schedule", "makespan", "lowerBound"]);
    expect(out).toEqual({
      strategy: "dependency-aware",
      parallel: 3,
      schedule: [
        { ticket: "db", start: 0, end: 2, slot: 0 },
        { ticket: "#102", start: 0, end: 2, slot: 1 },
        { ticket: "t12", start: 0, end: 0.5, slot: 2 },
        { ticket: "api", start: 2, end: 5, slot: 0 },
        { ticket: "e2e", start: 5, end: 7, slot: 0 },
        { ticket: "#103", start: 5, end: 6, slot: 1 },
        { ticket: "docs", start: 7, end: 8, slot: 0 },
      ],
      makespan: 8,
      lowerBound: 8,
    });
  });

  it("writes issue references as written when the repository is not given", async () => {
    const { stdout } = await run([FEATURE, "--json"]);
    const out = JSON.parse(stdout) as { schedule: { ticket: string }[] };
    expect(out.schedule.map((s) => s.ticket)).toContain("acme/shop#103");
  });

  it.each([
    // Total work is 11.5; waves of two: (db, #102) (api, t12) (e2e, #103) (docs) = 2 + 3 + 2 + 1.
    [["--strategy", "sequential"], "sequential", 3, 11.5],
    [["--strategy", "parallel", "--parallel", "4", "--batch-size", "2"], "parallel", 4, 8],
    [["--parallel", "1"], "dependency-aware", 1, 11.5],
    [["--parallel", "10"], "dependency-aware", 10, 8],
  ])("honours %j", async (flags, strategy, parallel, makespan) => {
    const { code, stdout } = await run([FEATURE, "--json", ...flags]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ strategy, parallel, makespan });
  });
});

describe("trellis plan (human output)", () => {
  it("prints a table, the makespan against the lower bound, and the Mermaid graph", async () => {
    const { code, stdout, stderr } = await run([FEATURE, "--repo", "acme/shop"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toContain(`Plan for ${FEATURE}: strategy dependency-aware, parallel 3\n`);
    const lines = stdout.split("\n");
    const header = lines.find((l) => l.startsWith("ticket"));
    expect(header).toMatch(/^ticket\s+title\s+est\s+start\s+end\s+slot$/);
    expect(lines).toContainEqual(expect.stringMatching(/^api\s+Build the orders REST API\s+3\s+2\s+5\s+0$/));
    expect(lines).toContainEqual(expect.stringMatching(/^t12\s+Tidy the changelog\s+0\.5\s+0\s+0\.5\s+2$/));
    expect(stdout).toContain("makespan 8, lower bound 8 (ratio 1.00); 1 done ticket not scheduled\n");
    expect(stdout).toMatch(/```mermaid\nflowchart TD\n[\s\S]*\n```\n$/);
    expect(stdout).toContain("  class n0 done");
  });

  it("keeps terminal control sequences in titles out of the table", async () => {
    const md = "- [ ] [a] Evil \u001b[2J\u001b]0;pwned\u0007 title";
    const { code, stdout } = await run(["evil.md"], { "evil.md": md });
    expect(code).toBe(0);
    expect(stdout).not.toContain("\u001b");
    expect(stdout).not.toContain("\u0007");
  });

  it("says so when every ticket is done", async () => {
    const { code, stdout } = await run(["done.md"], { "done.md": "- [x] [a] one\n- [x] [b] two" });
    expect(code).toBe(0);
    expect(stdout).toContain("(every ticket is done)");
    expect(stdout).toContain("makespan 0, lower bound 0; 2 done tickets not scheduled");
  });

  it("prints the usage for --help", async () => {
    expect(await run(["--help"])).toEqual({ code: 0, stdout: PLAN_USAGE, stderr: "" });
  });
});

describe("trellis plan refusals (exit 1)", () => {
  it("names every member of a cycle", async () => {
    const { code, stdout, stderr } = await run([`${fixtures}cycle.md`, "--json"]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain("dependency cycle: [schema] → [api] → [client] → [schema]");
    expect(stderr).toContain("dependency cycle: [docs] → [docs]");
  });

  it("names every unknown reference with its line", async () => {
    const { code, stderr } = await run([`${fixtures}unknown-ref.md`]);
    expect(code).toBe(1);
    expect(stderr).toContain("line 4: [api] depends on [dbb], which is not in the task list");
    expect(stderr).toContain("line 5: #7 depends on #6, which is not in the task list");
  });

  it("reports an unreadable file", async () => {
    const { code, stdout, stderr } = await run([`${fixtures}missing.md`, "--json"]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^trellis plan: cannot read .*missing\.md: .*ENOENT/);
  });

  it("reports bad estimates with file:line", async () => {
    const { code, stderr } = await run(["b.md"], { "b.md": "\n- [ ] [a] x est: 0" });
    expect(code).toBe(1);
    expect(stderr).toContain("b.md:2: cannot read the estimate");
  });

  it("refuses a file without a task list", async () => {
    const { code, stderr } = await run(["empty.md"], { "empty.md": "# nothing here\n" });
    expect(code).toBe(1);
    expect(stderr).toContain('empty.md: no task-list lines ("- [ ] …") found');
  });

  it("refuses an oversized task list", async () => {
    const md = Array.from({ length: 1001 }, (_, i) => `- [ ] [k${i}] t`).join("\n");
    const { code, stderr } = await run(["big.md"], { "big.md": md });
    expect(code).toBe(1);
    expect(stderr).toContain("more than 1,000 tickets");
  });
});

describe("trellis plan warnings", () => {
  it("plans a list past GitHub's 100 sub-issues per parent but warns the App would refuse it as one batch", async () => {
    const md = Array.from({ length: 101 }, (_, i) => `- [ ] [k${i}] t`).join("\n");
    const { code, stdout, stderr } = await run(["big.md", "--json"], { "big.md": md });
    expect(code).toBe(0);
    expect(JSON.parse(stdout).schedule).toHaveLength(101);
    expect(stderr).toContain("warning: as a batch, GitHub allows at most 100 sub-issues per issue");
  });
});

describe("trellis plan usage errors (exit 2)", () => {
  it.each([
    [[], "missing the task-list file"],
    [["a.md", "b.md"], "expected one file, got 2"],
    [["a.md", "--strategy", "fastest"], 'unknown strategy "fastest"'],
    [["a.md", "--parallel", "0"], '--parallel must be a whole number ≥ 1, got "0"'],
    [["a.md", "--parallel", "2.5"], "--parallel must be a whole number"],
    [["a.md", "--parallel"], "argument missing"],
    [["a.md", "--batch-size", "2"], "--batch-size applies only to --strategy parallel"],
    [
      ["a.md", "--strategy", "parallel", "--parallel", "2", "--batch-size", "3"],
      "cannot exceed --parallel (2)",
    ],
    [["a.md", "--repo", "nope"], "--repo must look like owner/name"],
    [["a.md", "--frobnicate"], "Unknown option '--frobnicate'"],
  ])("%j", async (argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain(message);
    expect(stderr).toContain("Usage: trellis plan");
  });
});

describe("trellis plan through the trellis dispatcher", () => {
  it("reads the file from disk when the caller passes only stdout and stderr", async () => {
    let stdout = "";
    let stderr = "";
    const code = await planCommand([FEATURE, "--json"], {
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(stdout)).toMatchObject({ strategy: "dependency-aware", makespan: 8 });
  });

  it("is what `trellis plan` runs", async () => {
    const { main } = await import("../../src/cli/main.js");
    let stdout = "";
    let stderr = "";
    const code = await main(["plan", `${fixtures}cycle.md`], {
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
    });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain("dependency cycle: [schema] → [api] → [client] → [schema]");
  });
});
