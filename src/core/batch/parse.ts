// Parses a tracking issue's task list into batch tickets, and validates the dependency graph.
// Pure: no I/O. Ticket text is untrusted (anyone who can edit the issue writes it), so input is bounded
// (1,000 tickets, 256 KiB, 100 reported problems) and every pattern runs in linear time.
//
// Grammar, per task-list line (`- [ ] …`, `* [x] …`, `1. [ ] …`, any indentation; not in code blocks or
// HTML comments; inside GitHub ```[tasklist] blocks too):
//   ticket     := [lead] text            lead at the very start of the text
//   lead       := #N | owner/repo#N | https://github.com/owner/repo/issues/N | [key]
//   clause     := ("depends on" | "blocked by" | "after") [":"] ref (sep ref)*   anywhere, case-insensitive
//   ref        := #N | owner/repo#N | issue URL | [key]
//   sep        := "," ["and"] | "and" | "&"
//   estimate   := ("est" | "estimate") (":" | "=") positive-number              anywhere, default 1
// Clauses and the estimate are cut out of the title; a checked box is a done ticket.
import type { RepoRef } from "../repo.js";
import { stronglyConnectedComponents } from "../graph.js";

export interface IssueRef {
  owner?: string;
  repo?: string;
  number: number;
}

export interface Ticket {
  /** Stable key: "#123", "owner/repo#123", the bracket key ("api"), or "t<line>" for unkeyed raw text. */
  key: string;
  /** As written for output: "#123", "owner/repo#123", or the bracket key without brackets. */
  ref: string;
  /**
   * How the ticket was written: an issue reference, raw text with a `[key]`, or plain raw text. Always set by
   * parseTaskList; optional so that tickets built elsewhere (e.g. from stored state) need not carry it.
   */
  kind?: "issue" | "keyed" | "text";
  issue?: IssueRef;
  /** The text without the leading reference/key and without the dependency and estimate clauses. */
  title: string;
  /** Keys of the tickets it depends on (resolved against the list where possible). */
  deps: string[];
  /** `est: N` (default 1), a positive number. */
  estimate: number;
  /** The box is checked. */
  done: boolean;
  /** 1-based line in the markdown. */
  line: number;
}

export interface BatchError {
  line: number;
  message: string;
}

export interface BatchParse {
  tickets: Ticket[];
  errors: BatchError[];
}

export interface ParseOptions {
  /** The repository of the tracking issue: `owner/repo#N` of this repo is the same ticket as `#N`. */
  repo?: RepoRef;
  /** Defaults to 1,000. */
  maxTickets?: number;
  /** Defaults to 256 KiB (UTF-8 bytes). */
  maxBytes?: number;
}

export const MAX_TICKETS = 1_000;
export const MAX_BYTES = 256 * 1024;
/** Problems reported per parse; a hostile body could otherwise produce one per few bytes. */
export const MAX_ERRORS = 100;

const TASK_LINE = /^\s*(?:[-*+]|\d{1,9}[.)])\s+\[([ xX])\](?:\s+(.*))?$/;
const FENCE = /^\s*(`{3,}|~{3,})(.*)$/;
// Reference patterns; `g(…)` is a capture group or, for the clause pattern, a plain group.
const refPatterns = (g: (x: string) => string) => ({
  url: String.raw`https?:\/\/github\.com\/${g(String.raw`[\w.-]+`)}\/${g(String.raw`[\w.-]+`)}\/(?:issues|pull)\/${g(String.raw`\d+`)}(?![\w])(?:[#?][^\s,;)]*)?`,
  qualified: String.raw`${g(String.raw`[\w.-]+`)}\/${g(String.raw`[\w.-]+`)}#${g(String.raw`\d+`)}(?![\w])`,
  short: String.raw`#${g(String.raw`\d+`)}(?![\w])`,
  key: String.raw`\[${g(String.raw`[\w.-]+`)}\](?!\()`,
});
const CAP = refPatterns((x) => `(${x})`);
const NC = refPatterns((x) => `(?:${x})`);
const ANY_REF = `(?:${CAP.url}|${CAP.qualified}|${CAP.short}|${CAP.key})`;
const ANY_REF_NC = `(?:${NC.url}|${NC.qualified}|${NC.short}|${NC.key})`;
const SEP = String.raw`(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)`;
const DEP_CLAUSE = new RegExp(
  String.raw`(?<![\w])(?:depends\s+on|blocked\s+by|after)(?::\s*|\s+)(${ANY_REF_NC}(?:${SEP}${ANY_REF_NC})*)`,
  "gi",
);
const SPLIT_SEP = new RegExp(SEP, "i");
const EXACT_REF = new RegExp(`^${ANY_REF}$`, "i");
const LEADING_REF = new RegExp(String.raw`^${ANY_REF}(?=\s|$|[:.,;—–-])`, "i");
const ESTIMATE = /(?<![\w])est(?:imate)?\s*[:=]\s*([^\s,;)]*)/gi;
const MAY_HAVE_DEPS = /depends|blocked|after/i;
const MAY_HAVE_ESTIMATE = /est/i;
const NUMBER = /^(?:\d+(?:\.\d+)?|\.\d+)$/;

interface RawRef {
  issue?: IssueRef;
  key?: string;
}

/** Reads the capture groups of ANY_REF / LEADING_REF (same group layout). */
function refFromMatch(m: RegExpExecArray): RawRef {
  if (m[3] !== undefined) return { issue: { owner: m[1], repo: m[2], number: Number(m[3]) } };
  if (m[6] !== undefined) return { issue: { owner: m[4], repo: m[5], number: Number(m[6]) } };
  if (m[7] !== undefined) return { issue: { number: Number(m[7]) } };
  return { key: m[8] ?? "" };
}

function sameRepo(issue: IssueRef, repo: ParseOptions["repo"]): boolean {
  if (issue.owner === undefined || issue.repo === undefined) return true;
  return (
    repo !== undefined &&
    issue.owner.toLowerCase() === repo.owner.toLowerCase() &&
    issue.repo.toLowerCase() === repo.name.toLowerCase()
  );
}

function issueKey(issue: IssueRef, repo: ParseOptions["repo"]): string {
  return sameRepo(issue, repo)
    ? `#${issue.number}`
    : `${issue.owner ?? ""}/${issue.repo ?? ""}#${issue.number}`.toLowerCase();
}

function refKey(ref: RawRef, repo: ParseOptions["repo"]): string {
  return ref.issue ? issueKey(ref.issue, repo) : (ref.key ?? "");
}

/** Tidies what is left of a line once clauses are cut out: empty brackets, doubled separators, dangling dashes. */
function tidy(text: string): string {
  // Whitespace is collapsed first: `\s*` next to other repetitions backtracks quadratically on long runs.
  let out = text.replace(/\s+/g, " ");
  if (out.includes("(")) out = out.replace(/\([,;: ]*\)/g, " ");
  if (out.includes(",") || out.includes(";")) out = out.replace(/ ?([,;])(?: ?[,;])+/g, "$1");
  return trimSeparators(out.replace(/ {2,}/g, " "));
}

const SEPARATOR_CHARS = new Set([" ", ",", ";", ":", "|", "—", "–", "-"]);

/** Trims separators at both ends. A loop, not `/[…]+$/`, which backtracks quadratically on long runs. */
function trimSeparators(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && SEPARATOR_CHARS.has(text[start] ?? "")) start++;
  while (end > start && SEPARATOR_CHARS.has(text[end - 1] ?? "")) end--;
  return text.slice(start, end);
}

/** One task line's content → a ticket (none for an empty line); problems go to `errors`. */
function parseContent(
  content: string,
  line: number,
  done: boolean,
  repo: ParseOptions["repo"],
  errors: BatchError[],
): Ticket | undefined {
  let rest = content.replace(/\s+/g, " ").trim();
  let issue: IssueRef | undefined;
  let key: string;
  let ref: string;
  let kind: Ticket["kind"];

  const lead = LEADING_REF.exec(rest);
  if (lead) {
    const raw = refFromMatch(lead);
    rest = rest.slice(lead[0].length);
    if (raw.issue) {
      issue = raw.issue;
      key = issueKey(issue, repo);
      ref = key.startsWith("#") ? `#${issue.number}` : `${issue.owner}/${issue.repo}#${issue.number}`;
      kind = "issue";
    } else {
      key = raw.key ?? "";
      ref = key;
      kind = "keyed";
    }
  } else {
    key = `t${line}`;
    ref = key;
    kind = "text";
  }

  const deps = new Set<string>();
  // Cheap pre-checks: most lines have no clause, and the clause patterns are the costly part of a parse.
  if (MAY_HAVE_DEPS.test(rest))
    rest = rest.replace(DEP_CLAUSE, (_whole, list: string) => {
      // The clause pattern has already checked the list's shape: split on separators, read each piece.
      for (const piece of list.split(SPLIT_SEP)) {
        const m = EXACT_REF.exec(piece);
        if (!m) continue;
        deps.add(refKey(refFromMatch(m), repo));
      }
      return " ";
    });

  let estimate = 1;
  let estimates = 0;
  if (MAY_HAVE_ESTIMATE.test(rest))
    rest = rest.replace(ESTIMATE, (whole, value: string) => {
      estimates += 1;
      const n = Number(value);
      if (!NUMBER.test(value) || !Number.isFinite(n) || n <= 0) {
        const shown = whole.trim().length > 24 ? `${whole.trim().slice(0, 23)}…` : whole.trim();
        errors.push({
          line,
          message: `cannot read the estimate ${JSON.stringify(shown)} (expected a positive number, e.g. est: 2.5)`,
        });
      } else {
        estimate = n;
      }
      return " ";
    });
  if (estimates > 1) errors.push({ line, message: "more than one estimate (est: N) on one line" });

  const title = tidy(rest);
  if (kind === "text" && title === "") return undefined;
  const ticket: Ticket = { key, ref, kind, title, deps: [...deps], estimate, done, line };
  if (issue) ticket.issue = issue;
  return ticket;
}

/**
 * Parses the task-list lines of a Markdown body (outside fenced code blocks and HTML comments) into tickets.
 * Problems with single lines (a bad estimate) and size limits come back as `errors`; graph problems
 * (unknown references, cycles, duplicates) are `validateBatch`'s job.
 */
export function parseTaskList(markdown: string, options: ParseOptions = {}): BatchParse {
  const maxBytes = options.maxBytes ?? MAX_BYTES;
  const maxTickets = options.maxTickets ?? MAX_TICKETS;
  // A JS string never has fewer UTF-8 bytes than UTF-16 units / 1 nor more than 3 per unit: count only if needed.
  if (markdown.length * 3 > maxBytes) {
    const bytes = new TextEncoder().encode(markdown).length;
    if (bytes > maxBytes) {
      return {
        tickets: [],
        errors: [
          {
            line: 0,
            message: `the task list is too large (${Math.ceil(bytes / 1024)} KiB; the limit is ${Math.floor(maxBytes / 1024)} KiB) — split it into several tracking issues`,
          },
        ],
      };
    }
  }

  const tickets: Ticket[] = [];
  const errors: BatchError[] = [];
  const lines = markdown.split(/\r\n|\r|\n/);
  // GitHub's ```[tasklist] blocks hold tickets; any other fenced block is code.
  let fence: { char: string; length: number; tasklist: boolean } | undefined;
  let inComment = false;

  for (let i = 0; i < lines.length; i++) {
    let text = lines[i] ?? "";
    const line = i + 1;
    if (fence) {
      const close = text.includes(fence.char) ? FENCE.exec(text) : null;
      if (
        close?.[1] &&
        close[1][0] === fence.char &&
        close[1].length >= fence.length &&
        close[2]?.trim() === ""
      ) {
        fence = undefined;
        continue;
      }
      if (!fence.tasklist) continue;
    }
    // Strip HTML comments (possibly spanning lines): task lines inside them are not tickets.
    if (inComment || text.includes("<!--")) {
      let out = "";
      let pos = 0;
      while (pos < text.length) {
        if (inComment) {
          const end = text.indexOf("-->", pos);
          if (end < 0) {
            pos = text.length;
          } else {
            inComment = false;
            pos = end + 3;
          }
        } else {
          const start = text.indexOf("<!--", pos);
          if (start < 0) {
            out += text.slice(pos);
            pos = text.length;
          } else {
            out += text.slice(pos, start);
            inComment = true;
            pos = start + 4;
          }
        }
      }
      text = out;
    }
    const open = !fence && (text.includes("```") || text.includes("~~~")) ? FENCE.exec(text) : null;
    if (open?.[1]) {
      const tasklist = /^\s*\[tasklist\]\s*$/i.test(open[2] ?? "");
      fence = { char: open[1][0] ?? "`", length: open[1].length, tasklist };
      continue;
    }
    const task = TASK_LINE.exec(text);
    if (!task) continue;
    const ticket = parseContent(task[2] ?? "", line, task[1] !== " ", options.repo, errors);
    if (!ticket) continue;
    if (tickets.length >= maxTickets) {
      return {
        tickets: [],
        errors: [
          {
            line,
            message: `the task list has more than ${maxTickets.toLocaleString("en-US")} tickets — split it into several tracking issues`,
          },
        ],
      };
    }
    tickets.push(ticket);
  }

  resolveDeps(tickets);
  if (errors.length > MAX_ERRORS) {
    const more = errors.length - MAX_ERRORS;
    errors.length = MAX_ERRORS;
    errors.push({ line: 0, message: `… and ${more} more problems` });
  }
  return { tickets, errors };
}

/**
 * Without a known repository, `#12` and `owner/repo#12` cannot be proven the same issue; when the number is
 * unambiguous in the list, take the dependency to mean that ticket.
 */
function resolveDeps(tickets: Ticket[]): void {
  const keys = new Set(tickets.map((t) => t.key));
  let byNumber: Map<number, string[]> | undefined;
  for (const t of tickets) {
    let widened = false;
    for (let d = 0; d < t.deps.length; d++) {
      const dep = t.deps[d] ?? "";
      if (keys.has(dep)) continue;
      const m = /#(\d+)$/.exec(dep);
      if (!m) continue;
      if (!byNumber) {
        byNumber = new Map();
        for (const u of tickets) {
          if (!u.issue) continue;
          const list = byNumber.get(u.issue.number) ?? [];
          list.push(u.key);
          byNumber.set(u.issue.number, list);
        }
      }
      const candidates = byNumber.get(Number(m[1])) ?? [];
      // Only a short `#N` may be widened to a qualified ticket; a qualified dep must match exactly.
      if (candidates.length === 1 && dep.startsWith("#")) {
        t.deps[d] = candidates[0] ?? dep;
        widened = true;
      }
    }
    if (widened) t.deps = [...new Set(t.deps)];
  }
}

/** How a key is shown in messages: issue references as written, keys in brackets. */
export function displayKey(key: string, byKey?: Map<string, Ticket>): string {
  const t = byKey?.get(key);
  if (t) return displayTicket(t);
  return key.includes("#") ? key : `[${key}]`;
}

export function ticketKind(t: Ticket): NonNullable<Ticket["kind"]> {
  return t.kind ?? (t.issue ? "issue" : t.key === `t${t.line}` ? "text" : "keyed");
}

export function displayTicket(t: Ticket): string {
  const kind = ticketKind(t);
  if (kind === "issue") return t.ref;
  if (kind === "keyed") return `[${t.key}]`;
  const short = t.title.length > 40 ? `${t.title.slice(0, 39)}…` : t.title;
  return `"${short}" (line ${t.line})`;
}

/**
 * GitHub allows at most 100 sub-issues per parent issue (and eight levels of nesting): GitHub Docs, "Adding
 * sub-issues", https://docs.github.com/issues/tracking-your-work-with-issues/using-issues/adding-sub-issues.
 */
export const MAX_SUB_ISSUES = 100;

/** Whether a ticket gets an issue, and so becomes a sub-issue of the tracking issue: every reference, unchecked text. */
export const becomesSubIssue = (t: Ticket): boolean => ticketKind(t) === "issue" || !t.done;

/**
 * A batch makes each ticket's issue a sub-issue of its tracking issue; past GitHub's limit the links would fail
 * half-way through, after the issues were created. Refuses up front, saying how to split the list.
 */
export function subIssueLimitError(tickets: readonly Ticket[], max = MAX_SUB_ISSUES): string | undefined {
  const linked = tickets.filter(becomesSubIssue);
  if (linked.length <= max) return undefined;
  const parts = Math.ceil(linked.length / max);
  const first = linked[0]?.line ?? 0;
  const last = linked[max - 1]?.line ?? first;
  const next = linked[max]?.line ?? last;
  return (
    `GitHub allows at most ${max} sub-issues per issue, and this batch would add ${linked.length.toLocaleString("en-US")} ` +
    `(each issue reference and unchecked line becomes a sub-issue of the tracking issue). Split the task list into ` +
    `${parts} or more tracking issues of at most ${max} tickets each (e.g. keep lines ${first}–${last} here and move ` +
    `line ${next} onwards to a new one), keeping each ticket with the tickets it depends on: dependencies cannot ` +
    `cross tracking issues`
  );
}

export type BatchValidation = { ok: true } | { ok: false; errors: string[] };

/** Refuses duplicate keys, references to tickets not in the list, and cycles (naming every member). */
export function validateBatch(tickets: readonly Ticket[]): BatchValidation {
  const errors: string[] = [];
  const byKey = new Map<string, Ticket>();
  for (const t of tickets) {
    const first = byKey.get(t.key);
    if (first) {
      errors.push(
        `line ${t.line}: ${displayTicket(t)} appears more than once in the task list (first on line ${first.line})`,
      );
    } else {
      byKey.set(t.key, t);
    }
  }
  // Unknown references, and Kahn's algorithm on integer ids: the common acyclic case never needs the
  // (costlier) component search that names the cycles.
  const index = new Map<string, number>();
  let n = 0;
  for (const key of byKey.keys()) index.set(key, n++);
  const pending = new Int32Array(n);
  const dependents: number[][] = Array.from({ length: n }, () => []);
  for (const t of tickets) {
    const self = byKey.get(t.key) === t ? (index.get(t.key) ?? -1) : -1;
    for (const dep of t.deps) {
      const d = index.get(dep);
      if (d === undefined) {
        errors.push(
          `line ${t.line}: ${displayTicket(t)} depends on ${displayKey(dep)}, which is not in the task list`,
        );
      } else if (self >= 0) {
        pending[self] = (pending[self] as number) + 1;
        (dependents[d] as number[]).push(self);
      }
    }
  }
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (pending[i] === 0) queue.push(i);
  for (let head = 0; head < queue.length; head++) {
    for (const w of dependents[queue[head] as number] as number[]) {
      pending[w] = (pending[w] as number) - 1;
      if (pending[w] === 0) queue.push(w);
    }
  }
  const cycles = queue.length === n ? [] : findTicketCycles(tickets, byKey);
  for (const cycle of cycles) {
    const names = [...cycle, cycle[0] ?? ""].map((k) => displayKey(k, byKey));
    errors.push(`dependency cycle: ${names.join(" → ")} (each depends on the next)`);
  }
  return errors.length === 0 ? { ok: true } : { ok: false, errors };
}

/**
 * Every ticket that sits on a cycle appears in at least one returned cycle: graph.ts finds the strongly
 * connected components; inside each, a shortest cycle through each member not yet named (one cycle per
 * component could leave members of a tangle unnamed). Cycles follow "depends on" edges and start at the
 * member earliest in the list.
 */
export function findTicketCycles(tickets: readonly Ticket[], byKey?: Map<string, Ticket>): string[][] {
  const map = byKey ?? new Map(tickets.map((t) => [t.key, t]));
  const order = [...map.keys()];
  const position = new Map(order.map((k, i) => [k, i]));
  const edges = (k: string): readonly string[] => map.get(k)?.deps ?? [];
  const cycles: string[][] = [];
  const components = stronglyConnectedComponents(order, edges)
    .filter((c) => c.length > 1 || edges(c[0] ?? "").includes(c[0] ?? ""))
    .map((c) => c.sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0)))
    .sort((a, b) => (position.get(a[0] ?? "") ?? 0) - (position.get(b[0] ?? "") ?? 0));
  for (const members of components) {
    const inside = new Set(members);
    const named = new Set<string>();
    for (const start of members) {
      if (named.has(start)) continue;
      const cycle = shortestCycle(start, inside, edges);
      for (const k of cycle) named.add(k);
      cycles.push(cycle);
    }
  }
  return cycles;
}

/** BFS from `start` along edges inside its component back to `start`; the path, without the repeat. */
function shortestCycle(
  start: string,
  inside: ReadonlySet<string>,
  edges: (k: string) => readonly string[],
): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head] ?? start;
    for (const w of edges(v)) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0] ?? start) ?? start);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start]; // unreachable for a member of a cyclic component
}
