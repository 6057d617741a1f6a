import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDiagnostic, type Diagnostic } from "../../src/core/diagnostics.js";
import type { StageDef, WorkflowTemplate } from "../../src/core/model.js";
import { parseProfiles } from "../../src/core/profiles.js";
import {
  DEFAULT_FAILURE_POLICY,
  parseTemplate,
  singleAgentTemplate,
  type ProfileLookup,
} from "../../src/core/templates.js";

const root = join(import.meta.dirname, "../..");
const templateDir = join(root, "workflow-templates");
const fixtureDir = join(root, "test/fixtures/templates");
const profileDir = join(root, "agent-profiles");

const shippedProfiles = parseProfiles(
  readdirSync(profileDir).map((f) => ({ file: f, text: readFileSync(join(profileDir, f), "utf8") })),
).value!;
const profileNames = new Set(shippedProfiles.map((p) => p.name));

const fixture = (name: string, profiles: ProfileLookup = profileNames) =>
  parseTemplate(`test/fixtures/templates/${name}`, readFileSync(join(fixtureDir, name), "utf8"), profiles);
/** [line, column, path, message] — what a user sees, minus the file. */
const brief = (ds: Diagnostic[]) =>
  ds.map((d) => [d.line, d.column, d.path.map(String).join("."), d.message] as const);
const parse = (text: string, profiles: ProfileLookup = profileNames) =>
  parseTemplate("t.yml", text, profiles);
const stageOf = (t: WorkflowTemplate | undefined, id: string): StageDef =>
  t!.stages.find((s) => s.id === id)!;

describe("shipped templates (workflow-templates/*.yml)", () => {
  // The Action's workflow file lives in the same folder but is not a template.
  const files = readdirSync(templateDir).filter((f) => /\.ya?ml$/.test(f) && f !== "trellis-agent.yml");
  const load = (f: string) =>
    parseTemplate(`workflow-templates/${f}`, readFileSync(join(templateDir, f), "utf8"), profileNames);

  it("ships exactly the documented set", () => {
    expect(files.map((f) => basename(f, ".yml")).sort()).toEqual([
      "bdd",
      "bugfix",
      "design-review",
      "feature",
      "refine",
      "single-agent",
    ]);
  });

  it.each(files)("%s validates against the shipped profiles with no errors and no warnings", (f) => {
    const r = load(f);
    expect([...r.errors, ...r.warnings].map(formatDiagnostic)).toEqual([]);
    expect(r.value?.name).toBe(basename(f, ".yml"));
    expect(r.value?.description.length).toBeGreaterThan(20);
    expect(r.value?.stages.some((s) => s.openPr) || f === "refine.yml").toBe(true);
  });

  it("single-agent: one dev stage that opens a PR", () => {
    const t = load("single-agent.yml").value!;
    expect(t.stages.map((s) => [s.id, s.profile, s.openPr])).toEqual([["dev", "dev", true]]);
  });

  it("feature: dev, then qa and review in parallel, then docs", () => {
    const t = load("feature.yml").value!;
    expect(t.stages.map((s) => [s.id, s.profile, s.needs])).toEqual([
      ["dev", "dev", []],
      ["qa", "qa", ["dev"]],
      ["review", "review", ["dev"]],
      ["docs", "docs", ["qa", "review"]],
    ]);
    expect(stageOf(t, "dev").success.tests_pass).toBe(true);
  });

  it("bdd: scenarios by bdd with one human approval, then dev until scenarios pass with coverage ≥ 80 %", () => {
    const t = load("bdd.yml").value!;
    const scenarios = t.stages[0]!;
    expect([scenarios.profile, scenarios.approvals, scenarios.needs]).toEqual(["bdd", 1, []]);
    const impl = t.stages[1]!;
    expect(impl.profile).toBe("dev");
    expect(impl.needs).toEqual([scenarios.id]);
    expect(impl.success).toMatchObject({
      bdd_scenarios_pass: true,
      coverage_threshold: 80,
      scenario_coverage: 100,
    });
    expect(impl.onFailure.retries).toBeGreaterThanOrEqual(1);
  });

  it("bugfix: qa reproduces, dev fixes with tests passing, review checks", () => {
    const t = load("bugfix.yml").value!;
    expect(t.stages.map((s) => [s.profile, s.needs.length])).toEqual([
      ["qa", 0],
      ["dev", 1],
      ["review", 1],
    ]);
    expect(t.stages[1]!.success.tests_pass).toBe(true);
    expect(t.stages[2]!.needs).toEqual([t.stages[1]!.id]);
  });

  it("design-review: a design stage iterated with review and devops until all approve, at most 3 rounds", () => {
    const t = load("design-review.yml").value!;
    expect(t.stages).toHaveLength(1);
    const design = t.stages[0]!;
    expect(design.profile).toBe("design");
    expect(design.iterate).toEqual({ reviewers: ["review", "devops"], threshold: 1, maxIterations: 3 });
    expect(design.success.file_created).toEqual(["docs/design/*.md"]);
  });

  it("refine: one refine stage", () => {
    const t = load("refine.yml").value!;
    expect(t.stages.map((s) => [s.id, s.profile])).toEqual([["refine", "refine"]]);
  });

  it("uses each profile's timeout when given the profiles as a map", () => {
    const byName = new Map(shippedProfiles.map((p) => [p.name, p]));
    const t = parseTemplate(
      "refine.yml",
      readFileSync(join(templateDir, "single-agent.yml"), "utf8"),
      byName,
    );
    expect(t.value!.stages[0]!.timeoutMinutes).toBe(byName.get("dev")!.timeoutMinutes);
  });
});

describe("parseTemplate: normalisation and defaults", () => {
  it("fills the documented defaults", () => {
    const r = parse("name: t\nstages:\n  - id: only\n    profile: dev\n");
    expect(r.errors).toEqual([]);
    expect(r.value).toEqual<WorkflowTemplate>({
      name: "t",
      description: "",
      source: "t.yml",
      stages: [
        {
          id: "only",
          profile: "dev",
          needs: [],
          timeoutMinutes: 30,
          approvals: 0,
          success: {},
          onFailure: { retries: 1, backoffSeconds: 60, then: { kind: "escalate_to_human" } },
          openPr: false,
        },
      ],
    });
  });

  it("reads a stage's detection profile, and refuses an unknown one where it is written", () => {
    const r = parse("name: t\nstages:\n  - id: a\n    profile: dev\n    detection: security-review\n");
    expect(r.errors).toEqual([]);
    expect(stageOf(r.value, "a").detection).toBe("security-review");
    expect(parse("name: t\nstages:\n  - id: a\n    profile: dev\n").value!.stages[0]).not.toHaveProperty(
      "detection",
    );
    const bad = parse("name: t\nstages:\n  - id: a\n    profile: dev\n    detection: security-reviw\n");
    expect(bad.value).toBeUndefined();
    expect(brief(bad.errors)).toEqual([
      [
        5,
        5,
        "stages.0.detection",
        expect.stringMatching(
          /^unknown detection profile "security-reviw" \(did you mean "security-review"\?\)/,
        ),
      ],
    ]);
  });

  it("takes the stage timeout from the profile when the stage has none, and the stage's own otherwise", () => {
    const profiles = new Map([
      ["dev", { timeoutMinutes: 75 }],
      ["qa", { timeoutMinutes: 20 }],
    ]);
    const r = parse(
      "name: t\nstages:\n  - id: a\n    profile: dev\n  - id: b\n    profile: qa\n    timeout: 5\n",
      profiles,
    );
    expect(r.value!.stages.map((s) => s.timeoutMinutes)).toEqual([75, 5]);
  });

  it("reads the short and the long failure forms", () => {
    const r = parse(
      [
        "name: t",
        "stages:",
        "  - { id: a, profile: dev, on_failure: abort_all }",
        "  - { id: b, profile: dev, on_failure: continue_others }",
        "  - id: c",
        "    profile: dev",
        "    on_failure: { retry: 3, backoff: 10, then: retry_with_different_agent, profile: qa }",
        "  - { id: d, profile: dev, on_failure: { retry: 0 } }",
      ].join("\n"),
    );
    expect(r.errors).toEqual([]);
    expect(r.value!.stages.map((s) => s.onFailure)).toEqual([
      { retries: 1, backoffSeconds: 60, then: { kind: "abort_all" } },
      { retries: 1, backoffSeconds: 60, then: { kind: "continue_others" } },
      { retries: 3, backoffSeconds: 10, then: { kind: "retry_with_different_agent", profile: "qa" } },
      { retries: 0, backoffSeconds: 60, then: { kind: "escalate_to_human" } },
    ]);
  });

  it("reads success criteria, a single need or glob as a list, and an empty needs as none", () => {
    const r = parse(
      [
        "name: t",
        "stages:",
        "  - id: a",
        "    profile: dev",
        "    needs:",
        "  - id: b",
        "    profile: docs",
        "    needs: a",
        "    open_pr: true",
        "    approvals: 2",
        "    description: Write docs.",
        "    success: { tests_pass: true, coverage_threshold: 85.5, bdd_scenarios_pass: false, scenario_coverage: 0, file_created: docs/*.md }",
      ].join("\n"),
    );
    expect(r.errors).toEqual([]);
    expect(r.value!.stages[0]!.needs).toEqual([]);
    expect(r.value!.stages[1]).toMatchObject({
      needs: ["a"],
      openPr: true,
      approvals: 2,
      description: "Write docs.",
      success: {
        tests_pass: true,
        coverage_threshold: 85.5,
        bdd_scenarios_pass: false,
        scenario_coverage: 0,
        file_created: ["docs/*.md"],
      },
    });
  });

  it("reads a stage's max_cost_usd, and refuses an amount that is not above zero", () => {
    const r = parse(
      "name: t\nstages:\n  - { id: a, profile: dev, max_cost_usd: 2.5 }\n  - { id: b, profile: dev }\n",
    );
    expect(r.errors).toEqual([]);
    expect(r.value!.stages.map((s) => s.maxCostUsd)).toEqual([2.5, undefined]);
    const bad = parse("name: t\nstages:\n  - { id: a, profile: dev, max_cost_usd: 0 }\n");
    expect(brief(bad.errors)).toEqual([
      [3, 28, "stages.0.max_cost_usd", "max_cost_usd must be an amount in USD, greater than 0"],
    ]);
  });

  it("reads a review loop with its defaults", () => {
    const r = parse("name: t\nstages:\n  - id: d\n    profile: design\n    iterate: { reviewers: review }\n");
    expect(r.value!.stages[0]!.iterate).toEqual({ reviewers: ["review"], threshold: 1, maxIterations: 3 });
  });

  it("gives each stage its own failure policy object", () => {
    const r = parse("name: t\nstages:\n  - { id: a, profile: dev }\n  - { id: b, profile: dev }\n");
    const [a, b] = r.value!.stages;
    expect(a!.onFailure).toEqual(DEFAULT_FAILURE_POLICY);
    expect(a!.onFailure).not.toBe(b!.onFailure);
    expect(a!.onFailure).not.toBe(DEFAULT_FAILURE_POLICY);
  });

  it("drops duplicate needs with a warning", () => {
    const r = parse(
      "name: t\nstages:\n  - { id: a, profile: dev }\n  - { id: b, profile: dev, needs: [a, a] }\n",
    );
    expect(r.value!.stages[1]!.needs).toEqual(["a"]);
    expect(brief(r.warnings)).toEqual([[4, 39, "stages.1.needs.1", '"a" is listed twice in needs']]);
  });
});

describe("parseTemplate: broken fixtures, located exactly", () => {
  it("cycle.yml names every member of the cycle in order, and the stage blocked behind it", () => {
    const r = fixture("cycle.yml");
    expect(r.value).toBeUndefined();
    expect(brief(r.errors)).toEqual([
      [
        7,
        13,
        "stages.0.needs.0",
        "cycle: a → c → b → a (each stage needs the next, so none of them can start)",
      ],
      [17, 13, "stages.3.needs.0", 'stage "d" can never run: it needs "b", and "b" is part of a cycle'],
    ]);
    expect(r.warnings).toEqual([]);
    expect(formatDiagnostic(r.errors[0]!)).toBe(
      "test/fixtures/templates/cycle.yml:7:13: error stages[0].needs[0]: cycle: a → c → b → a (each stage needs the next, so none of them can start)",
    );
  });

  it("unknown-profile.yml reports the stage profile, a reviewer and the fallback profile", () => {
    const r = fixture("unknown-profile.yml");
    const known = "known profiles: bdd, design, dev, devops, docs, qa, refine, review, security-review";
    expect(brief(r.errors)).toEqual([
      [5, 5, "stages.0.profile", `unknown profile "devv" (did you mean "dev"?); ${known}`],
      [10, 23, "stages.1.iterate.reviewers.1", `unknown reviewer profile "security"; ${known}`],
      [13, 7, "stages.1.on_failure.profile", `unknown fallback profile "senior-dev"; ${known}`],
    ]);
  });

  it("unknown-needs.yml reports the unknown need and the stage that can therefore never run", () => {
    const r = fixture("unknown-needs.yml");
    expect(brief(r.errors)).toEqual([
      [8, 18, "stages.1.needs.1", 'unknown stage "tests" in needs; stages: dev, qa, docs'],
      [
        11,
        13,
        "stages.2.needs.0",
        'stage "docs" can never run: it needs "qa", which needs the unknown stage "tests"',
      ],
    ]);
  });

  it("bad-threshold.yml reports every out-of-range number", () => {
    const r = fixture("bad-threshold.yml");
    expect(brief(r.errors)).toEqual([
      [6, 5, "stages.0.timeout", "timeout must be a whole number from 1 to 360 (minutes)"],
      [7, 5, "stages.0.approvals", "approvals must be a whole number from 0 to 10"],
      [9, 7, "stages.0.success.coverage_threshold", "coverage_threshold must be a percentage from 0 to 100"],
      [10, 7, "stages.0.success.scenario_coverage", "scenario_coverage must be a percentage from 0 to 100"],
      [12, 7, "stages.0.on_failure.retry", "retry must be a whole number from 0 to 10"],
      [17, 5, "stages.1.timeout", "timeout must be a whole number from 1 to 360 (minutes)"],
      [
        20,
        7,
        "stages.1.iterate.threshold",
        "iterate.threshold must be in (0, 1]: the share of reviewers that must approve",
      ],
    ]);
  });

  it("misc-errors.yml: bad name, fallback without profile, duplicate id, bad strategy, unknown keys", () => {
    const r = fixture("misc-errors.yml");
    expect(brief(r.errors)).toEqual([
      [1, 1, "name", "name must use only lowercase letters, digits and hyphens ([a-z0-9-]+)"],
      [
        6,
        5,
        "stages.0.on_failure.profile",
        "retry_with_different_agent needs a fallback profile: on_failure: { then: retry_with_different_agent, profile: <fallback profile> }",
      ],
      [7, 5, "stages.1.id", 'duplicate stage id "dev" (first defined on line 4)'],
      [
        9,
        5,
        "stages.1.on_failure.then",
        "on_failure must be one of abort_all, continue_others, escalate_to_human, retry_with_different_agent",
      ],
    ]);
    expect(brief(r.warnings)).toEqual([
      [12, 5, "stages.2.need", 'unknown key "need" is ignored (did you mean "needs"?)'],
      [
        14,
        7,
        "stages.2.success.tests_passes",
        'unknown key "tests_passes" is ignored (did you mean "tests_pass"?)',
      ],
    ]);
  });

  it("empty-stages.yml is refused", () => {
    expect(brief(fixture("empty-stages.yml").errors)).toEqual([
      [3, 1, "stages", "stages must list at least one stage"],
    ]);
  });
});

describe("parseTemplate: other problems", () => {
  it("reports a self-need as a one-stage cycle", () => {
    const r = parse("name: t\nstages:\n  - id: a\n    profile: dev\n    needs: [a]\n");
    expect(r.errors.map((e) => e.message)).toEqual([
      "cycle: a → a (each stage needs the next, so none of them can start)",
    ]);
  });

  it("reports every independent cycle once", () => {
    const r = parse(
      [
        "name: t",
        "stages:",
        "  - { id: a, profile: dev, needs: [b] }",
        "  - { id: b, profile: dev, needs: [a] }",
        "  - { id: c, profile: dev, needs: [d] }",
        "  - { id: d, profile: dev, needs: [c] }",
      ].join("\n"),
    );
    expect(r.errors.map((e) => [e.line, e.message.split(" (")[0]])).toEqual([
      [3, "cycle: a → b → a"],
      [5, "cycle: c → d → c"],
    ]);
  });

  it("names the whole chain to an unreachable stage's cause", () => {
    const r = parse(
      [
        "name: t",
        "stages:",
        "  - { id: a, profile: dev, needs: [ghost] }",
        "  - { id: b, profile: dev, needs: [a] }",
        "  - { id: c, profile: dev, needs: [b] }",
      ].join("\n"),
    );
    expect(r.errors.map((e) => e.message)).toContain(
      'stage "c" can never run: it needs "b" → "a", which needs the unknown stage "ghost"',
    );
  });

  it("suggests a close stage id for an unknown need", () => {
    const r = parse(
      "name: t\nstages:\n  - { id: review, profile: review }\n  - { id: b, profile: dev, needs: [reveiw] }\n",
    );
    expect(r.errors[0]!.message).toBe(
      'unknown stage "reveiw" in needs (did you mean "review"?); stages: review, b',
    );
  });

  it("warns about a fallback profile that is unused or not different", () => {
    const r = parse(
      [
        "name: t",
        "stages:",
        "  - { id: a, profile: dev, on_failure: { then: abort_all, profile: qa } }",
        "  - { id: b, profile: dev, on_failure: { then: retry_with_different_agent, profile: dev } }",
      ].join("\n"),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => [w.line, w.message])).toEqual([
      [3, "the fallback profile is only used with then: retry_with_different_agent"],
      [4, 'the fallback profile is the stage\'s own profile "dev": the retry is not with a different agent'],
    ]);
  });

  it("reports missing keys and wrong types", () => {
    const r = parse(
      "name: t\nstages:\n  - id: a\n  - profile: dev\n    open_pr: yes\n  - just-a-string\n  - { id: B!, profile: dev, iterate: { reviewers: [] } }\n",
    );
    expect(brief(r.errors)).toEqual([
      [3, 5, "stages.0.profile", "profile is required"],
      [4, 5, "stages.1.id", "id is required"],
      [5, 5, "stages.1.open_pr", "open_pr must be true or false"],
      [6, 5, "stages.2", "each stage must be a mapping with at least id and profile"],
      [7, 7, "stages.3.id", "id must start with a lowercase letter or digit and use only a-z, 0-9, _ and -"],
      [7, 40, "stages.3.iterate.reviewers", "iterate.reviewers must name at least one reviewer profile"],
    ]);
  });

  it("refuses a document that is not a mapping, and YAML syntax errors, with locations", () => {
    expect(brief(parse("- a\n- b\n").errors)).toEqual([
      [1, 1, "", "a workflow template must be a mapping with name, description and stages"],
    ]);
    const syntax = parse("name: t\nstages:\n  - id: a\n    profile: [dev\n");
    expect(syntax.errors).toHaveLength(1);
    expect(syntax.errors[0]!.line).toBeGreaterThanOrEqual(4);
    const dup = parse("name: t\nname: u\nstages: []\n");
    expect(dup.errors[0]!.line).toBe(2);
  });

  it("requires name and stages", () => {
    expect(brief(parse("description: nothing else\n").errors)).toEqual([
      [1, 1, "name", "name is required"],
      [1, 1, "stages", "stages is required"],
    ]);
  });

  it("never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = parse(s);
        expect(r.value !== undefined || r.errors.length > 0).toBe(true);
      }),
    );
  });

  it("never throws on structurally random templates, and accepts them only when they are valid", () => {
    const ids = ["a", "b", "c", "d"];
    const arbStage = fc.record(
      {
        id: fc.constantFrom(...ids),
        profile: fc.constantFrom("dev", "qa", "nobody", 3),
        needs: fc.oneof(
          fc.constantFrom(...ids, "zz"),
          fc.array(fc.constantFrom(...ids, "zz"), { maxLength: 3 }),
        ),
        timeout: fc.integer({ min: -5, max: 400 }),
        on_failure: fc.oneof(
          fc.constantFrom("abort_all", "retry_with_different_agent", "nope"),
          fc.dictionary(fc.constantFrom("retry", "then", "profile"), fc.constantFrom("qa", 2, "abort_all")),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(arbStage, { maxLength: 5 }), (stages) => {
        const r = parseTemplate("t.yml", JSON.stringify({ name: "t", stages }), profileNames);
        if (r.value) {
          const stageIds = r.value.stages.map((s) => s.id);
          expect(new Set(stageIds).size).toBe(stageIds.length);
          for (const s of r.value.stages) {
            for (const n of s.needs) expect(stageIds).toContain(n);
            expect(profileNames.has(s.profile)).toBe(true);
          }
        } else {
          expect(r.errors.length).toBeGreaterThan(0);
        }
      }),
    );
  });
});

describe("singleAgentTemplate", () => {
  it("is one stage named after the profile that opens a PR and does not require tests", () => {
    expect(singleAgentTemplate("docs", 20)).toEqual<WorkflowTemplate>({
      name: "docs",
      description: "Run the docs agent on the issue and open a pull request with its work.",
      source: "built-in",
      stages: [
        {
          id: "docs",
          profile: "docs",
          needs: [],
          timeoutMinutes: 20,
          approvals: 0,
          success: { tests_pass: false },
          onFailure: DEFAULT_FAILURE_POLICY,
          openPr: true,
        },
      ],
    });
    expect(singleAgentTemplate("dev").stages[0]!.timeoutMinutes).toBe(30);
  });
});
