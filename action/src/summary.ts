/** The job summary (Markdown for `core.summary`), rendered from the result alone (pure). */
import type { AgentResult } from "../../src/core/result.js";

const ICON: Record<AgentResult["status"], string> = {
  succeeded: "✅",
  failed: "❌",
  needs_input: "❓",
  error: "💥",
};

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export function renderSummary(
  result: AgentResult,
  extra: { denials?: string[]; conflicts?: string[] } = {},
): string {
  const t = result.tokens;
  const rows: [string, string][] = [
    ["Outcome", `${ICON[result.status]} ${result.status}${result.reason ? ` — ${result.reason}` : ""}`],
    ["Stage / profile", `${result.stage} / ${result.profile}`],
    ["Turns", String(result.turns)],
    ["Duration", formatDuration(result.durationMs)],
    [
      "Tokens",
      `${t.input.toLocaleString("en-US")} in · ${t.output.toLocaleString("en-US")} out` +
        (t.cacheRead || t.cacheWrite ? ` · ${t.cacheRead} cache read · ${t.cacheWrite} cache write` : ""),
    ],
    ["Cost", `$${result.costUsd.toFixed(4)}`],
    [
      "Proposal",
      result.proposal
        ? `${result.proposal.files.length} file(s) against \`${result.proposal.base.slice(0, 7)}\`, for the App to commit`
        : "—",
    ],
    ["Files changed", String(result.filesChanged.length)],
  ];
  if (result.tests)
    rows.push([
      "Tests",
      `${result.tests.passed} passed, ${result.tests.failed} failed${result.tests.skipped ? `, ${result.tests.skipped} skipped` : ""}`,
    ]);
  if (result.scenarios) {
    const passed = result.scenarios.filter((s) => s.status === "passed").length;
    rows.push([
      "Scenarios",
      `${passed}/${result.scenarios.length} passed` +
        (result.scenarioCoverage !== undefined ? ` · ${result.scenarioCoverage.toFixed(0)} % defined` : ""),
    ]);
  }
  if (result.coverage)
    rows.push([
      "Coverage",
      `${result.coverage.lines.toFixed(1)} % lines` +
        (result.coverage.branches !== undefined
          ? ` · ${result.coverage.branches.toFixed(1)} % branches`
          : "") +
        (result.coverage.functions !== undefined
          ? ` · ${result.coverage.functions.toFixed(1)} % functions`
          : "") +
        ` (${result.coverage.source})`,
    ]);
  if (result.review) rows.push(["Review verdict", result.review.verdict]);
  const lines = [
    `## Trellis · ${result.stage} · attempt \`${result.attemptId}\``,
    "",
    "| | |",
    "| --- | --- |",
    ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`),
  ];
  if (result.criteria.length > 0) {
    lines.push("", "### Success criteria", "", "| criterion | result | detail |", "| --- | --- | --- |");
    for (const c of result.criteria)
      lines.push(`| ${c.criterion} | ${c.passed ? "✅" : "❌"} | ${cell(c.detail)} |`);
  }
  const failing = result.scenarios?.filter((s) => s.status !== "passed") ?? [];
  if (failing.length > 0) {
    lines.push("", "### Scenarios not passing", "");
    for (const s of failing.slice(0, 30))
      lines.push(
        `- **${s.status}** ${s.feature} › ${s.name} (\`${s.file}:${s.line}\`)${s.failedStep ? ` — ${s.failedStep.text}` : ""}`,
      );
  }
  if (result.tests && result.tests.failures.length > 0) {
    lines.push("", "### Failing tests", "");
    for (const f of result.tests.failures.slice(0, 30))
      lines.push(
        `- ${f.name}${f.file ? ` (\`${f.file}${f.line ? `:${f.line}` : ""}\`)` : ""}${f.message ? `: ${cell(f.message.slice(0, 200))}` : ""}`,
      );
  }
  if (result.question)
    lines.push("", "### Question for a human", "", ...result.question.split("\n").map((l) => `> ${l}`));
  if (extra.denials && extra.denials.length > 0)
    lines.push("", "### Tool calls denied by the profile", "", ...extra.denials.map((d) => `- \`${d}\``));
  if (extra.conflicts && extra.conflicts.length > 0)
    lines.push("", "### Merge conflicts between sub-agents", "", ...extra.conflicts.map((c) => `- ${c}`));
  if (result.filesChanged.length > 0) {
    lines.push("", "<details><summary>Files changed</summary>", "");
    lines.push(...result.filesChanged.slice(0, 200).map((f) => `- \`${f}\``), "", "</details>");
  }
  if (result.summary) lines.push("", "### Agent's summary", "", result.summary.slice(0, 5_000));
  return `${lines.join("\n")}\n`;
}
