import { describe, expect, it } from "vitest";
import { readBuiltins } from "../../../src/builtins.js";
import { ticketWorkflow, workflowFromLabels } from "../../../src/core/batch/ticket-workflow.js";
import { loadDefinitions, type Definitions } from "../../../src/core/definitions.js";

const builtins = await readBuiltins();
const load = (yml: string): Definitions =>
  loadDefinitions({ builtins, repo: new Map([[".github/trellis.yml", yml]]) }).value!;
const defs = load("");

describe("a batch ticket's workflow", () => {
  it("comes from the first workflow label the repository knows", () => {
    expect(workflowFromLabels(["bug", "workflow:nope", "workflow:bugfix", "workflow:feature"], defs)).toBe(
      "bugfix",
    );
    expect(workflowFromLabels(["bug", "workflow:nope"], defs)).toBeUndefined();
  });

  it("is the ticket's own when known, else the default workflow, else a single agent of the default profile", () => {
    expect(ticketWorkflow(defs, "feature").name).toBe("feature");
    expect(ticketWorkflow(defs, "nope").name).toBe("single-agent");
    expect(ticketWorkflow(defs, undefined).name).toBe("single-agent");
    const bare: Definitions = { ...defs, templates: new Map() };
    const fallback = ticketWorkflow(bare, "feature");
    expect(fallback.stages.map((s) => s.profile)).toEqual([defs.config.default_profile]);
  });
});
