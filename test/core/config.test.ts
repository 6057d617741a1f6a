import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  configJsonSchema,
  defaultConfig,
  levenshtein,
  mergeConfig,
  parseConfig,
  suggest,
  TrellisConfigSchema,
} from "../../src/core/config.js";
import { formatDiagnostic } from "../../src/core/diagnostics.js";

const FILE = ".github/trellis.yml";
const lines = (text: string) => {
  const r = parseConfig(FILE, text);
  return { ...r, errors: r.errors.map(formatDiagnostic), warnings: r.warnings.map(formatDiagnostic) };
};

describe("defaults", () => {
  it("fills every documented default", () => {
    expect(defaultConfig()).toEqual({
      labels: { agent_prefix: "agent:", workflow_prefix: "workflow:", batch: "trellis:batch" },
      roles: ["admin", "maintain", "write"],
      default_workflow: "single-agent",
      default_profile: "dev",
      batch: { strategy: "dependency-aware", parallel_limit: 3, batch_size: 3, refine: true },
      budgets: { per_run_usd: 10, monthly_usd: 200 },
      board: {
        enabled: false,
        owner: "",
        number: 0,
        create: false,
        title: "Trellis",
        columns: {
          backlog: "Backlog",
          ready: "Ready",
          in_progress: "In progress",
          needs_human: "Needs human",
          in_review: "In review",
          done: "Done",
          failed: "Failed",
        },
      },
      agent_workflow: "trellis-agent.yml",
      commands: { test: "npm test", bdd: "npx cucumber-js", coverage: "" },
      protected_paths: [".github/workflows/**"],
      allow_protected_paths: false,
      prompt: { include_outside_comments: false, approve_outsider_commits: true },
      dry_run: false,
    });
  });

  it("returns a fresh object each time", () => {
    const a = defaultConfig();
    a.roles.push("read");
    expect(defaultConfig().roles).toEqual(["admin", "maintain", "write"]);
  });

  it.each(["", "# only a comment\n", "---\n", "\n\n"])("treats %j as all defaults", (text) => {
    expect(parseConfig(FILE, text)).toEqual({ value: defaultConfig(), errors: [], warnings: [] });
  });

  it("treats an empty section as that section's defaults", () => {
    const r = parseConfig(FILE, "board:\nbatch:\n  parallel_limit:\n");
    expect(r.errors).toEqual([]);
    expect(r.value?.board).toEqual(defaultConfig().board);
    expect(r.value?.batch.parallel_limit).toBe(3);
  });
});

describe("parseConfig", () => {
  it("keeps given values and fills the rest", () => {
    const r = parseConfig(
      FILE,
      [
        "_extends: .github",
        "roles: [admin, triage]",
        "batch:",
        "  strategy: parallel",
        "  parallel_limit: 5",
        "board:",
        "  enabled: true",
        "  columns: { done: Shipped }",
        "dry_run: true",
      ].join("\n"),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.value).toMatchObject({
      _extends: ".github",
      roles: ["admin", "triage"],
      batch: { strategy: "parallel", parallel_limit: 5, batch_size: 3, refine: true },
      board: { enabled: true, columns: { done: "Shipped", backlog: "Backlog" } },
      dry_run: true,
    });
  });

  it("reports a YAML syntax error with its line and column and no value", () => {
    const r = lines("labels:\n  batch: [unclosed\nroles: [admin]\n");
    expect(r.value).toBeUndefined();
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^\.github\/trellis\.yml:\d+:\d+: error /);
  });

  it("reports duplicate keys as syntax errors", () => {
    const r = lines("dry_run: true\ndry_run: false\n");
    expect(r.errors[0]).toMatch(/^\.github\/trellis\.yml:2:1: error .*[Uu]nique/);
  });

  it("rejects a file that is not a mapping", () => {
    expect(lines("- admin\n").errors).toEqual([
      ".github/trellis.yml:1:1: error the file must be a mapping of settings (key: value), not a list",
    ]);
    expect(lines("just text\n").errors[0]).toContain("not string");
  });

  it("warns on unknown keys, with a suggestion when one is close, and still returns a value", () => {
    const r = lines(
      ["labels:", "  agent_prefx: 'a:'", "parallelLimit: 4", "colour: blue", "dryrun: true"].join("\n"),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      `.github/trellis.yml:2:3: warning labels.agent_prefx: unknown key "agent_prefx" is ignored; did you mean "agent_prefix"?`,
      `.github/trellis.yml:3:1: warning parallelLimit: unknown key "parallelLimit" is ignored; did you mean "batch.parallel_limit"?`,
      `.github/trellis.yml:4:1: warning colour: unknown key "colour" is ignored`,
      `.github/trellis.yml:5:1: warning dryrun: unknown key "dryrun" is ignored; did you mean "dry_run"?`,
    ]);
    expect(r.value?.labels.agent_prefix).toBe("agent:");
    expect(r.value?.dry_run).toBe(false);
  });

  it("reports type errors, bad enums and bad ranges, each located, sorted by line", () => {
    const r = lines(
      [
        "roles: [admin, owner]", // 1
        "batch:", // 2
        "  strategy: dependancy-aware", // 3
        "  parallel_limit: 99", // 4
        "  batch_size: 1.5", // 5
        "budgets:", // 6
        "  per_run_usd: 0", // 7
        "  monthly_usd: lots", // 8
        "dry_run: yes please", // 9
        "agent_workflow: ../evil.sh", // 10
        "default_profile: Dev Team", // 11
        "board: { number: -1 }", // 12
      ].join("\n"),
    );
    expect(r.value).toBeUndefined();
    expect(r.errors).toEqual([
      `.github/trellis.yml:1:16: error roles[1]: "owner" is not one of "admin", "maintain", "write", "triage", "read"`,
      `.github/trellis.yml:3:3: error batch.strategy: "dependancy-aware" is not one of "sequential", "parallel", "dependency-aware"; did you mean "dependency-aware"?`,
      ".github/trellis.yml:4:3: error batch.parallel_limit: Too big: expected number to be <=50 (got 99)",
      ".github/trellis.yml:5:3: error batch.batch_size: Invalid input: expected int, received number",
      ".github/trellis.yml:7:3: error budgets.per_run_usd: must be greater than 0 (got 0)",
      ".github/trellis.yml:8:3: error budgets.monthly_usd: Invalid input: expected number, received string",
      ".github/trellis.yml:9:1: error dry_run: Invalid input: expected boolean, received string",
      ".github/trellis.yml:10:1: error agent_workflow: must be a file name in .github/workflows, like trellis-agent.yml",
      ".github/trellis.yml:11:1: error default_profile: must be lower-case letters, digits, '-' or '_' (like a file name)",
      ".github/trellis.yml:12:10: error board.number: Too small: expected number to be >=0 (got -1)",
    ]);
  });

  it("reports errors and unknown-key warnings together", () => {
    const r = lines("dry_run: 3\nfoo: 1\n");
    expect(r.errors).toEqual([
      ".github/trellis.yml:1:1: error dry_run: Invalid input: expected boolean, received number",
    ]);
    expect(r.warnings).toEqual([`.github/trellis.yml:2:1: warning foo: unknown key "foo" is ignored`]);
  });

  it("requires at least one role", () => {
    expect(lines("roles: []\n").errors).toEqual([
      ".github/trellis.yml:1:1: error roles: must list at least one role",
    ]);
  });

  it("never throws on arbitrary text or arbitrary YAML values", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const r = parseConfig(FILE, text);
        expect(r.value !== undefined || r.errors.length > 0).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const r = parseConfig(FILE, JSON.stringify(value));
        for (const d of [...r.errors, ...r.warnings]) expect(d.file).toBe(FILE);
      }),
    );
  });

  it("accepts every config the schema generates from valid parts", () => {
    const arb = fc.record(
      {
        roles: fc.uniqueArray(fc.constantFrom("admin", "maintain", "write", "triage", "read"), {
          minLength: 1,
        }),
        batch: fc.record(
          {
            strategy: fc.constantFrom("sequential", "parallel", "dependency-aware"),
            parallel_limit: fc.integer({ min: 1, max: 50 }),
          },
          { requiredKeys: [] },
        ),
        budgets: fc.record({ per_run_usd: fc.double({ min: 0.01, max: 1e6, noNaN: true }) }),
        dry_run: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arb, (cfg) => {
        const r = parseConfig(FILE, JSON.stringify(cfg));
        expect(r.errors).toEqual([]);
        expect(r.value).toMatchObject(cfg);
      }),
    );
  });
});

describe("mergeConfig", () => {
  it("deep-merges objects, replaces arrays and scalars, and keeps the base under nulls", () => {
    const base = {
      roles: ["admin", "maintain", "write"],
      batch: { strategy: "parallel", parallel_limit: 5 },
      board: { enabled: true, columns: { done: "Shipped", failed: "Broken" } },
      dry_run: true,
    };
    const override = {
      _extends: ".github",
      roles: ["admin"],
      batch: { parallel_limit: 2 },
      board: { columns: { done: "Done!" } },
      dry_run: null,
    };
    expect(mergeConfig(base, override)).toEqual({
      roles: ["admin"],
      batch: { strategy: "parallel", parallel_limit: 2 },
      board: { enabled: true, columns: { done: "Done!", failed: "Broken" } },
      dry_run: true,
    });
  });

  it("does not mutate its inputs", () => {
    const base = { batch: { parallel_limit: 5 } };
    const override = { batch: { parallel_limit: 2 } };
    mergeConfig(base, override);
    expect(base).toEqual({ batch: { parallel_limit: 5 } });
  });

  it("keeps the base's own _extends so a caller can follow a chain", () => {
    expect(mergeConfig({ _extends: "org/base", a: 1 }, { _extends: ".github", b: 2 })).toEqual({
      _extends: "org/base",
      a: 1,
      b: 2,
    });
  });

  it("handles missing sides", () => {
    expect(mergeConfig(undefined, { a: 1 })).toEqual({ a: 1 });
    expect(mergeConfig({ a: 1 }, undefined)).toEqual({ a: 1 });
    expect(mergeConfig({ a: { b: 1 } }, { a: 3 })).toEqual({ a: 3 });
  });

  it("gives a result that validates when both sides do", () => {
    const base = parseConfig(FILE, "board: { enabled: true, owner: acme }\n");
    const merged = mergeConfig({ board: { enabled: true, owner: "acme" } }, { board: { number: 4 } });
    expect(base.errors).toEqual([]);
    expect(TrellisConfigSchema.parse(merged).board).toMatchObject({
      enabled: true,
      owner: "acme",
      number: 4,
    });
  });
});

describe("JSON Schema", () => {
  it("is committed and in sync with the Zod schema (regenerate: npx trellis schema > src/core/config.schema.json)", () => {
    const committed: unknown = JSON.parse(
      readFileSync(new URL("../../src/core/config.schema.json", import.meta.url), "utf8"),
    );
    expect(committed).toEqual(configJsonSchema());
  });

  it("describes the file as written: no required keys, unknown keys flagged, defaults shown", () => {
    const schema = configJsonSchema() as {
      $schema: string;
      required?: string[];
      additionalProperties: boolean;
      properties: Record<string, { default?: unknown; properties?: Record<string, { default?: unknown }> }>;
    };
    expect(schema.$schema).toContain("json-schema.org");
    expect(schema.required).toBeUndefined();
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.batch?.properties?.parallel_limit?.default).toBe(3);
    expect(Object.keys(schema.properties)).toEqual(Object.keys(TrellisConfigSchema.shape));
  });

  it("round-trips: the defaults validate against the generated schema's types", () => {
    // The generated schema is an input schema, so the zod round trip is the meaningful check.
    const fromJson = z.fromJSONSchema(configJsonSchema() as Parameters<typeof z.fromJSONSchema>[0]);
    expect(fromJson.safeParse(defaultConfig()).success).toBe(true);
    expect(fromJson.safeParse({ batch: { parallel_limit: 0 } }).success).toBe(false);
    expect(fromJson.safeParse({ nope: 1 }).success).toBe(false);
  });
});

describe("suggest", () => {
  it("finds close words and ignores case, '-' and '_'", () => {
    expect(suggest("aprove", ["approve", "abort"])).toBe("approve");
    expect(suggest("parallelLimit", ["parallel_limit", "batch_size"])).toBe("parallel_limit");
    expect(suggest("xyz", ["approve", "abort"])).toBeUndefined();
    expect(suggest("a", [])).toBeUndefined();
  });

  it("levenshtein is a metric on small strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), (a, b) => {
        expect(levenshtein(a, b)).toBe(levenshtein(b, a));
        expect(levenshtein(a, a)).toBe(0);
        expect(levenshtein(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });
});

describe("hostile YAML", () => {
  it("turns an alias to a missing anchor into an error instead of throwing", () => {
    expect(lines("*!").errors[0]).toMatch(/^\.github\/trellis\.yml:1:1: error YAML: .*alias/);
  });

  it("refuses an alias bomb instead of expanding it", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
    ].join("\n");
    expect(lines(bomb).errors[0]).toMatch(/error YAML: .*alias/i);
  });
});
