import type {
  Envelope,
  Hook,
  Pickle,
  TestCase,
  TestCaseStarted,
  TestStepResult,
  TestStepResultStatus,
} from "@cucumber/messages";
import type { ScenarioResult } from "../../../src/core/result.js";
import { describePickle, indexDocument, type DocumentIndex } from "./gherkin.js";
import { stripAnsi, toRepoPath, truncate } from "./text.js";

export interface StepRef {
  file: string;
  line: number;
  text: string;
  scenario: string;
  /** For undefined steps: the snippet cucumber suggests. */
  snippet?: string;
}

/** A scenario's outcome plus what scenario coverage and annotations need. */
export interface ScenarioRun extends ScenarioResult {
  /** Every step matched a step definition (none undefined). */
  allStepsDefined: boolean;
}

export interface MessagesReport {
  scenarios: ScenarioRun[];
  undefinedSteps: StepRef[];
  pendingSteps: StepRef[];
  /** Set when the run itself failed (support code failed to load, a BeforeAll hook threw…). */
  runError?: string;
  /** Whether a testRunFinished message was seen (a truncated stream means a crashed run). */
  finished: boolean;
}

const MAX_MESSAGE = 2000;

/** Parses cucumber's NDJSON message stream; unreadable lines are skipped. */
export function parseMessageStream(ndjson: string): Envelope[] {
  const out: Envelope[] = [];
  for (const line of ndjson.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    try {
      const parsed: unknown = JSON.parse(t);
      if (parsed && typeof parsed === "object") out.push(parsed as Envelope);
    } catch {
      // A run killed mid-write leaves a partial last line.
    }
  }
  return out;
}

// Cucumber's own order, best to worst.
const ORDER: TestStepResultStatus[] = [
  "UNKNOWN",
  "PASSED",
  "SKIPPED",
  "PENDING",
  "UNDEFINED",
  "AMBIGUOUS",
  "FAILED",
] as TestStepResultStatus[];
const rank = (s: TestStepResultStatus): number => ORDER.indexOf(s);

function toStatus(s: TestStepResultStatus): ScenarioResult["status"] {
  switch (s) {
    case "PASSED":
      return "passed";
    case "FAILED":
      return "failed";
    case "UNDEFINED":
      return "undefined";
    case "PENDING":
      return "pending";
    case "AMBIGUOUS":
      return "ambiguous";
    default:
      return "skipped";
  }
}

function resultMessage(r: TestStepResult | undefined): string | undefined {
  const m = r?.message ?? r?.exception?.message;
  return m ? truncate(stripAnsi(m).trim(), MAX_MESSAGE) : undefined;
}

/**
 * Maps cucumber's message stream (`--format message`) to one result per scenario: pickles give
 * the scenario and its steps, testCase the step definitions matched (undefined steps have none),
 * and the final attempt's testStepFinished messages the outcome and the failing step.
 */
export function scenariosFromMessages(envelopes: readonly Envelope[], cwd?: string): MessagesReport {
  const docs = new Map<string, DocumentIndex>();
  const pickles = new Map<string, Pickle>();
  const testCases: TestCase[] = [];
  const started = new Map<string, TestCaseStarted>();
  const stepResults = new Map<string, Map<string, TestStepResult>>();
  const retried = new Set<string>();
  const hooks = new Map<string, Hook>();
  const snippets = new Map<string, string>();
  let runError: string | undefined;
  let finished = false;

  for (const env of envelopes) {
    if (env.gherkinDocument?.uri) docs.set(env.gherkinDocument.uri, indexDocument(env.gherkinDocument));
    else if (env.pickle) pickles.set(env.pickle.id, env.pickle);
    else if (env.testCase) testCases.push(env.testCase);
    else if (env.hook) hooks.set(env.hook.id, env.hook);
    else if (env.testCaseStarted) started.set(env.testCaseStarted.id, env.testCaseStarted);
    else if (env.testStepFinished) {
      const { testCaseStartedId, testStepId, testStepResult } = env.testStepFinished;
      const m = stepResults.get(testCaseStartedId) ?? new Map<string, TestStepResult>();
      m.set(testStepId, testStepResult);
      stepResults.set(testCaseStartedId, m);
    } else if (env.testCaseFinished?.willBeRetried) retried.add(env.testCaseFinished.testCaseStartedId);
    else if (env.suggestion) {
      const code = env.suggestion.snippets[0]?.code;
      if (code) snippets.set(env.suggestion.pickleStepId, code);
    } else if (env.testRunFinished) {
      finished = true;
      const ex = env.testRunFinished.exception;
      const msg = env.testRunFinished.message ?? (ex ? (ex.message ?? ex.type) : undefined);
      if (!env.testRunFinished.success && msg) runError = truncate(stripAnsi(msg), MAX_MESSAGE);
    } else if (env.testRunHookFinished) {
      const r = env.testRunHookFinished.result;
      if (r.status === "FAILED") runError ??= resultMessage(r) ?? "a test run hook failed";
    }
  }

  // The attempt that counts for each test case: the last one not retried.
  const finalAttempt = new Map<string, string>();
  for (const s of [...started.values()].sort((a, b) => a.attempt - b.attempt)) {
    if (!retried.has(s.id)) finalAttempt.set(s.testCaseId, s.id);
    else if (!finalAttempt.has(s.testCaseId)) finalAttempt.set(s.testCaseId, s.id);
  }

  const report: MessagesReport = { scenarios: [], undefinedSteps: [], pendingSteps: [], finished };
  if (runError !== undefined) report.runError = runError;

  for (const tc of testCases) {
    const pickle = pickles.get(tc.pickleId);
    if (!pickle) continue;
    const file = toRepoPath(pickle.uri, cwd) ?? pickle.uri;
    const sc = describePickle(pickle, docs.get(pickle.uri), file);
    const attemptId = finalAttempt.get(tc.id);
    const results = attemptId ? stepResults.get(attemptId) : undefined;

    let worst: TestStepResultStatus = (results ? "PASSED" : "UNKNOWN") as TestStepResultStatus;
    let failedStep: ScenarioResult["failedStep"];
    let allStepsDefined = true;
    for (const ts of tc.testSteps) {
      const step = ts.pickleStepId ? sc.steps.get(ts.pickleStepId) : undefined;
      const r = results?.get(ts.id);
      const status = r?.status ?? (results ? ("SKIPPED" as TestStepResultStatus) : undefined);
      if (ts.pickleStepId) {
        const defined = (ts.stepDefinitionIds?.length ?? 0) > 0;
        if (!defined) allStepsDefined = false;
        const ref: StepRef = { file, line: step?.line ?? sc.line, text: step?.text ?? "", scenario: sc.name };
        if (!defined || status === "UNDEFINED") {
          const snippet = snippets.get(ts.pickleStepId);
          if (snippet) ref.snippet = snippet;
          report.undefinedSteps.push(ref);
        } else if (status === "PENDING") report.pendingSteps.push(ref);
      }
      if (status === undefined || rank(status) <= rank(worst)) continue;
      worst = status;
      if (rank(status) > rank("SKIPPED" as TestStepResultStatus)) {
        const text = step?.text ?? hookName(ts.hookId ? hooks.get(ts.hookId) : undefined);
        failedStep = { text, line: step?.line ?? sc.line };
        const msg =
          resultMessage(r) ??
          (status === "UNDEFINED" ? "Undefined step" : status === "PENDING" ? "Pending step" : undefined);
        if (msg) failedStep.message = msg;
      }
    }

    const scenario: ScenarioRun = {
      name: sc.name,
      feature: sc.feature,
      file,
      line: sc.line,
      status: toStatus(worst),
      allStepsDefined,
    };
    if (failedStep) scenario.failedStep = failedStep;
    report.scenarios.push(scenario);
  }
  return report;
}

function hookName(hook: Hook | undefined): string {
  if (!hook) return "hook";
  if (hook.name) return `hook "${hook.name}"`;
  const type = hook.type === "AFTER_TEST_CASE" ? "After" : hook.type === "BEFORE_TEST_CASE" ? "Before" : "";
  const ref = hook.sourceReference.uri
    ? ` (${hook.sourceReference.uri}:${hook.sourceReference.location?.line ?? 1})`
    : "";
  return `${type ? `${type} ` : ""}hook${ref}`;
}
