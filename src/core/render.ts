/**
 * Pure Markdown rendering of a run for GitHub: the status comment, check-run outputs and annotation batches.
 * Everything that comes from outside (issue titles, agent summaries, questions, human reasons) passes through
 * `inline`/`block` so it cannot inject hidden markers, @mentions, links or break tables.
 */
import type { Attempt, RunState, StageDef, StageState } from "./model.js";
import { describeRefusal } from "./proposal.js";
import type { AgentResult, Annotation } from "./result.js";
import { chargedUsd } from "./workflow/views.js";

// ---------------------------------------------------------------------------------------------
// Neutralising untrusted text

/** GitHub's limits on check-run output fields, and a bound for one comment. */
export const MAX_OUTPUT_CHARS = 65_535;
export const MAX_TITLE_CHARS = 255;
export const MAX_ANNOTATIONS_PER_REQUEST = 50;
/**
 * Annotations kept per check run, failures first: past a hundred marks on a diff nobody reads on, and every fifty
 * more cost a write request (a thousand failing tests would otherwise be twenty).
 */
export const MAX_ANNOTATIONS = 100;
const LEVEL_ORDER: Record<Annotation["annotation_level"], number> = { failure: 0, warning: 1, notice: 2 };

const TRUNCATED = "\n\n… (truncated)";

/** Cut `text` to at most `max` UTF-16 units without splitting a surrogate pair, marking the cut. */
export function truncate(text: string, max: number, marker = TRUNCATED): string {
  if (text.length <= max) return text;
  const room = Math.max(0, max - marker.length);
  let cut = text.slice(0, room);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return (cut + marker).slice(0, max);
}

// `@user`, `@org/team`; a preceding word character means an e-mail address, which does not notify. Chains
// like `@a@b` are one token, so that neutralising the first cannot expose the second.
const MENTION = /(?<!\w)@[A-Za-z0-9][A-Za-z0-9-]*(?:\/[A-Za-z0-9_.-]+)?(?:@[A-Za-z0-9][\w.-]*)*/g;

function splitMentions(text: string): { text: string; mention: boolean }[] {
  const parts: { text: string; mention: boolean }[] = [];
  let at = 0;
  for (const m of text.matchAll(MENTION)) {
    if (m.index > at) parts.push({ text: text.slice(at, m.index), mention: false });
    parts.push({ text: m[0], mention: true });
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push({ text: text.slice(at), mention: false });
  return parts;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * One line of literal text, safe in a table cell or a sentence: no newlines, no HTML (so no hidden
 * `<!-- -->` markers), Markdown punctuation escaped (no links, emphasis or pipes), mentions shown as code.
 */
export function inline(text: string, max = 200): string {
  const flat = truncate(text.replace(/[\r\n\t\u2028\u2029]+/g, " ").trim(), max, "…");
  return splitMentions(flat)
    .map((p) => (p.mention ? `\`${p.text}\`` : escapeHtml(p.text).replace(/[\\`*_[\]|~#]/g, "\\$&")))
    .join("");
}

/**
 * Multi-line text from an agent or a human, kept as Markdown but quoted: HTML is escaped (no markers, no
 * `<details>` tricks), every line is a quote line so slash commands inside it are never read as commands, and
 * mentions get a word joiner after the `@` (invisible, but no longer a mention). Backticks cannot be used
 * here: a stray backtick in the text would pair with ours and leave the mention live.
 */
export function block(text: string, max = 20_000): string {
  const body = truncate(text.replace(/\r\n?/g, "\n").trim(), max);
  return body
    .split("\n")
    .map((line) =>
      splitMentions(line)
        .map((p) => (p.mention ? `@\u2060${p.text.slice(1)}` : escapeHtml(p.text)))
        .join(""),
    )
    .map((line) => (line ? `> ${line}` : ">"))
    .join("\n");
}

/**
 * A code span for identifiers (stage ids, profile names, logins, commands): backticks, line breaks, pipes and
 * angle brackets are dropped, so it cannot close early, break a table, span lines or carry a hidden marker.
 */
export function codeSpan(s: string, max = 100): string {
  // `<` and `>` go too: a raw `<!-- trellis:… -->` in a body would fool the marker search that finds comments.
  const clean = s.replace(/[`\r\n|\u2028\u2029]/g, " ").replace(/[<>]/g, "");
  return `\`${truncate(clean.trim(), max, "…") || " "}\``;
}
const code = codeSpan;

/** An identifier to place inside a code span we write ourselves (e.g. a command with a `<reason>` slot). */
export function ident(s: string): string {
  return s.replace(/[`\r\n|<>\s\u2028\u2029]/g, "").slice(0, 100);
}

/** Only http(s) URLs become links; anything else is dropped. */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url || !/^https?:\/\/[^\s<>()"'`]+$/.test(url)) return undefined;
  return url;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export const formatUsd = (usd: number): string => `$${usd.toFixed(2)}`;

// ---------------------------------------------------------------------------------------------
// Status comment

const RUN_LABEL: Record<RunState["status"], string> = {
  active: "🔄 In progress",
  held: "⏸️ On hold",
  waiting: "✋ Waiting for a human",
  succeeded: "✅ Succeeded",
  failed: "❌ Failed",
  aborted: "🛑 Aborted",
};

const WAIT_LABEL: Record<NonNullable<StageState["waitingFor"]>, [string, string]> = {
  approval: ["👀", "waiting for approval"],
  answer: ["❓", "waiting for an answer"],
  retry_backoff: ["🔁", "retrying soon"],
  human: ["✋", "waiting for a human"],
  budget: ["💸", "over budget"],
  merge: ["🔀", "waiting for merge"],
  commit_approval: ["✋", "waiting for approval to commit"],
};

const STAGE_LABEL: Record<StageState["status"], [string, string]> = {
  pending: ["⚪", "pending"],
  queued: ["🕒", "queued"],
  running: ["🔄", "running"],
  waiting: ["⏸️", "waiting"],
  succeeded: ["✅", "succeeded"],
  failed: ["❌", "failed"],
  skipped: ["⏭️", "skipped"],
  aborted: ["🛑", "aborted"],
};

export function stageLabel(stage: StageState): { emoji: string; text: string } {
  const [emoji, text] =
    stage.status === "waiting" && stage.waitingFor ? WAIT_LABEL[stage.waitingFor] : STAGE_LABEL[stage.status];
  return { emoji, text };
}

const stageCost = (stage: StageState): number => stage.attempts.reduce((sum, a) => sum + chargedUsd(a), 0);

function stageDuration(stage: StageState, now: number): number | undefined {
  const first = stage.attempts[0];
  if (!first) return undefined;
  const start = first.startedAt ?? first.dispatchedAt;
  const open = stage.attempts.some((a) => a.finishedAt === undefined);
  const end = open ? now : Math.max(...stage.attempts.map((a) => a.finishedAt ?? start));
  return Math.max(0, end - start);
}

export interface StatusCommentOptions {
  marker: string;
  links?: { runUrl?(attempt: Attempt): string | undefined };
  /** Trusted Markdown sections appended before the next steps (e.g. a batch's Mermaid DAG). */
  extra?: string[];
}

/** The one status comment per issue, re-rendered from the state and edited in place. */
export function renderStatusComment(run: RunState, opts: StatusCommentOptions): string {
  const order = run.workflow.stages
    .map((d) => run.stages[d.id])
    .filter((s): s is StageState => s !== undefined);
  const lines: string[] = [opts.marker, ""];
  lines.push(`### ${RUN_LABEL[run.status]} · Trellis ${code(run.workflow.name)} on #${run.issue}`);
  lines.push("", `**${inline(run.issueTitle, 200) || "(untitled)"}**`);
  if (run.reason) lines.push("", `_${inline(run.reason, 500)}_`);
  lines.push(
    "",
    "| | Stage | Agent | State | Attempts | Duration | Cost | Links |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const stage of order) {
    const { emoji, text } = stageLabel(stage);
    const def = run.workflow.stages.find((d) => d.id === stage.id);
    let state = text;
    if (stage.waitingFor === "approval" && stage.status === "waiting" && def)
      state += ` (${stage.approvals.length}/${Math.max(def.approvals, 1)})`;
    // A reason explains a stop; while a retry runs the check-run link tells the story.
    if (stage.reason && ["waiting", "failed", "skipped", "aborted"].includes(stage.status))
      state += `: ${inline(stage.reason, 120)}`;
    const producerAttempts = stage.attempts.filter(
      (a) => a.reviewer === undefined && a.detects === undefined,
    ).length;
    // Security reviews (detection) count as reviews here.
    const reviews = stage.attempts.length - producerAttempts;
    const attempts = `${producerAttempts}${reviews > 0 ? ` + ${reviews} review${reviews === 1 ? "" : "s"}` : ""}`;
    const duration = stageDuration(stage, run.updatedAt);
    const cost = stageCost(stage);
    const links: string[] = [];
    const last = stage.attempts.at(-1);
    const url = last ? safeUrl(last.runUrl ?? opts.links?.runUrl?.(last)) : undefined;
    if (url) links.push(`[run](${url})`);
    if (stage.prNumber !== undefined) links.push(`#${stage.prNumber}`);
    lines.push(
      `| ${emoji} | ${code(stage.id)} | ${code(stage.profile)} | ${state} | ${attempts} | ${
        duration === undefined ? "—" : formatDuration(duration)
      } | ${cost > 0 ? formatUsd(cost) : "—"} | ${links.join(" · ") || "—"} |`,
    );
  }
  const pct = run.costCapUsd > 0 ? ` (${Math.round((run.costUsd / run.costCapUsd) * 100)}%)` : "";
  lines.push("", `**Cost:** ${formatUsd(run.costUsd)} of the ${formatUsd(run.costCapUsd)} cap${pct}`);
  for (const stage of order) {
    if (stage.status === "waiting" && stage.waitingFor === "answer" && stage.question)
      lines.push("", `#### ❓ The agent on ${code(stage.id)} asks`, "", block(stage.question, 8000));
    if (stage.status === "waiting" && stage.waitingFor === "commit_approval" && run.outsiderText)
      lines.push(
        "",
        `#### ✋ The change proposed on ${code(stage.id)} waits for a human before the App commits it`,
        "",
        `Why: ${inline(run.outsiderText, 500)}.`,
      );
  }
  for (const section of opts.extra ?? []) lines.push("", section);
  const next = nextSteps(run, order);
  if (next.length > 0) lines.push("", "#### What you can do next", "", ...next.map((n) => `- ${n}`));
  return truncate(lines.join("\n"), MAX_OUTPUT_CHARS);
}

function nextSteps(run: RunState, order: StageState[]): string[] {
  const steps: string[] = [];
  switch (run.status) {
    case "succeeded":
      return [];
    case "aborted":
      return ["Start a new run with `/run <workflow|profile>`."];
    case "failed": {
      const failed = order.find((s) => s.status === "failed");
      if (failed) steps.push(`${code(`/retry ${failed.id}`)} to run the failed stage again`);
      return steps;
    }
    case "held":
      return ["`/unhold` to let new stages start", "`/abort <reason>` to stop the run"];
    default:
      break;
  }
  for (const s of order) {
    if (s.status !== "waiting") continue;
    switch (s.waitingFor) {
      case "approval":
        steps.push(
          `${code(`/approve ${s.id}`)} to accept the work, or \`/reject ${ident(s.id)} <reason>\` to send it back`,
        );
        break;
      case "answer":
        steps.push("`/answer <text>` to answer the agent's question");
        break;
      case "human":
        if (s.reason)
          steps.push(
            `${code(`/retry ${s.id}`)} to try again (\`/assign ${ident(s.id)} <profile>\` first to change the agent)`,
          );
        else steps.push(`${code(`/approve ${s.id}`)} to let the ${code(s.profile)} agent start`);
        break;
      case "budget":
        steps.push(`Raise the budget in \`.github/trellis.yml\`, then ${code(`/retry ${s.id}`)}`);
        break;
      case "merge":
        steps.push(
          s.prNumber !== undefined
            ? `Review and merge #${s.prNumber} (closing it unmerged fails ${code(s.id)})`
            : `Wait for the pull request of ${code(s.id)} to be opened`,
        );
        break;
      case "retry_backoff":
        steps.push(`${code(`/retry ${s.id}`)} to retry now instead of waiting`);
        break;
      case "commit_approval":
        steps.push(
          `${code(`/approve ${s.id}`)} to let the App commit the agent's proposed change, or \`/reject ${ident(s.id)} <reason>\` to refuse it`,
        );
        break;
      default:
        break;
    }
  }
  steps.push("`/hold` to pause new dispatches", "`/abort <reason>` to stop the run");
  return steps;
}

// ---------------------------------------------------------------------------------------------
// Check runs

export interface CheckRunOutput {
  title: string;
  summary: string;
  text?: string;
}

const SCENARIO_EMOJI: Record<string, string> = {
  passed: "✅",
  failed: "❌",
  undefined: "❔",
  pending: "⏳",
  skipped: "⏭️",
  ambiguous: "⚠️",
};

const RESULT_LABEL: Record<AgentResult["status"], { emoji: string; text: string }> = {
  succeeded: { emoji: "✅", text: "succeeded" },
  failed: { emoji: "❌", text: "failed" },
  error: { emoji: "💥", text: "errored" },
  needs_input: { emoji: "❓", text: "needs input" },
};

/** An attempt's own outcome when it has one (the stage may already have moved on), else the stage's state. */
function attemptLabel(stage: StageState, attempt: Attempt | undefined): { emoji: string; text: string } {
  if (attempt?.result) return RESULT_LABEL[attempt.result.status];
  if (attempt?.finishedAt !== undefined) return { emoji: "⚠️", text: "ended without a result" };
  return stageLabel(stage);
}

/** Output of a stage's check run for one attempt: criteria, tests, scenarios, coverage, cost. */
export function renderCheckRunSummary(
  stage: StageState,
  attempt?: Attempt,
  opts: { def?: StageDef } = {},
): CheckRunOutput {
  const r = attempt?.result;
  const { emoji, text } = attemptLabel(stage, attempt);
  const facts: string[] = [];
  if (r?.tests) facts.push(`${r.tests.passed} passed, ${r.tests.failed} failed`);
  if (r?.scenarios)
    facts.push(`${r.scenarios.filter((s) => s.status === "passed").length}/${r.scenarios.length} scenarios`);
  if (r?.coverage) facts.push(`coverage ${r.coverage.lines.toFixed(1)}%`);
  const title = truncate(
    `${emoji} ${stage.id}: ${text}${facts.length ? ` · ${facts.join(" · ")}` : ""}`,
    120,
    "…",
  );

  const out: string[] = [];
  const head = [`Stage ${code(stage.id)}`];
  if (attempt)
    head.push(
      `attempt ${attempt.number} (${code(attempt.profile)}${attempt.reviewer !== undefined ? ", reviewer" : attempt.detects !== undefined ? ", security review" : ""})`,
    );
  head.push(text);
  out.push(`**${head.join(" · ")}**`);
  const reason = r?.reason ?? stage.reason;
  if (reason && r?.status !== "succeeded") out.push("", `**Reason:** ${inline(reason, 1000)}`);
  if (attempt?.refusal)
    out.push(
      "",
      `**The App refused the proposed change:** ${inline(describeRefusal(attempt.refusal), 1000)}`,
    );
  if (attempt?.commit)
    out.push(
      "",
      `**Committed** ${code(attempt.commit.headSha.slice(0, 12))} on ${code(attempt.commit.branch)}.`,
    );
  else if (stage.status === "waiting" && stage.waitingFor === "commit_approval" && attempt?.result?.proposal)
    out.push(
      "",
      `**Waiting for approval before commit:** text by people outside the repository's collaborators reached the agent. ` +
        `\`/approve ${ident(stage.id)}\` on the issue lets the App commit the proposed change, \`/reject ${ident(stage.id)} <reason>\` refuses it.`,
    );
  if (r?.criteria.length) {
    out.push("", "| Criterion | Result | Detail |", "|---|---|---|");
    for (const c of r.criteria)
      out.push(`| ${code(c.criterion)} | ${c.passed ? "✅" : "❌"} | ${inline(c.detail, 300)} |`);
  }
  if (r?.tests)
    out.push("", `**Tests:** ${r.tests.passed} passed, ${r.tests.failed} failed, ${r.tests.skipped} skipped`);
  if (r?.coverage) {
    const threshold = opts.def?.success.coverage_threshold;
    const verdict = threshold === undefined ? "" : r.coverage.lines >= threshold ? " ✅" : " ❌";
    out.push(
      "",
      `**Coverage:** ${r.coverage.lines.toFixed(1)}% of lines${threshold === undefined ? "" : ` (threshold ${threshold}%)`}${verdict}`,
    );
  }
  if (r?.scenarios) {
    const passed = r.scenarios.filter((s) => s.status === "passed").length;
    const cov =
      r.scenarioCoverage === undefined
        ? ""
        : `; ${r.scenarioCoverage.toFixed(0)}% of scenarios have all steps defined`;
    out.push("", `**BDD scenarios:** ${passed}/${r.scenarios.length} passed${cov}`);
  }
  if (r?.review)
    out.push("", `**Review:** ${r.review.verdict === "approve" ? "approved" : "changes requested"}`);
  if (r && attempt) {
    const tokens = r.tokens.input + r.tokens.output + r.tokens.cacheRead + r.tokens.cacheWrite;
    const charged = chargedUsd(attempt);
    // A claim above the attempt's grant is charged only the grant (workflow/views.ts `chargeFor`).
    const capped =
      r.costUsd > charged ? ` (the agent reported ${formatUsd(r.costUsd)}, more than it was granted)` : "";
    out.push(
      "",
      `**Cost:** ${formatUsd(charged)}${capped} · ${tokens.toLocaleString("en-US")} tokens (${r.tokens.input.toLocaleString("en-US")} in, ${r.tokens.output.toLocaleString("en-US")} out) · ${r.turns} turns · ${formatDuration(r.durationMs)}`,
    );
  }

  const details: string[] = [];
  if (r?.summary) details.push("### Agent summary", "", block(r.summary, 30_000));
  if (r?.review?.comments) details.push("", "### Review comments", "", block(r.review.comments, 10_000));
  if (r?.tests?.failures.length) {
    details.push("", "### Failing tests", "", "| Test | Where | Message |", "|---|---|---|");
    for (const f of r.tests.failures.slice(0, 200)) {
      const where = f.file ? code(`${f.file}${f.line !== undefined ? `:${f.line}` : ""}`) : "—";
      details.push(`| ${inline(f.name, 200)} | ${where} | ${inline(f.message ?? "", 300) || "—"} |`);
    }
  }
  if (r?.scenarios?.length) {
    details.push(
      "",
      "### Scenarios",
      "",
      "| | Feature | Scenario | Where | Failed step |",
      "|---|---|---|---|---|",
    );
    for (const s of r.scenarios.slice(0, 500)) {
      const failed = s.failedStep
        ? `${inline(s.failedStep.text, 150)}${s.failedStep.message ? `: ${inline(s.failedStep.message, 200)}` : ""}`
        : "—";
      details.push(
        `| ${SCENARIO_EMOJI[s.status] ?? s.status} | ${inline(s.feature, 100)} | ${inline(s.name, 150)} | ${code(`${s.file}:${s.line}`)} | ${failed} |`,
      );
    }
  }
  return {
    title: truncate(title, MAX_TITLE_CHARS, "…"),
    summary: truncate(out.join("\n"), MAX_OUTPUT_CHARS),
    ...(details.length > 0 ? { text: truncate(details.join("\n"), MAX_OUTPUT_CHARS) } : {}),
  };
}

/**
 * Annotations for a result's check run: the agent's own, failing tests and failing scenarios at file:line,
 * deduplicated, at most MAX_ANNOTATIONS (failures first), in batches of at most 50 (GitHub's limit per request).
 */
export function annotationsFor(result: AgentResult): Annotation[][] {
  const all: Annotation[] = [...result.annotations];
  for (const f of result.tests?.failures ?? []) {
    if (!f.file || f.line === undefined || f.line < 1) continue;
    all.push({
      path: f.file,
      start_line: f.line,
      end_line: f.line,
      annotation_level: "failure",
      message: f.message ?? `Test failed: ${f.name}`,
      title: f.name,
    });
  }
  for (const s of result.scenarios ?? []) {
    if (s.status === "passed" || s.status === "skipped") continue;
    const line = s.failedStep?.line ?? s.line;
    all.push({
      path: s.file,
      start_line: line,
      end_line: line,
      annotation_level: s.status === "failed" || s.status === "ambiguous" ? "failure" : "warning",
      message: s.failedStep
        ? `${s.failedStep.text}${s.failedStep.message ? `\n${s.failedStep.message}` : ""}`
        : `Scenario is ${s.status}`,
      title: `Scenario: ${s.name}`,
    });
  }
  const seen = new Set<string>();
  const unique = all
    .filter((a) => {
      const key = `${a.path}:${a.start_line}:${a.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((a) => ({
      ...a,
      path: a.path.replace(/^\.\//, ""),
      message: truncate(a.message, 60_000),
      ...(a.title !== undefined ? { title: truncate(a.title, MAX_TITLE_CHARS, "…") } : {}),
    }))
    .sort((a, b) => LEVEL_ORDER[a.annotation_level] - LEVEL_ORDER[b.annotation_level])
    .slice(0, MAX_ANNOTATIONS);
  const batches: Annotation[][] = [];
  for (let i = 0; i < unique.length; i += MAX_ANNOTATIONS_PER_REQUEST)
    batches.push(unique.slice(i, i + MAX_ANNOTATIONS_PER_REQUEST));
  return batches;
}
