/** action.yml and the shipped workflow, checked with GitHub's own parser (@actions/workflow-parser). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { INPUT_NAMES } from "../../action/src/inputs.js";
import { OUTPUT_NAMES } from "../../action/src/report.js";
import { attemptIdFromRunName, runName, toDispatchInputs } from "../../src/core/dispatch.js";
import { resultArtifactName } from "../../src/core/result.js";
import { repoFiles } from "../../sandbox/src/scenario.js";
import { makeSpec, REPO_ROOT } from "./harness.js";
import { loadWorkflowParser } from "./workflow-parser.js";

let P: Awaited<ReturnType<typeof loadWorkflowParser>>;
beforeAll(async () => {
  P = await loadWorkflowParser();
});

const WORKFLOW = "workflow-templates/trellis-agent.yml";
const ACTION = "action/action.yml";
const read = (path: string): string => readFileSync(join(REPO_ROOT, path), "utf8");
const messages = (errors: { message: string }[]): string[] => errors.map((e) => e.message);

function parseWorkflowFile(name: string, content: string) {
  const result = P.parseWorkflow({ name, content }, new P.NoOperationTraceWriter());
  return { result, errors: messages(result.context.errors.getErrors()) };
}

interface WorkflowYaml {
  "run-name": string;
  on: { workflow_dispatch: { inputs: Record<string, { required: boolean; type: string }> } };
  permissions: Record<string, string> | string;
  concurrency: { group: string; "cancel-in-progress": boolean };
  jobs: Record<
    string,
    {
      permissions?: Record<string, string> | string;
      "timeout-minutes": string;
      steps: { uses?: string; id?: string; if?: string; with?: Record<string, string | boolean> }[];
    }
  >;
}

describe("workflow-templates/trellis-agent.yml", () => {
  const content = read(WORKFLOW);
  const yaml = parse(content) as WorkflowYaml;
  const job = Object.values(yaml.jobs)[0]!;

  it("has zero errors in GitHub's workflow parser and converts to a workflow_dispatch workflow", async () => {
    const { result, errors } = parseWorkflowFile(WORKFLOW, content);
    expect(errors).toEqual([]);
    const template = await P.convertWorkflowTemplate(result.context, result.value!);
    expect(template.errors ?? []).toEqual([]);
    expect(Object.keys(template.events)).toEqual(["workflow_dispatch"]);
    expect(template.jobs).toHaveLength(1);
  });

  it("the parser does catch mistakes (control)", () => {
    const broken = content
      .replace("timeout-minutes:", "timeout-minutez:")
      .replace("runs-on: ubuntu-latest", "runs-on: [");
    expect(parseWorkflowFile(WORKFLOW, broken).errors.length).toBeGreaterThan(0);
  });

  it("declares exactly the App's dispatch inputs", () => {
    const inputs = yaml.on.workflow_dispatch.inputs;
    expect(Object.keys(inputs).sort()).toEqual(Object.keys(toDispatchInputs(makeSpec())).sort());
    for (const input of Object.values(inputs))
      expect(input).toMatchObject({ required: true, type: "string" });
  });

  it("puts exactly runName()'s text in run-name, so the App can find the attempt", () => {
    const spec = makeSpec();
    const inputs = toDispatchInputs(spec) as unknown as Record<string, string>;
    const rendered = yaml["run-name"].replace(
      /\$\{\{\s*inputs\.(\w+)\s*\}\}/g,
      (_, name: string) => inputs[name] ?? "?",
    );
    expect(rendered).toBe(runName({ stage: spec.stage, issue: spec.issue, attemptId: spec.attemptId }));
    expect(attemptIdFromRunName(rendered)).toBe(spec.attemptId);
  });

  it("asks for read-only permissions, a concurrency group per attempt (GitHub never cancels one), and the stage's timeout", () => {
    expect(yaml.permissions).toEqual({
      contents: "read",
      issues: "read",
      "pull-requests": "read",
      actions: "read",
    });
    // A group shared by attempts (per issue) lets GitHub cancel all but one running and one pending run.
    expect(yaml.concurrency.group).toBe("trellis-${{ inputs.attempt_id }}");
    expect(yaml.concurrency["cancel-in-progress"]).toBe(false);
    expect(job["timeout-minutes"]).toBe("${{ fromJSON(inputs.spec).timeoutMinutes }}");
  });

  it("checks out, sets up node, runs the action with every required input, and uploads the result and proposal", () => {
    const uses = job.steps.map((s) => s.uses?.replace(/@.*$/, ""));
    expect(uses[0]).toBe("actions/checkout");
    expect(uses[1]).toBe("actions/setup-node");
    const step = job.steps.find((s) => s.uses?.endsWith("/action@v1"))!;
    const action = parse(read(ACTION)) as { inputs: Record<string, { required?: boolean }> };
    const required = Object.entries(action.inputs)
      .filter(([, v]) => v.required)
      .map(([k]) => k);
    expect(Object.keys(step.with ?? {})).toEqual(expect.arrayContaining(required));
    for (const key of Object.keys(step.with ?? {})) expect(Object.keys(action.inputs)).toContain(key);
    const upload = job.steps.at(-1)!;
    expect(upload.uses?.replace(/@.*$/, "")).toBe("actions/upload-artifact");
    expect(upload.if).toBe("always()");
    expect(upload.with?.["name"]).toBe(resultArtifactName("${{ inputs.attempt_id }}"));
    // The folder: result.json and, for a change, proposal.patch beside it.
    expect(upload.with?.["path"]).toContain(`steps.${step.id}.outputs.result_dir`);
  });
});

/** Workflows Trellis installs in a repository: the agent workflow, and the sandbox repository's own CI. */
function installedWorkflows(): { name: string; yaml: WorkflowYaml; content: string }[] {
  const ci = repoFiles()[".github/workflows/ci.yml"]!;
  return [
    { name: WORKFLOW, content: read(WORKFLOW) },
    { name: "sandbox .github/workflows/ci.yml", content: ci },
  ].map((w) => ({ ...w, yaml: parse(w.content) as WorkflowYaml }));
}

// Trellis's own Action, shipped from this repository: its release pins it (no commit of it exists to pin yet).
const OWN_ACTION = /^trellis-dev\/trellis\/action@/;

describe("installed workflows are read-only and pinned", () => {
  it.each(installedWorkflows().map((w) => [w.name, w] as const))(
    "%s: every third-party `uses:` is pinned by a full commit SHA with its version in a comment",
    (_, w) => {
      const uses = Object.values(w.yaml.jobs).flatMap((j) => j.steps.map((s) => s.uses).filter(Boolean));
      expect(uses.length).toBeGreaterThan(0);
      for (const u of uses) {
        if (OWN_ACTION.test(u!)) continue;
        expect(u, `${u} must be pinned by a 40-hex commit SHA`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
        // The version travels as a trailing comment on the same line, for people and for Dependabot.
        const line = w.content.split("\n").find((l) => l.includes(`uses: ${u!}`));
        expect(line, `${u} needs a "# vX.Y.Z" comment`).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
      }
    },
  );

  it.each(installedWorkflows().map((w) => [w.name, w] as const))(
    "%s: no permission writes, and no checkout persists its credential",
    (_, w) => {
      const scopes = [w.yaml.permissions, ...Object.values(w.yaml.jobs).map((j) => j.permissions)];
      for (const p of scopes.filter(Boolean)) {
        expect(typeof p === "string" ? p : Object.values(p!)).not.toContain("write");
        expect(p).not.toBe("write-all");
      }
      // Top-level permissions must be set: without them the token gets the repository's default, maybe write.
      expect(w.yaml.permissions).toBeDefined();
      if (w.name !== WORKFLOW) return;
      const checkouts = Object.values(w.yaml.jobs)
        .flatMap((j) => j.steps)
        .filter((s) => s.uses?.startsWith("actions/checkout@"));
      expect(checkouts.length).toBeGreaterThan(0);
      for (const c of checkouts) expect(c.with?.["persist-credentials"]).toBe(false);
    },
  );

  it("the agent workflow's setup-node saves nothing to the Actions cache", () => {
    const yaml = parse(read(WORKFLOW)) as WorkflowYaml;
    const setup = Object.values(yaml.jobs)
      .flatMap((j) => j.steps)
      .find((s) => s.uses?.startsWith("actions/setup-node@"));
    expect(setup?.with?.["package-manager-cache"]).toBe(false);
    expect(setup?.with?.["cache"]).toBeUndefined();
  });
});

describe("action/action.yml", () => {
  const content = read(ACTION);

  it("has zero errors in GitHub's action parser and runs dist/index.js on node24", () => {
    const result = P.parseAction({ name: ACTION, content }, new P.NoOperationTraceWriter());
    expect(messages(result.context.errors.getErrors())).toEqual([]);
    const action = P.convertActionTemplate(result.context, result.value!);
    expect(action.runs).toMatchObject({ using: "node24", main: "dist/index.js" });
  });

  it("declares exactly the inputs run() reads and the outputs it sets", () => {
    const result = P.parseAction({ name: ACTION, content }, new P.NoOperationTraceWriter());
    const action = P.convertActionTemplate(result.context, result.value!);
    expect(action.inputs?.map((i) => i.id).sort()).toEqual([...INPUT_NAMES].sort());
    expect(action.outputs?.map((o) => o.id).sort()).toEqual([...OUTPUT_NAMES].sort());
    const required = action.inputs
      ?.filter((i) => i.required)
      .map((i) => i.id)
      .sort();
    expect(required).toEqual(Object.keys(toDispatchInputs(makeSpec())).sort());
    expect(action.inputs?.find((i) => i.id === "github_token")?.default?.toString()).toBe(
      "${{ github.token }}",
    );
    // And run() reads no input the file does not declare.
    const source = read("action/src/inputs.ts") + read("action/src/report.ts");
    const read_ = [...source.matchAll(/\bget\("([a-z_]+)"\)/g)].map((m) => m[1]).sort();
    expect(read_).toEqual([...INPUT_NAMES].sort());
    const set = [...source.matchAll(/core\.setOutput\("([a-z_]+)"/g)].map((m) => m[1]).sort();
    expect(set).toEqual([...OUTPUT_NAMES].sort());
  });
});
