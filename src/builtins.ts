/**
 * Reading definition files from disk: the built-ins shipped with the package and a checked-out
 * repository's own. The texts go to the pure loader in src/core/definitions.ts.
 */
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { glob } from "tinyglobby";

/** Larger files are skipped: definitions are small, and a checked-out repo is untrusted input. */
export const MAX_DEFINITION_BYTES = 1024 * 1024;

/**
 * The package root: the nearest directory at or above `from` that holds `agent-profiles/`. Walking
 * up (instead of a fixed `../..`) makes this work from src/ under tsx and from a bundled
 * action/dist/index.js alike.
 */
export function findPackageRoot(from: string = import.meta.url): string {
  let dir = from.startsWith("file:") ? fileURLToPath(from) : resolve(from);
  for (;;) {
    if (existsSync(join(dir, "agent-profiles"))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(
        `cannot find the Trellis package root (a directory with agent-profiles/) above ${from}`,
      );
    dir = parent;
  }
}

/** Built-in profiles and templates by package-relative path (`agent-profiles/dev.md`, …). */
export async function readBuiltins(root: string = findPackageRoot()): Promise<Map<string, string>> {
  return readAll(root, ["agent-profiles/*.md", "workflow-templates/*.yml", "workflow-templates/*.yaml"]);
}

/**
 * A repository's Trellis files by repo-relative path: `.github/trellis.yml` and everything under
 * `.github/trellis/` (the loader warns about files it does not use). A missing dir reads as empty.
 */
export async function readRepoDefinitionFiles(dir: string): Promise<Map<string, string>> {
  return readAll(resolve(dir), [".github/trellis.yml", ".github/trellis.yaml", ".github/trellis/**/*"]);
}

async function readAll(cwd: string, patterns: string[]): Promise<Map<string, string>> {
  const paths = await glob(patterns, {
    cwd,
    dot: true,
    onlyFiles: true,
    followSymbolicLinks: false,
    expandDirectories: false,
  });
  const out = new Map<string, string>();
  for (const path of paths.sort()) {
    const full = join(cwd, path);
    if ((await stat(full)).size > MAX_DEFINITION_BYTES) continue;
    out.set(path.split("\\").join("/"), await readFile(full, "utf8"));
  }
  return out;
}
