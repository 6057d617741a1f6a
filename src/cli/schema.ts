import { parseArgs } from "node:util";
import { configJsonSchema } from "../core/config.js";
import type { Io } from "../io.js";

const HELP = `Usage: trellis schema

Prints the JSON Schema of .github/trellis.yml (for editor completion), e.g.
  npx trellis schema > trellis.schema.json
`;

export async function schemaCommand(argv: string[], io: Io): Promise<number> {
  let help = false;
  try {
    help =
      parseArgs({ args: argv, options: { help: { type: "boolean", short: "h" } }, strict: true }).values
        .help ?? false;
  } catch (e) {
    io.stderr(`trellis schema: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    return 2;
  }
  if (help) {
    io.stdout(HELP);
    return 0;
  }
  io.stdout(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
