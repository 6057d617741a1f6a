/**
 * Slash commands in issue and pull-request comments. One table describes every command; both the
 * parser and `/help` are generated from it, so they cannot drift apart.
 *
 * A command is recognised only at the start of a line (leading whitespace allowed), never inside a
 * quote (`>`), a fenced code block, an inline code span or an HTML comment: quoting someone's
 * `/approve` must not approve anything. `/trellis <command>` is accepted as a prefix form.
 */
import { BATCH_STRATEGIES, suggest, type BatchStrategy } from "./config.js";

export type SlashCommand =
  | { name: "run"; target: string }
  | { name: "batch"; strategy?: BatchStrategy; parallel?: number }
  | { name: "retry"; stage?: string }
  | { name: "approve"; stage?: string }
  | { name: "reject"; stage?: string; reason: string }
  | { name: "answer"; text: string }
  | { name: "hold"; reason?: string }
  | { name: "unhold" }
  | { name: "abort"; reason?: string }
  | { name: "status" }
  | { name: "assign"; stage: string; profile: string }
  | { name: "help"; command?: CommandName };

export type CommandName = SlashCommand["name"];

export interface CommandError {
  /** 1-based line of the comment. */
  line: number;
  /** The line as written (trimmed, capped), to quote back to the user. */
  input: string;
  message: string;
}

export interface ParseOptions {
  /** Stage ids of the run the comment is about: lets `/reject <stage> <reason>` tell a stage from a reason. */
  knownStages?: ReadonlySet<string>;
}

export interface ParsedCommands {
  commands: (SlashCommand & { line: number })[];
  errors: CommandError[];
}

export const LIMITS = { bodyChars: 64 * 1024, commands: 10, lineChars: 1000 } as const;

const PARALLEL_MAX = 50;
const NAME = /^[A-Za-z0-9][\w.-]*$/;

interface Args {
  /** The rest of the command line, trimmed. */
  text: string;
  /** Whitespace-separated words of `text`. */
  words: string[];
  /** For multi-line commands: the text continued on the following lines. */
  continuation: string;
  options: ParseOptions;
}

interface CommandSpec<N extends CommandName = CommandName> {
  name: N;
  args: string;
  summary: string;
  /** `/answer` continues on the lines below it, up to a blank line or the next command. */
  multiline?: boolean;
  /** A command, or an error message. */
  parse(args: Args): Extract<SlashCommand, { name: N }> | string;
}

const none =
  <N extends "unhold" | "status">(name: N) =>
  (a: Args): Extract<SlashCommand, { name: N }> | string =>
    a.words.length > 0 ? `/${name} takes no arguments` : ({ name } as Extract<SlashCommand, { name: N }>);

const optionalStage =
  <N extends "retry" | "approve">(name: N) =>
  (a: Args): Extract<SlashCommand, { name: N }> | string => {
    if (a.words.length > 1) return `/${name} takes at most one stage id, got "${a.text}"`;
    const [stage] = a.words;
    if (stage === undefined) return { name } as Extract<SlashCommand, { name: N }>;
    return NAME.test(stage)
      ? ({ name, stage } as Extract<SlashCommand, { name: N }>)
      : `"${stage}" is not a stage id`;
  };

/** The command table: the parser and the help text are both generated from it. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "run",
    args: "<workflow|profile>",
    summary: "Start a workflow (e.g. `feature`, `bdd`) or a single agent profile (e.g. `dev`) on this issue.",
    parse: (a) => {
      const [target, ...extra] = a.words;
      if (target === undefined) return "/run needs a workflow or profile name, e.g. `/run feature`";
      if (extra.length > 0) return `/run takes one name, got "${a.text}"`;
      if (!NAME.test(target)) return `"${target}" is not a workflow or profile name`;
      return { name: "run", target };
    },
  },
  {
    name: "batch",
    args: "[sequential|parallel|dependency-aware] [--parallel N]",
    summary: "Plan this tracking issue's task list as a batch and start it.",
    parse: (a) => {
      const cmd: { name: "batch"; strategy?: BatchStrategy; parallel?: number } = { name: "batch" };
      for (let i = 0; i < a.words.length; i++) {
        const w = a.words[i] ?? "";
        const flag = /^--parallel(?:=(.*))?$/.exec(w);
        if (flag) {
          const value = flag[1] ?? a.words[++i];
          if (value === undefined) return "--parallel needs a number, e.g. `--parallel 3`";
          const n = Number(value);
          if (!/^\d+$/.test(value) || n < 1 || n > PARALLEL_MAX) {
            return `--parallel must be a whole number from 1 to ${PARALLEL_MAX}, got "${value}"`;
          }
          cmd.parallel = n;
        } else if ((BATCH_STRATEGIES as readonly string[]).includes(w) && cmd.strategy === undefined) {
          cmd.strategy = w as BatchStrategy;
        } else {
          const hint = suggest(w, [...BATCH_STRATEGIES, "--parallel"]);
          return `unknown /batch argument "${w}"${hint ? `; did you mean "${hint}"?` : ""} (strategies: ${BATCH_STRATEGIES.join(", ")})`;
        }
      }
      return cmd;
    },
  },
  {
    name: "retry",
    args: "[stage]",
    summary: "Retry a failed stage (default: every failed stage).",
    parse: optionalStage("retry"),
  },
  {
    name: "approve",
    args: "[stage]",
    summary: "Approve a stage waiting for a human (default: the waiting stage).",
    parse: optionalStage("approve"),
  },
  {
    name: "reject",
    args: "[stage] <reason>",
    summary: "Send a stage back with feedback; the reason is given to the agent.",
    parse: (a) => {
      const [first, ...rest] = a.words;
      const isStage = first !== undefined && (a.options.knownStages?.has(first) ?? false);
      const reason = (isStage ? rest.join(" ") : a.text).trim();
      if (reason === "")
        return "/reject needs a reason, e.g. `/reject the tests do not cover the error path`";
      return isStage ? { name: "reject", stage: first, reason } : { name: "reject", reason };
    },
  },
  {
    name: "answer",
    args: "<text>",
    summary:
      "Answer the question an agent asked; the answer may continue on the following lines up to a blank line.",
    multiline: true,
    parse: (a) => {
      const text = [a.text, a.continuation].filter((s) => s !== "").join("\n");
      return text === ""
        ? "/answer needs the answer text, e.g. `/answer use PostgreSQL`"
        : { name: "answer", text };
    },
  },
  {
    name: "hold",
    args: "[reason]",
    summary: "Pause: nothing new is dispatched until `/unhold`.",
    parse: (a) => (a.text ? { name: "hold", reason: a.text } : { name: "hold" }),
  },
  { name: "unhold", args: "", summary: "Resume after `/hold`.", parse: none("unhold") },
  {
    name: "abort",
    args: "[reason]",
    summary: "Stop the run: cancel running stages and start nothing more.",
    parse: (a) => (a.text ? { name: "abort", reason: a.text } : { name: "abort" }),
  },
  { name: "status", args: "", summary: "Refresh the status comment.", parse: none("status") },
  {
    name: "assign",
    args: "<stage> <profile>",
    summary: "Use another agent profile for a stage (from its next attempt).",
    parse: (a) => {
      const [stage, profile, ...extra] = a.words;
      if (stage === undefined || profile === undefined || extra.length > 0) {
        return "/assign needs a stage and a profile, e.g. `/assign review qa`";
      }
      if (!NAME.test(stage)) return `"${stage}" is not a stage id`;
      if (!NAME.test(profile)) return `"${profile}" is not a profile name`;
      return { name: "assign", stage, profile };
    },
  },
  {
    name: "help",
    args: "[command]",
    summary: "Show this help.",
    parse: (a) => {
      const [word, ...extra] = a.words;
      if (word === undefined) return { name: "help" };
      const command = findSpec(word.replace(/^\//, ""));
      if (!command || extra.length > 0) return `/help takes one command name, got "${a.text}"`;
      return { name: "help", command: command.name };
    },
  },
];

function findSpec(name: string): CommandSpec | undefined {
  const lower = name.toLowerCase();
  return COMMANDS.find((c) => c.name === lower);
}

/** Markdown help, generated from the command table. */
export function helpText(command?: CommandName): string {
  const specs = command ? COMMANDS.filter((c) => c.name === command) : COMMANDS;
  // GitHub splits table cells on `|` even inside code spans, so escape it.
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  const rows = specs.map(
    (c) => `| ${cell(`\`/${c.name}${c.args ? ` ${c.args}` : ""}\``)} | ${cell(c.summary)} |`,
  );
  return [
    "### Trellis commands",
    "",
    "| Command | What it does |",
    "| --- | --- |",
    ...rows,
    "",
    "Write a command at the start of a line, one per line; several may share a comment. " +
      "Commands in quotes and code blocks are ignored. `/trellis <command>` works too.",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// The parser

type LineKind = "text" | "blank" | "hidden";

/**
 * Find the commands in a comment body. Never throws: problems come back as errors, one per line,
 * each with a message meant for the person who wrote the comment.
 */
export function parseCommands(body: string, options: ParseOptions = {}): ParsedCommands {
  const lines = blankHtmlComments(String(body).slice(0, LIMITS.bodyChars)).split(/\r\n|\r|\n/);
  const kinds = classify(lines);
  const commands: ParsedCommands["commands"] = [];
  const errors: CommandError[] = [];
  let overflow: { line: number; input: string; count: number } | undefined;

  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? "";
    if (kinds[i] !== "text") continue;
    const found = matchCommand(raw);
    if (!found) continue;
    const lineNo = i + 1;
    const input = raw.trim().slice(0, 200);
    // Count every command-looking line, valid or not, so a hostile comment yields a bounded answer.
    if (++seen > LIMITS.commands) {
      overflow = overflow ? { ...overflow, count: overflow.count + 1 } : { line: lineNo, input, count: 1 };
      continue;
    }
    if (found.kind === "error") {
      errors.push({ line: lineNo, input, message: found.message });
      continue;
    }
    const spec = found.spec;
    let continuation = "";
    if (spec.multiline) {
      // Following lines up to a blank line or the next command; code blocks inside are kept.
      const more: string[] = [];
      while (
        i + 1 < lines.length &&
        kinds[i + 1] !== "blank" &&
        !isCommandLine(lines[i + 1] ?? "", kinds[i + 1])
      ) {
        i++;
        const next = lines[i] ?? "";
        if (next.length <= LIMITS.lineChars) more.push(next.trimEnd());
      }
      continuation = more.join("\n").trim();
    }
    const words = found.args === "" ? [] : found.args.split(/\s+/);
    const parsed = spec.parse({ text: found.args, words, continuation, options });
    if (typeof parsed === "string") {
      const stop = /[.?!]$/.test(parsed) ? "" : ".";
      errors.push({ line: lineNo, input, message: `${parsed}${stop} See \`/help\`.` });
    } else {
      commands.push({ ...parsed, line: lineNo });
    }
  }
  if (overflow) {
    errors.push({
      line: overflow.line,
      input: overflow.input,
      message: `at most ${LIMITS.commands} commands are read per comment; ${overflow.count} more from line ${overflow.line} on were ignored`,
    });
  }
  return { commands, errors: errors.sort((a, b) => a.line - b.line) };
}

type Match = { kind: "command"; spec: CommandSpec; args: string } | { kind: "error"; message: string };

// `/word` followed by whitespace or the end of the line: `/usr/bin`, `/etc.` or `//x` are not commands.
const COMMAND = /^\s*\/([A-Za-z][\w-]*)(?=\s|$)(.*)$/;

function matchCommand(line: string): Match | undefined {
  const m = COMMAND.exec(line);
  if (!m) return undefined;
  let name = (m[1] ?? "").toLowerCase();
  let args = (m[2] ?? "").trim();
  const addressed = name === "trellis";
  if (addressed) {
    // `/trellis run dev` and `/trellis /run dev`; a bare `/trellis` asks for help.
    const inner = /^\/?([A-Za-z][\w-]*)(?:\s+(.*))?$/.exec(args);
    if (args === "") return { kind: "command", spec: findSpec("help") as CommandSpec, args: "" };
    if (!inner) return { kind: "error", message: `"/trellis ${args}" is not a command. See \`/help\`.` };
    name = (inner[1] ?? "").toLowerCase();
    args = (inner[2] ?? "").trim();
  }
  const spec = findSpec(name);
  if (spec) return { kind: "command", spec, args };
  const hint = suggest(
    name,
    COMMANDS.map((c) => c.name),
  );
  // A `/word` like no command (`/shrug`, `/s`) is prose, not a typo: it gets no answer. `/trellis word` asked us.
  if (!hint && !addressed) return undefined;
  return {
    kind: "error",
    message: `unknown command \`/${name}\`${hint ? ` (did you mean \`/${hint}\`?)` : ""}. See \`/help\` for the list.`,
  };
}

function isCommandLine(line: string, kind: LineKind | undefined): boolean {
  return kind === "text" && COMMAND.test(line);
}

/** Replace HTML comments by spaces, keeping line breaks so line numbers stay right. */
function blankHtmlComments(text: string): string {
  return text.replace(/<!--[\s\S]*?(?:-->|$)/g, (c) => c.replace(/[^\n\r]/g, " "));
}

/**
 * Mark each line as text (a command may start there), blank, or hidden: fenced code (``` and ~~~,
 * including the fences), quotes, over-long lines, and lines that begin inside an inline code span
 * opened on an earlier line of the same paragraph.
 */
function classify(lines: string[]): LineKind[] {
  const kinds: LineKind[] = [];
  let fence: { char: string; length: number } | undefined;
  let openTicks = 0; // length of the backtick run of an inline code span still open
  for (const line of lines) {
    if (fence) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
      if (close?.[1] && close[1][0] === fence.char && close[1].length >= fence.length) fence = undefined;
      kinds.push("hidden");
      continue;
    }
    const open = /^\s*(`{3,}|~{3,})/.exec(line);
    if (open?.[1]) {
      fence = { char: open[1][0] ?? "`", length: open[1].length };
      openTicks = 0;
      kinds.push("hidden");
      continue;
    }
    if (line.trim() === "") {
      openTicks = 0;
      kinds.push("blank");
      continue;
    }
    const insideCode = openTicks > 0;
    openTicks = trackInlineCode(line, openTicks);
    if (insideCode || line.length > LIMITS.lineChars || /^\s*>/.test(line)) kinds.push("hidden");
    else kinds.push("text");
  }
  return kinds;
}

/** Follow backtick runs through a line: a span opens with a run of n and closes with a run of exactly n. */
function trackInlineCode(line: string, open: number): number {
  let state = open;
  for (const run of line.match(/`+/g) ?? []) {
    if (state === 0) state = run.length;
    else if (run.length === state) state = 0;
  }
  return state;
}
