/**
 * Hostile: a prompt-injected agent with unrestricted Bash can run anything the runner can. The built-in code-writing
 * profiles pre-approve only the Bash commands their work needs (tests, package managers, reading the checkout);
 * full Bash stays only where a profile says so (devops). Claude Code's rule syntax: `Bash(npm test:*)` approves
 * `npm test` and what follows it, each part of a compound command checked on its own (docs: "Configure permissions").
 */
import { describe, expect, it } from "vitest";
import { claudeArgs } from "../../action/src/claude.js";
import { readBuiltins } from "../../src/builtins.js";
import { loadDefinitions } from "../../src/core/definitions.js";

const defs = loadDefinitions({ builtins: await readBuiltins(), repo: new Map() }).value!;
const profile = (name: string) => defs.profiles.get(name)!;

describe("built-in profiles' Bash", () => {
  it("dev, qa and bdd allow-list their Bash commands; devops alone keeps full Bash", () => {
    for (const name of ["dev", "qa", "bdd"]) {
      const tools = profile(name).tools!;
      expect(tools, name).not.toContain("Bash");
      expect(tools, name).toEqual(
        expect.arrayContaining(["Bash(npm test:*)", "Bash(npm ci:*)", "Bash(tail:*)"]),
      );
      expect(
        tools
          .filter((t) => t.startsWith("Bash(git "))
          .every((t) => /^Bash\(git (status|diff|log|show):\*\)$/.test(t)),
      ).toBe(true);
    }
    expect(profile("bdd").tools).toContain("Bash(npx cucumber-js:*)");
    expect(profile("devops").tools).toContain("Bash");
    for (const [name, p] of defs.profiles)
      if (p.tools?.includes("Bash")) expect(["devops"], `${name} has full Bash`).toContain(name);
  });

  it("reach Claude Code as the Bash tool plus the exact pre-approved forms, never bypassing permissions", () => {
    const args = claudeArgs({ prompt: "p", profile: profile("dev") });
    const tools = args[args.indexOf("--tools") + 1]!.split(",");
    const allowed = args[args.indexOf("--allowedTools") + 1]!.split(",");
    expect(tools).toContain("Bash");
    expect(allowed).not.toContain("Bash");
    expect(allowed).toContain("Bash(npm test:*)");
    expect(args[args.indexOf("--permission-mode") + 1]).toBe("acceptEdits");
  });
});
