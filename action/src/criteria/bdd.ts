import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { glob } from "tinyglobby";
import type { Annotation, ScenarioResult } from "../../../src/core/result.js";
import {
  parseMessageStream,
  scenariosFromMessages,
  type ScenarioRun,
  type StepRef,
} from "./cucumber-messages.js";
import { parseFeature, type GherkinSyntaxError } from "./gherkin.js";
import { runCommand, tail, type CommandResult } from "./run-command.js";
import { failureAnnotation } from "./text.js";

export const DEFAULT_BDD_COMMAND = "npx cucumber-js";
export const FEATURE_PATTERNS = ["features/**/*.feature", "**/*.feature"];

export interface BddScenario extends ScenarioRun {
  /** Parsed from a .feature file but absent from the run (filtered out, or the run crashed). */
  notRun: boolean;
}

export interface BddCheck {
  featureFiles: string[];
  scenarios: BddScenario[];
  syntaxErrors: GherkinSyntaxError[];
  undefinedSteps: StepRef[];
  pendingSteps: StepRef[];
  /** Scenarios whose steps are all defined / all scenarios × 100; undefined without scenarios. */
  scenarioCoverage?: number;
  /** Whether scenarios were executed (false: a `--dry-run` for step coverage only). */
  executed: boolean;
  run?: CommandResult;
  /** Why the run produced no usable results. */
  runError?: string;
  annotations: Annotation[];
}

export async function findFeatureFiles(cwd: string): Promise<string[]> {
  const files = await glob(FEATURE_PATTERNS, {
    cwd,
    dot: false,
    ignore: ["**/node_modules/**", "**/.git/**"],
  });
  return [...new Set(files.map((f) => f.split(path.sep).join("/")))].sort();
}

/** npm passes arguments to a script only after `--`. */
export function withArgSeparator(command: string): string {
  const c = command.trim();
  if (/^npm\s+(?:run(?:-script)?\s+\S+|test|t)\b/.test(c) && !/\s--(?:\s|$)/.test(c)) return `${c} --`;
  return c;
}

function shellQuote(s: string): string {
  if (process.platform === "win32") return `"${s}"`;
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * Lists the scenarios of every `.feature` file (official Gherkin parser), runs cucumber-js with
 * its message formatter (`--dry-run` when only step coverage is needed) and maps the results
 * back to the scenarios. Never throws for project problems; those end up in the result.
 */
export async function checkBdd(
  cwd: string,
  options: { command?: string; execute: boolean; env?: Record<string, string>; timeoutMs: number },
): Promise<BddCheck> {
  const featureFiles = await findFeatureFiles(cwd);
  const syntaxErrors: GherkinSyntaxError[] = [];
  const parsed: BddScenario[] = [];
  for (const file of featureFiles) {
    const text = await readFile(path.join(cwd, file), "utf8");
    const result = parseFeature(text, file);
    syntaxErrors.push(...result.errors);
    for (const s of result.scenarios) {
      parsed.push({
        name: s.name,
        feature: s.feature,
        file,
        line: s.line,
        status: "skipped",
        allStepsDefined: false,
        notRun: true,
      });
    }
  }

  const check: BddCheck = {
    featureFiles,
    scenarios: parsed,
    syntaxErrors,
    undefinedSteps: [],
    pendingSteps: [],
    executed: options.execute,
    annotations: syntaxErrors.map((e) =>
      failureAnnotation(e.file, e.line, "Gherkin syntax error", e.message.replace(/^\(\d+:\d+\):\s*/, "")),
    ),
  };
  if (featureFiles.length === 0) return check;

  const dir = await mkdtemp(path.join(os.tmpdir(), "trellis-bdd-"));
  const messagesFile = path.join(dir, "messages.ndjson");
  try {
    const command = [
      withArgSeparator(options.command?.trim() || DEFAULT_BDD_COMMAND),
      "--format",
      shellQuote(`message:${messagesFile}`),
      ...(options.execute ? [] : ["--dry-run"]),
    ].join(" ");
    const run = await runCommand(command, { cwd, env: options.env, timeoutMs: options.timeoutMs });
    check.run = run;
    const ndjson = await readFile(messagesFile, "utf8").catch(() => "");
    const report = scenariosFromMessages(parseMessageStream(ndjson), cwd);
    check.undefinedSteps = report.undefinedSteps;
    check.pendingSteps = report.pendingSteps;

    if (run.error) check.runError = `\`${command}\` could not run: ${run.error}`;
    else if (run.timedOut)
      check.runError = `\`${command}\` timed out after ${Math.round(options.timeoutMs / 1000)} s`;
    else if (report.runError) check.runError = report.runError;
    else if (report.scenarios.length === 0 && run.exitCode !== 0) {
      check.runError = `\`${command}\` exited with code ${run.exitCode} without running scenarios:\n${tail(run.output, 15)}`;
    }

    // Merge by file:line (the scenario line, or the example row line for outlines).
    const byKey = new Map(parsed.map((s) => [`${s.file}:${s.line}`, s]));
    const extra: BddScenario[] = [];
    for (const s of report.scenarios) {
      const known = byKey.get(`${s.file}:${s.line}`);
      if (known) Object.assign(known, s, { notRun: false });
      else extra.push({ ...s, notRun: false });
    }
    check.scenarios = [...parsed, ...extra];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  if (check.scenarios.length > 0) {
    const defined = check.scenarios.filter((s) => s.allStepsDefined).length;
    check.scenarioCoverage = Math.round((defined / check.scenarios.length) * 10_000) / 100;
  }
  check.annotations.push(...scenarioAnnotations(check));
  return check;
}

function scenarioAnnotations(check: BddCheck): Annotation[] {
  const out: Annotation[] = [];
  for (const s of check.scenarios) {
    if ((s.status === "failed" || s.status === "ambiguous") && s.failedStep) {
      const what = s.status === "failed" ? "failed" : "is ambiguous";
      out.push(
        failureAnnotation(
          s.file,
          s.failedStep.line,
          `Scenario "${s.name}" ${what}`,
          `Step "${s.failedStep.text}" ${what}.${s.failedStep.message ? `\n\n${s.failedStep.message}` : ""}`,
        ),
      );
    }
  }
  for (const u of check.undefinedSteps) {
    out.push(
      failureAnnotation(
        u.file,
        u.line,
        "Undefined step",
        `Step "${u.text}" (scenario "${u.scenario}") has no step definition.${u.snippet ? `\n\nImplement it, for example:\n${u.snippet}` : ""}`,
        "warning",
      ),
    );
  }
  for (const p of check.pendingSteps) {
    out.push(
      failureAnnotation(
        p.file,
        p.line,
        "Pending step",
        `Step "${p.text}" (scenario "${p.scenario}") is pending.`,
        "warning",
      ),
    );
  }
  return out;
}

/** The scenarios as the result schema has them (without the bookkeeping fields). */
export function toScenarioResults(scenarios: readonly BddScenario[]): ScenarioResult[] {
  return scenarios.map((s) => {
    const r: ScenarioResult = {
      name: s.name,
      feature: s.feature,
      file: s.file,
      line: s.line,
      status: s.status,
    };
    if (s.failedStep) r.failedStep = s.failedStep;
    return r;
  });
}
