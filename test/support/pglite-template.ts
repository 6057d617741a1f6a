/**
 * Vitest global setup: one migrated PGlite database dumped to a temp file, so every in-memory test
 * database loads it instead of running initdb and the migrations again (seconds each).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { pgliteTemplate } from "../../src/store/db.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A file holding a migrated PGlite data dir dump, or null. */
    pgliteTemplate: string | null;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "trellis-pglite-"));
  const file = join(dir, "template.tar");
  try {
    const blob = await pgliteTemplate();
    await writeFile(file, Buffer.from(await blob.arrayBuffer()));
    project.provide("pgliteTemplate", file);
  } catch (error) {
    // Only a speed-up: without it, each database is initialised from scratch.
    console.warn(
      `[store tests] no PGlite template: ${error instanceof Error ? error.message : String(error)}`,
    );
    project.provide("pgliteTemplate", null);
  }
  return () => rm(dir, { recursive: true, force: true });
}
