/**
 * Bundles the Action (action/src/index.ts) into one ESM file, action/dist/index.js, which is committed
 * because GitHub runs actions straight from the repository. `npm run build:action [-- --outdir <dir>]`.
 */
import { mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Deterministic options: the staleness test rebuilds with these and compares bytes. Code splitting
 * keeps what is only needed after the agent (the criteria checkers) out of the start-up path.
 */
export async function buildAction(outdir = join(here, "dist")): Promise<string> {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: { index: join(here, "src", "index.ts") },
    outdir,
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    legalComments: "none",
    sourcemap: false,
    logLevel: "warning",
    // CommonJS dependencies call require(); ESM output has none, so make one.
    banner: {
      js: "import { createRequire as __trellisCreateRequire } from 'node:module'; const require = __trellisCreateRequire(import.meta.url);",
    },
  });
  return join(outdir, "index.js");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: "string" } } });
  const out = await buildAction(values.outdir ? resolve(values.outdir) : undefined);
  console.log(`built ${out}`);
}
