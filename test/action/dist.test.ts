/** action/dist is committed (GitHub runs it as is); this fails when it no longer matches the sources. */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { buildAction } from "../../action/build.js";
import { REPO_ROOT } from "./harness.js";

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out.set(relative(dir, path), readFileSync(path, "utf8"));
    }
  return out;
}

describe("action/dist", () => {
  it("is up to date with action/src (run `npm run build:action` and commit action/dist)", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "trellis-dist-"));
    await buildAction(outdir);
    const fresh = files(outdir);
    const committed = files(join(REPO_ROOT, "action", "dist"));
    expect(fresh.get("index.js")?.length).toBeGreaterThan(10_000);
    expect([...committed.keys()].sort(), "action/dist has other files than a fresh build").toEqual(
      [...fresh.keys()].sort(),
    );
    // Compare without printing megabytes on failure.
    const stale = [...fresh].filter(([name, text]) => committed.get(name) !== text).map(([name]) => name);
    expect(stale, "stale files in action/dist: run `npm run build:action`").toEqual([]);
  });
});
