// `trellis plan <file.md>`: parse a tracking issue's task list, schedule it, print a table and Mermaid (or JSON).
import { parseRepoFullName, type RepoRef } from "../core/repo.js";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import {
  batchStates,
  parseTaskList,
  planBatch,
  renderMermaid,
  STRATEGIES,
  subIssueLimitError,
  validateBatch,
  type Plan,
  type Strategy,
  type Ticket,
} from "../core/batch/index.js";

export interface PlanIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Defaults to reading UTF-8 from disk (the CLI's dispatcher passes only stdout/stderr). */
  readFile?: (path: string) => Promise<string>;
}

const readUtf8 = (path: string): Promise<string> => readFile(path, "utf8");

const defaultIo: PlanIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  readFile: readUtf8,
};

export const PLAN_USAGE = `Usage: trellis plan <file.md> [--strategy ${STRATEGIES.join("|")}] [--parallel N] [--batch-size N] [--repo owner/name] [--json]

Schedules the task list of a tracking issue (Markdown) and prints the schedule and a Mermaid graph.
  --strategy    dependency-aware (default): critical path first; sequential: one at a time;
                parallel: waves of --batch-size tickets
  --parallel    how many tickets may run at once (default 3)
  --batch-size  tickets per wave for --strategy parallel (default and maximum: --parallel)
  --repo        the tracking issue's repository, so that owner/name#N and #N name the same ticket
  --json        print exactly one JSON object: strategy, parallel, schedule, makespan, lowerBound
Exit status: 0 planned, 1 the task list is refused (cycle, unknown reference, unreadable file), 2 bad usage.
`;

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${name} must be a whole number ≥ 1, got "${value}"`);
  }
  return Number(value);
}

interface PlanArgs {
  file: string;
  strategy: Strategy;
  parallel: number;
  batchSize?: number;
  repo?: RepoRef;
  json: boolean;
  help: boolean;
}

function readArgs(argv: string[]): PlanArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        strategy: { type: "string" },
        parallel: { type: "string" },
        "batch-size": { type: "string" },
        repo: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { file: "", strategy: "dependency-aware", parallel: 3, json: false, help: true };
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "missing the task-list file"
        : `expected one file, got ${positionals.length}`,
    );
  }
  const strategy = values.strategy ?? "dependency-aware";
  if (!(STRATEGIES as readonly string[]).includes(strategy)) {
    throw new UsageError(`unknown strategy "${strategy}" (expected ${STRATEGIES.join(", ")})`);
  }
  const parallel = positiveInt("--parallel", values.parallel, 3);
  const args: PlanArgs = {
    file: positionals[0] ?? "",
    strategy: strategy as Strategy,
    parallel,
    json: values.json,
    help: false,
  };
  if (values["batch-size"] !== undefined) {
    if (strategy !== "parallel") throw new UsageError("--batch-size applies only to --strategy parallel");
    args.batchSize = positiveInt("--batch-size", values["batch-size"], parallel);
    if (args.batchSize > parallel) {
      throw new UsageError(`--batch-size (${args.batchSize}) cannot exceed --parallel (${parallel})`);
    }
  }
  if (values.repo !== undefined) {
    const repo = parseRepoFullName(values.repo);
    if (!repo) throw new UsageError(`--repo must look like owner/name, got "${values.repo}"`);
    args.repo = repo;
  }
  return args;
}

/** Titles are untrusted: no terminal control sequences, one line, bounded width. */
function cell(text: string, width: number): string {
  const flat = Array.from(text, (c) => ((c.codePointAt(0) ?? 0) < 0x20 || c === "\u007f" ? " " : c)).join("");
  const chars = Array.from(flat.replace(/\s+/g, " ").trim());
  return chars.length > width ? `${chars.slice(0, width - 1).join("")}…` : chars.join("");
}

function table(rows: string[][], rightAligned: Set<number>): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => Array.from(r[c] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((v, c) => {
          const pad = " ".repeat((widths[c] ?? 0) - Array.from(v).length);
          return rightAligned.has(c) ? pad + v : v + pad;
        })
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function humanReport(file: string, tickets: Ticket[], plan: Plan): string {
  const byKey = new Map(tickets.map((t) => [t.key, t]));
  const rows = [["ticket", "title", "est", "start", "end", "slot"]];
  for (const s of plan.schedule) {
    const t = byKey.get(s.key);
    rows.push([
      cell(s.ticket, 30),
      cell(t?.title ?? "", 50),
      String(t?.estimate ?? ""),
      String(s.start),
      String(s.end),
      String(s.slot),
    ]);
  }
  const done = tickets.filter((t) => t.done).length;
  const ratio = plan.lowerBound > 0 ? ` (ratio ${(plan.makespan / plan.lowerBound).toFixed(2)})` : "";
  const doneNote = done > 0 ? `; ${done} done ticket${done === 1 ? "" : "s"} not scheduled` : "";
  const mermaid = renderMermaid(tickets, batchStates(tickets, { running: [], done: [] }));
  return [
    `Plan for ${cell(file, 200)}: strategy ${plan.strategy}, parallel ${plan.parallel}`,
    "",
    plan.schedule.length > 0 ? table(rows, new Set([2, 3, 4, 5])) : "(every ticket is done)",
    "",
    `makespan ${plan.makespan}, lower bound ${plan.lowerBound}${ratio}${doneNote}`,
    "",
    "```mermaid",
    mermaid.trimEnd(),
    "```",
    "",
  ].join("\n");
}

/** Runs `trellis plan`; `argv` is what follows the command name. Returns the exit status. */
export async function planCommand(argv: string[], io: PlanIo = defaultIo): Promise<number> {
  let args: PlanArgs;
  try {
    args = readArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`trellis plan: ${error.message}\n\n${PLAN_USAGE}`);
    return 2;
  }
  if (args.help) {
    io.stdout(PLAN_USAGE);
    return 0;
  }

  let markdown: string;
  try {
    markdown = await (io.readFile ?? readUtf8)(args.file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    io.stderr(`trellis plan: cannot read ${args.file}: ${reason}\n`);
    return 1;
  }

  const parsed = parseTaskList(markdown, args.repo ? { repo: args.repo } : {});
  const problems = parsed.errors.map((e) =>
    e.line > 0 ? `${args.file}:${e.line}: ${e.message}` : `${args.file}: ${e.message}`,
  );
  const validation = validateBatch(parsed.tickets);
  if (!validation.ok) problems.push(...validation.errors.map((m) => `${args.file}: ${m}`));
  if (problems.length === 0 && parsed.tickets.length === 0) {
    problems.push(`${args.file}: no task-list lines ("- [ ] …") found`);
  }
  if (problems.length > 0) {
    io.stderr(
      `trellis plan: the task list cannot be planned:\n${problems.map((p) => `  ${p}`).join("\n")}\n`,
    );
    return 1;
  }

  // The plan is still worth seeing, but the App would refuse this list as one batch: say so.
  const tooMany = subIssueLimitError(parsed.tickets);
  if (tooMany) io.stderr(`trellis plan: warning: as a batch, ${tooMany}\n`);

  const plan = planBatch(parsed.tickets, {
    strategy: args.strategy,
    parallel: args.parallel,
    ...(args.batchSize !== undefined ? { batchSize: args.batchSize } : {}),
  });
  if (args.json) {
    const out = {
      strategy: plan.strategy,
      parallel: plan.parallel,
      schedule: plan.schedule.map(({ ticket, start, end, slot }) => ({ ticket, start, end, slot })),
      makespan: plan.makespan,
      lowerBound: plan.lowerBound,
    };
    io.stdout(`${JSON.stringify(out)}\n`);
  } else {
    io.stdout(humanReport(args.file, parsed.tickets, plan));
  }
  return 0;
}
