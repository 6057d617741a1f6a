/**
 * The `trellis` command line: `validate`, `schema`, `plan`, `migrate`, `dead-letters`. Each subcommand returns its
 * exit code; nothing here calls process.exit, so tests run it in-process.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { findPackageRoot } from "../builtins.js";
import { schemaCommand } from "./schema.js";
import { validateCommand } from "./validate.js";

import { processIo, type Io } from "../io.js";

/** Where output goes; tests pass their own to capture it. */
export { processIo, type Io };

type ExternalCommand = (argv: string[], io: Io) => Promise<number>;

interface Subcommand {
  summary: string;
  run(argv: string[], io: Io): Promise<number>;
}

/**
 * Commands other helpers own are imported only when used, so one that is missing or broken does
 * not take the rest of the CLI down with it.
 */
export const lazyCommand =
  (specifier: string, exportName: string): Subcommand["run"] =>
  async (argv, io) => {
    let command: ExternalCommand | undefined;
    try {
      const mod = (await import(new URL(specifier, import.meta.url).href)) as Record<string, unknown>;
      command = mod[exportName] as ExternalCommand | undefined;
    } catch (e) {
      io.stderr(`trellis: this command is not available: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    if (typeof command !== "function") {
      io.stderr(`trellis: this command is not available (${specifier} has no ${exportName})\n`);
      return 1;
    }
    return command(argv, io);
  };

export const SUBCOMMANDS: Record<string, Subcommand> = {
  validate: {
    summary: "validate [dir]            check the config, profiles and templates (default: the built-ins)",
    run: validateCommand,
  },
  plan: {
    summary: "plan <file.md> [options]  schedule a tracking issue's task list (see trellis plan --help)",
    run: lazyCommand("./plan.js", "planCommand"),
  },
  schema: {
    summary: "schema                    print the JSON Schema of .github/trellis.yml",
    run: schemaCommand,
  },
  migrate: {
    summary: "migrate                   apply database migrations (DATABASE_URL, else embedded PGlite)",
    run: lazyCommand("../store/migrate-cli.js", "migrateCommand"),
  },
  "dead-letters": {
    summary: "dead-letters [--retry id] list what Trellis gave up on, and put it back in line",
    run: lazyCommand("../store/dead-letters-cli.js", "deadLettersCommand"),
  },
};

export function usage(): string {
  return [
    "Usage: trellis <command> [options]",
    "",
    "Commands:",
    ...Object.values(SUBCOMMANDS).map((c) => `  ${c.summary}`),
    "",
    "Options:",
    "  -h, --help     show help (also: trellis <command> --help)",
    "  -v, --version  print the version",
    "",
  ].join("\n");
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    const topic = first === "help" ? rest[0] : undefined;
    if (topic !== undefined && SUBCOMMANDS[topic]) return SUBCOMMANDS[topic].run(["--help"], io);
    (first === undefined ? io.stderr : io.stdout)(usage());
    return first === undefined ? 2 : 0;
  }
  if (first === "-v" || first === "--version") {
    const pkg = JSON.parse(await readFile(join(findPackageRoot(), "package.json"), "utf8")) as {
      version?: string;
    };
    io.stdout(`${pkg.version ?? "unknown"}\n`);
    return 0;
  }
  const command = Object.hasOwn(SUBCOMMANDS, first) ? SUBCOMMANDS[first] : undefined;
  if (!command) {
    io.stderr(`trellis: unknown command "${first}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    io.stderr(`trellis ${first}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
