/**
 * The product never depends on the sandbox: src/ imports nothing from sandbox/ (the stand-in, the demo), so
 * `npm run build` and a production install carry none of it.
 */
import { readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { glob } from "tinyglobby";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const IMPORT = /(?:from|import)\s*\(?\s*["']([^"']+)["']/g;

/** Every relative import in the files matched by `pattern`, as [file, resolved target] (both root-relative). */
async function importsOf(pattern: string): Promise<[string, string][]> {
  const files = await glob(pattern, { cwd: ROOT });
  const found: [string, string][] = [];
  for (const file of files) {
    const text = await readFile(join(ROOT, file), "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1]!;
      if (spec.startsWith(".")) found.push([file, relative(ROOT, resolve(ROOT, dirname(file), spec))]);
      else if (/trellis\/sandbox|@trellis\/sandbox/.test(spec)) found.push([file, spec]);
    }
  }
  return found;
}

describe("boundaries", () => {
  it("src/ imports nothing from the sandbox", async () => {
    const imports = await importsOf("src/**/*.ts");
    expect(imports.length).toBeGreaterThan(100);
    expect(imports.filter(([, target]) => /(^|\/)sandbox(\/|$)/.test(target))).toEqual([]);
  });

  it("the Action imports nothing from the sandbox", async () => {
    const imports = await importsOf("action/src/**/*.ts");
    expect(imports.filter(([, target]) => /(^|\/)sandbox(\/|$)/.test(target))).toEqual([]);
  });
});
