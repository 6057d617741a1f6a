/**
 * @actions/workflow-parser imports its JSON schemas without import attributes, which Node's ESM
 * loader rejects; vitest leaves node_modules to Node. So bundle it once with esbuild (which
 * handles JSON) and import the bundle. The API and types are the package's own.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import type * as Parser from "@actions/workflow-parser";
import type * as ActionParser from "@actions/workflow-parser/actions/index";
import { REPO_ROOT } from "./harness.js";

type Api = Pick<typeof Parser, "parseWorkflow" | "convertWorkflowTemplate" | "NoOperationTraceWriter"> &
  Pick<typeof ActionParser, "parseAction" | "convertActionTemplate">;

export async function loadWorkflowParser(): Promise<Api> {
  const outfile = join(mkdtempSync(join(tmpdir(), "trellis-wfp-")), "parser.mjs");
  await build({
    stdin: {
      contents:
        'export { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } from "@actions/workflow-parser";\n' +
        'export { parseAction, convertActionTemplate } from "@actions/workflow-parser/actions/index";\n',
      resolveDir: REPO_ROOT,
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    outfile,
    logLevel: "error",
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  return (await import(pathToFileURL(outfile).href)) as Api;
}
