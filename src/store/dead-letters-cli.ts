/**
 * `trellis dead-letters`: the events and effects the worker gave up on (src/core/dead-letters.ts), and `--retry` to
 * put them back in line once the cause is fixed (a permission granted, GitHub back).
 */
import { parseArgs } from "node:util";
import { processIo, type Io } from "../io.js";
import { DB_ARGS, DB_HELP, withCliDb } from "./cli-db.js";
import { listDeadLetters, retryDeadLetters } from "./outbox.js";

const HELP = `Usage: trellis dead-letters [options]

Lists the events and effects Trellis gave up on, newest first (DATABASE_URL when set, otherwise the
embedded PGlite database in .trellis/db). A running App picks retried ones up within seconds.

Options:
${DB_HELP}
  --retry <id>          put dead letter <id> back in line (repeatable)
  --retry-all           put every dead letter back in line
  --json                print them as JSON (one array)
  -h, --help            show this help
`;

export async function deadLettersCommand(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let values: {
    "database-url"?: string;
    "data-dir"?: string;
    retry?: string[];
    "retry-all"?: boolean;
    json?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...DB_ARGS,
        retry: { type: "string", multiple: true },
        "retry-all": { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr(`trellis dead-letters: ${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  const ids = (values.retry ?? []).map(Number);
  if (ids.some((id) => !Number.isSafeInteger(id) || id <= 0)) {
    io.stderr(`trellis dead-letters: --retry takes the id of a dead letter (a positive number)\n`);
    return 2;
  }
  return withCliDb("dead-letters", values, env, io, async (db, target) => {
    if (values["retry-all"] || ids.length > 0) {
      const requeued = await retryDeadLetters(db, values["retry-all"] ? "all" : ids);
      const missing = ids.filter((id) => !requeued.includes(id));
      if (requeued.length > 0) io.stdout(`Put back in line: ${requeued.join(", ")}\n`);
      if (missing.length > 0) io.stderr(`Not a dead letter on ${target}: ${missing.join(", ")}\n`);
      if (requeued.length === 0 && missing.length === 0) io.stdout(`No dead letters on ${target}.\n`);
      return missing.length > 0 ? 1 : 0;
    }
    const letters = await listDeadLetters(db);
    if (values.json) {
      io.stdout(`${JSON.stringify(letters)}\n`);
      return 0;
    }
    if (letters.length === 0) {
      io.stdout(`No dead letters on ${target}.\n`);
      return 0;
    }
    io.stdout(`Dead letters on ${target} (newest first):\n`);
    for (const l of letters) {
      const where = l.repo ? ` ${l.repo}${l.issue ? `#${l.issue}` : ""}` : "";
      io.stdout(
        `  ${l.id}  ${l.failedAt.toISOString()}  ${l.type}${where}  after ${l.attempts} ${l.attempts === 1 ? "try" : "tries"}: ${l.lastError.replace(/\s+/g, " ").slice(0, 200)}\n`,
      );
    }
    io.stdout(`\nRun one again with: trellis dead-letters --retry <id>\n`);
    return 0;
  });
}
