import { generateMessages } from "@cucumber/gherkin";
import {
  IdGenerator,
  SourceMediaType,
  type GherkinDocument,
  type Pickle,
  type Scenario,
  type Step,
} from "@cucumber/messages";

/** One runnable scenario (an outline contributes one per example row). */
export interface ParsedScenario {
  name: string;
  feature: string;
  file: string;
  /** The scenario line, or the example row line for an outline. */
  line: number;
  /** Background and scenario steps in execution order, keyed by pickle step id. */
  steps: Map<string, { text: string; line: number }>;
}

export interface GherkinSyntaxError {
  file: string;
  line: number;
  column?: number;
  message: string;
}

export interface FeatureParse {
  scenarios: ParsedScenario[];
  errors: GherkinSyntaxError[];
}

/** Line numbers of every AST node (scenarios, steps, example rows) and outline row indexes. */
export interface DocumentIndex {
  feature: string;
  lines: Map<string, number>;
  /** Example row id → 1-based position among all rows of its outline. */
  rowNumbers: Map<string, number>;
}

export function indexDocument(doc: GherkinDocument): DocumentIndex {
  const lines = new Map<string, number>();
  const rowNumbers = new Map<string, number>();
  const steps = (ss: readonly Step[]): void => ss.forEach((s) => lines.set(s.id, s.location.line));
  const scenario = (sc: Scenario): void => {
    lines.set(sc.id, sc.location.line);
    steps(sc.steps);
    let n = 0;
    for (const ex of sc.examples) {
      for (const row of ex.tableBody) {
        lines.set(row.id, row.location.line);
        rowNumbers.set(row.id, ++n);
      }
    }
  };
  for (const child of doc.feature?.children ?? []) {
    if (child.background) steps(child.background.steps);
    if (child.scenario) scenario(child.scenario);
    for (const rc of child.rule?.children ?? []) {
      if (rc.background) steps(rc.background.steps);
      if (rc.scenario) scenario(rc.scenario);
    }
  }
  return { feature: doc.feature?.name ?? "", lines, rowNumbers };
}

/** A pickle described with file:line information from its document. */
export function describePickle(
  pickle: Pickle,
  index: DocumentIndex | undefined,
  file: string,
): ParsedScenario {
  const [scenarioId, rowId] = pickle.astNodeIds;
  const row = rowId ? index?.rowNumbers.get(rowId) : undefined;
  const line =
    pickle.location?.line ??
    (rowId ? index?.lines.get(rowId) : undefined) ??
    (scenarioId ? index?.lines.get(scenarioId) : undefined) ??
    1;
  const steps = new Map<string, { text: string; line: number }>();
  for (const s of pickle.steps) {
    const stepId = s.astNodeIds[0];
    steps.set(s.id, { text: s.text, line: (stepId ? index?.lines.get(stepId) : undefined) ?? line });
  }
  return {
    name: row === undefined ? pickle.name : `${pickle.name} (example ${row})`,
    feature: index?.feature ?? "",
    file,
    line,
    steps,
  };
}

/**
 * Parses one `.feature` file with the official Gherkin parser into its scenarios (outlines
 * expanded per example row); syntax errors are returned with their location, not thrown.
 */
export function parseFeature(text: string, file: string): FeatureParse {
  const envelopes = generateMessages(text, file, SourceMediaType.TEXT_X_CUCUMBER_GHERKIN_PLAIN, {
    includeSource: false,
    includeGherkinDocument: true,
    includePickles: true,
    newId: IdGenerator.incrementing(),
  });
  const errors: GherkinSyntaxError[] = [];
  let index: DocumentIndex | undefined;
  const scenarios: ParsedScenario[] = [];
  for (const env of envelopes) {
    if (env.parseError) {
      const loc = env.parseError.source.location;
      const err: GherkinSyntaxError = { file, line: loc?.line ?? 1, message: env.parseError.message };
      if (loc?.column !== undefined) err.column = loc.column;
      errors.push(err);
    }
    if (env.gherkinDocument) index = indexDocument(env.gherkinDocument);
    if (env.pickle) scenarios.push(describePickle(env.pickle, index, file));
  }
  return { scenarios, errors };
}
