/** action/dist is committed (GitHub runs it as is); this fails when it no longer matches the sources. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildAction } from "../../action/build.js";
import { REPO_ROOT } from "./harness.js";

describe("action/dist", () => {
  it("is up to date with action/src (run `npm run build:action` and commit action/dist)", async () => {
    const out = await buildAction(mkdtempSync(join(tmpdir(), "trellis-dist-")));
    const fresh = readFileSync(out, "utf8");
    const committed = readFileSync(join(REPO_ROOT, "action", "dist", "index.js"), "utf8");
    expect(fresh.length).toBeGreaterThan(10_000);
    // Compare without printing 1.6 MB on failure.
    expect(committed === fresh, "action/dist/index.js is stale: run `npm run build:action`").toBe(true);
  });
});
