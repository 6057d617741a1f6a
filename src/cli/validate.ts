import { existsSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { findPackageRoot, readBuiltins, readRepoDefinitionFiles } from "../builtins.js";
import { formatDiagnostic, type Diagnostic } from "../core/diagnostics.js";
import { loadDefinitions } from "../core/definitions.js";
import type { Io } from "./main.js";

const HELP = `Usage: trellis validate [dir]

Checks Trellis definitions and prints each problem as file:line:col: severity key.path: message.
  without dir  the built-in agent profiles and workflow templates
  with dir     a repository: its .github/trellis.yml, .github/trellis/agents/*.md and
               .github/trellis/workflows/*.yml, merged over the built-ins
Options:
  --strict     treat warnings (unknown keys, unknown tools, …) as errors
Exit status: 0 when there are no errors (warnings allowed), 1 when there are, 2 on bad usage.
`;

export async function validateCommand(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { help: { type: "boolean", short: "h" }, strict: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    io.stderr(`trellis validate: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (parsed.positionals.length > 1) {
    io.stderr(
      `trellis validate: expected at most one directory, got ${parsed.positionals.length}\n\n${HELP}`,
    );
    return 2;
  }
  const dir = parsed.positionals[0];
  if (dir !== undefined && !(existsSync(dir) && statSync(dir).isDirectory())) {
    io.stderr(`trellis validate: ${dir} is not a directory\n`);
    return 2;
  }

  const root = findPackageRoot();
  const builtins = await readBuiltins(root);
  const repo = dir === undefined ? new Map<string, string>() : await readRepoDefinitionFiles(dir);
  const result = loadDefinitions({ builtins, repo });

  // Paths relative to the working directory, so editors and CI logs can open them.
  const where = (d: Diagnostic): Diagnostic => {
    const base = builtins.has(d.file) ? root : resolve(dir ?? ".");
    return { ...d, file: relative(process.cwd(), join(base, d.file)) || d.file };
  };
  for (const d of [...result.errors, ...result.warnings].map(where)) io.stdout(`${formatDiagnostic(d)}\n`);

  const subject = dir === undefined ? "built-in definitions" : `${dir} (over the built-ins)`;
  const counts = `${plural(result.errors.length, "error")}, ${plural(result.warnings.length, "warning")}`;
  const failed = result.errors.length > 0 || (parsed.values.strict === true && result.warnings.length > 0);
  if (failed) {
    io.stdout(`✗ ${subject}: ${counts}\n`);
    return 1;
  }
  const v = result.value;
  const found = v ? `${plural(v.profiles.size, "profile")}, ${plural(v.templates.size, "template")}` : "";
  const config =
    dir !== undefined && [...repo.keys()].some((k) => /^\.github\/trellis\.ya?ml$/.test(k))
      ? "config"
      : "default config";
  io.stdout(`✓ ${subject}: ${found}, ${config} — ${counts}\n`);
  return 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
