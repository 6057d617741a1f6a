import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  findPackageRoot,
  MAX_DEFINITION_BYTES,
  readBuiltins,
  readRepoDefinitionFiles,
} from "../src/builtins.js";

const root = join(import.meta.dirname, "..");

describe("findPackageRoot", () => {
  it("finds the package root from this module and from a nested path", () => {
    expect(findPackageRoot()).toBe(root);
    expect(findPackageRoot(join(root, "src", "core", "config.ts"))).toBe(root);
  });

  it("works from where the bundled Action lives (action/dist/index.js)", () => {
    expect(findPackageRoot(pathToFileURL(join(root, "action", "dist", "index.js")).href)).toBe(root);
  });

  it("throws a clear error when there is no package root above", () => {
    expect(() => findPackageRoot(tmpdir())).toThrow(/cannot find the Trellis package root/);
  });
});

describe("readBuiltins", () => {
  it("reads the shipped agent profiles and workflow templates, keyed by relative path", async () => {
    const files = await readBuiltins();
    const keys = [...files.keys()];
    expect(keys).toContain("agent-profiles/dev.md");
    expect(keys.every((k) => /^(agent-profiles\/[^/]+\.md|workflow-templates\/[^/]+\.ya?ml)$/.test(k))).toBe(
      true,
    );
    expect(files.get("agent-profiles/dev.md")).toMatch(/^---\nname: dev\n/);
  });
});

describe("readRepoDefinitionFiles", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "trellis-repo-"));
    await mkdir(join(dir, ".github", "trellis", "agents"), { recursive: true });
    await mkdir(join(dir, ".github", "trellis", "workflows"), { recursive: true });
    await mkdir(join(dir, ".github", "workflows"), { recursive: true });
    await mkdir(join(dir, "src"), { recursive: true });
    await writeFile(join(dir, ".github", "trellis.yml"), "dry_run: true\n");
    await writeFile(join(dir, ".github", "trellis", "agents", "sec.md"), "---\nname: sec\n---\n");
    await writeFile(join(dir, ".github", "trellis", "workflows", "w.yml"), "name: w\n");
    await writeFile(
      join(dir, ".github", "trellis", "agents", "huge.md"),
      "x".repeat(MAX_DEFINITION_BYTES + 1),
    );
    await writeFile(join(dir, ".github", "workflows", "ci.yml"), "on: push\n");
    await writeFile(join(dir, "src", "index.ts"), "");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads the config and everything under .github/trellis, and nothing else", async () => {
    const files = await readRepoDefinitionFiles(dir);
    expect([...files.keys()]).toEqual([
      ".github/trellis.yml",
      ".github/trellis/agents/sec.md",
      ".github/trellis/workflows/w.yml",
    ]);
    expect(files.get(".github/trellis.yml")).toBe("dry_run: true\n");
  });

  it("reads a directory without Trellis files as empty", async () => {
    expect((await readRepoDefinitionFiles(join(dir, "src"))).size).toBe(0);
  });
});
