/**
 * The sandbox's seeded repository and the scripted agent behaviour: a tiny Node project (node:test, coverage, one
 * Cucumber feature), Trellis's config and workflows, and a Messages API script that makes the real Claude Code CLI
 * write a module with its test and run `npm test` — a couple of tool calls per run. The script is stateless (it
 * reads everything it needs from the request), so any number of CLIs can share one scripted API at once.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { MessagesRequest, Turn, TurnContext, TurnResult } from "./fake-anthropic.js";
import { text, toolUse } from "./fake-anthropic.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** What the agent writes; `npm test` writes an lcov report that the coverage criterion reads. */
export const TEST_SCRIPT =
  "mkdir -p coverage && node --test --experimental-test-coverage --test-reporter=spec --test-reporter-destination=stdout " +
  "--test-reporter=lcov --test-reporter-destination=coverage/lcov.info";

export interface RepoFilesOptions {
  parallel?: number;
  /** Extra or replaced files (e.g. a broken `.github/trellis.yml`). */
  files?: Record<string, string>;
  board?: boolean;
  /** Refine raw batch tickets with the refine agent first (default true). */
  refine?: boolean;
}

/** The seeded repository's files. */
export function repoFiles(options: RepoFilesOptions = {}): Record<string, string> {
  const agentWorkflow = readFileSync(join(REPO_ROOT, "workflow-templates", "trellis-agent.yml"), "utf8");
  // The built-in dev profile, allowed more runs at once: the end-to-end suite runs many scenarios side by side.
  const devProfile = readFileSync(join(REPO_ROOT, "agent-profiles", "dev.md"), "utf8").replace(
    /^max_parallel: \d+$/m,
    "max_parallel: 10",
  );
  return {
    "README.md": "# tiny-shop\n\nA tiny Node project that Trellis's sandbox agents work on.\n",
    ".gitignore": "node_modules\ncoverage/\n",
    "package.json":
      JSON.stringify(
        {
          name: "tiny-shop",
          version: "1.0.0",
          private: true,
          type: "module",
          scripts: { test: TEST_SCRIPT },
        },
        null,
        2,
      ) + "\n",
    "src/index.js": "export const shop = 'tiny-shop';\n",
    "test/index.test.js":
      'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { shop } from "../src/index.js";\n\n' +
      'test("names the shop", () => assert.equal(shop, "tiny-shop"));\n',
    "features/cart.feature": [
      "Feature: Cart",
      "  Scenario: Adding apples",
      "    Given an empty cart",
      "    When I add 2 apples",
      "    Then the cart has 2 items",
      "",
    ].join("\n"),
    ".github/workflows/trellis-agent.yml": agentWorkflow,
    // The project's own CI: GitHub runs it on pushes and pull requests (not on those made with a GITHUB_TOKEN).
    ".github/workflows/ci.yml": [
      "name: CI",
      "on: [push, pull_request]",
      "permissions:",
      "  contents: read",
      "jobs:",
      "  test:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      // Pinned by commit SHA like every workflow Trellis installs (test/action/workflow-files.test.ts).
      "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
      "        with:",
      "          persist-credentials: false",
      "      - uses: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 # v7.0.0",
      "        with:",
      "          node-version: 22",
      "      - run: npm test",
      "",
    ].join("\n"),
    ".github/trellis/agents/dev.md": devProfile,
    ".github/trellis.yml": [
      "# Trellis configuration of the sandbox repository.",
      "default_workflow: ship",
      "batch:",
      "  strategy: dependency-aware",
      `  parallel_limit: ${options.parallel ?? 2}`,
      `  refine: ${options.refine ?? true}`,
      "commands:",
      "  test: npm test",
      "  bdd: node node_modules/@cucumber/cucumber/bin/cucumber.js",
      ...(options.board ? ["board:", "  enabled: true", "  create: true", "  title: Trellis"] : []),
      "",
    ].join("\n"),
    ".github/trellis/workflows/ship.yml": [
      "name: ship",
      "description: The dev agent implements the ticket with tests (coverage at least 80 %) and opens a pull request.",
      "stages:",
      "  - id: dev",
      "    profile: dev",
      "    description: Implement the issue with tests.",
      "    timeout: 10",
      "    open_pr: true",
      "    success:",
      "      tests_pass: true",
      "      coverage_threshold: 80",
      "    on_failure: { retry: 0, then: escalate_to_human }",
      "",
    ].join("\n"),
    ".github/trellis/workflows/cart-bdd.yml": [
      "name: cart-bdd",
      "description: Step definitions for the approved cart scenarios, until every scenario passes; a human approves first.",
      "stages:",
      "  - id: steps",
      "    profile: dev",
      "    description: Implement the step definitions and the cart until every scenario passes.",
      "    timeout: 10",
      "    approvals: 1",
      "    open_pr: true",
      "    success:",
      "      bdd_scenarios_pass: true",
      "      scenario_coverage: 100",
      "      tests_pass: true",
      "    on_failure: { retry: 0, then: escalate_to_human }",
      "",
    ].join("\n"),
    ...options.files,
  };
}

/** One ticket of the demo's tracking issue. */
export interface TicketSeed {
  key: string;
  title: string;
  estimate: number;
  dependsOn: string[];
}

export const DEMO_TICKETS: TicketSeed[] = [
  { key: "money", title: "Format prices as money", estimate: 1, dependsOn: [] },
  { key: "tax", title: "Compute sales tax", estimate: 2, dependsOn: ["money"] },
  { key: "discount", title: "Apply discount codes", estimate: 1, dependsOn: [] },
  { key: "total", title: "Cart total with tax and discounts", estimate: 2, dependsOn: ["tax", "discount"] },
  { key: "receipt", title: "Print a receipt", estimate: 1, dependsOn: ["total"] },
];

/** `n` generated tickets for larger batches: each depends on the ticket `width` places before it. */
export function generatedTickets(n: number, width = 4): TicketSeed[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `t${i + 1}`,
    title: `Checkout step ${i + 1}`,
    estimate: 1 + (i % 2),
    dependsOn: i >= width ? [`t${i + 1 - width}`] : [],
  }));
}

/** The tracking issue's body: a task list of raw tickets with estimates and dependencies. */
export function trackingBody(tickets: TicketSeed[]): string {
  return [
    "The checkout milestone, as a Trellis batch.",
    "",
    ...tickets.map(
      (t) =>
        `- [ ] [${t.key}] ${t.title} est: ${t.estimate}` +
        (t.dependsOn.length > 0 ? ` depends on ${t.dependsOn.map((d) => `[${d}]`).join(", ")}` : ""),
    ),
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// The scripted agent

/** What the script reads from a request: which issue, stage and attempt, where, and what was said. */
export interface AgentTask {
  issue: number;
  title: string;
  stage: string;
  attempt: number;
  cwd: string;
  answered: boolean;
  /** Assistant messages so far in this conversation: the step of the script. */
  step: number;
}

function systemText(request: MessagesRequest): string {
  const s = request.system;
  if (typeof s === "string") return s;
  return (s ?? []).map((b) => b.text ?? "").join("\n");
}

export function readTask(request: MessagesRequest, context: TurnContext): AgentTask {
  const prompt = context.prompt;
  const issue = Number(/for issue #(\d+)/.exec(prompt)?.[1] ?? 0);
  return {
    issue,
    title: new RegExp(`Issue #${issue}: (.*)`).exec(prompt)?.[1]?.trim() ?? "",
    stage: /working on stage "([^"]+)"/.exec(prompt)?.[1] ?? "",
    attempt: Number(/\(attempt (\d+)\)/.exec(prompt)?.[1] ?? 1),
    cwd: /Primary working directory: (\S+)/.exec(systemText(request))?.[1] ?? process.cwd(),
    answered: prompt.includes("## Answers from humans"),
    step: request.messages.filter((m) => m.role === "assistant").length,
  };
}

/** `Compute sales tax` → `computeSalesTax` / `compute-sales-tax`. */
export function moduleName(title: string): { fn: string; file: string } {
  const words = title
    .toLowerCase()
    .replace(/[^a-z0-9 ]+/g, " ")
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 4);
  if (words.length === 0) words.push("feature");
  return {
    fn: words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join(""),
    file: words.join("-"),
  };
}

const STEPS =
  'import { Given, When, Then } from "@cucumber/cucumber";\nimport assert from "node:assert/strict";\n' +
  'import { addApples } from "../../src/cart.js";\n\n' +
  'Given("an empty cart", function () { this.items = 0; });\n' +
  'When("I add {int} apples", function (n) { this.items = addApples(this.items, n); });\n' +
  'Then("the cart has {int} items", function (n) { assert.equal(this.items, n); });\n';

/** A refine attempt's ticket, from its prompt (action/src/prompt.ts: `Ticket <key> of tracking issue #<n>:`). */
export function readRefineTicket(
  prompt: string,
): { key: string; tracking: number; text: string } | undefined {
  const m = /^Ticket (\S+) of tracking issue #(\d+):\n(.*)$/m.exec(prompt);
  return m ? { key: m[1]!, tracking: Number(m[2]), text: m[3]!.trim() } : undefined;
}

/** What the scripted refine agent writes for a ticket: the shape agent-profiles/refine.md asks for. */
export function refinedTicket(text: string): string {
  const { fn } = moduleName(text);
  return [
    `# ${text} (refined)`,
    "",
    "## Context",
    "",
    `The tiny shop has no \`${fn}\` yet; its modules live in \`src/\` with tests in \`test/\`.`,
    "",
    "## Acceptance criteria",
    "",
    `- [ ] \`src/\` exports \`${fn}\`, covered by a test in \`test/\``,
    "- [ ] `npm test` passes with line coverage of at least 80 %",
    "",
    "## Out of scope",
    "",
    "- Anything beyond the ticket's own behaviour",
    "",
    "est: 1",
    "labels: type:feature, area:shop",
    "",
  ].join("\n");
}

/**
 * The refine agent: reads the ticket from the prompt, writes `.trellis/refined.md` with the Write tool, reports.
 */
function refineTurn(task: AgentTask, ticket: { key: string; text: string }): TurnResult {
  if (task.step === 0)
    return [
      text(`I'll refine ticket ${ticket.key} into an issue with acceptance criteria.`),
      toolUse("Write", {
        file_path: join(task.cwd, ".trellis/refined.md"),
        content: refinedTicket(ticket.text),
      }),
    ];
  return `Refined "${ticket.text}": 2 acceptance criteria, estimate 1, labels type:feature and area:shop.`;
}

/**
 * The agent's behaviour. A refine attempt writes `.trellis/refined.md`. Titles steer it: "flaky" fails its first attempt (a wrong expectation), "question" asks a
 * human first (`.trellis/question.md`) and carries on once answered; a `steps` stage writes Cucumber steps.
 */
export const scriptedAgent: Turn = (request, context): TurnResult => {
  const task = readTask(request, context);
  const ticket = readRefineTicket(context.prompt);
  if (ticket) return refineTurn(task, ticket);
  const { fn, file } = moduleName(task.title);
  const at = (p: string): string => join(task.cwd, p);
  const npmTest = toolUse("Bash", { command: "npm test 2>&1 | tail -n 15", description: "Run the tests" });
  if (/question/i.test(task.title) && !task.answered) {
    if (task.step === 0)
      return [
        text("The issue leaves the rounding rule open; I will ask."),
        toolUse("Write", {
          file_path: at(".trellis/question.md"),
          content: "Should amounts be rounded half-up or half-even?\n",
        }),
      ];
    return "I asked a question in .trellis/question.md.";
  }
  // A later attempt continues on the branch the earlier one pushed: Claude Code writes a file only after reading it.
  const reread = task.attempt > 1 && task.stage !== "steps" ? 1 : 0;
  if (reread === 1 && task.step === 0)
    return [
      text("Continuing from the previous attempt; reading what it left."),
      toolUse("Read", { file_path: at(`src/${file}.js`) }),
      toolUse("Read", { file_path: at(`test/${file}.test.js`) }),
    ];
  if (task.step === reread) {
    const wrong = /flaky/i.test(task.title) && task.attempt === 1;
    const writes =
      task.stage === "steps"
        ? [
            toolUse("Write", { file_path: at("features/steps/cart.steps.mjs"), content: STEPS }),
            toolUse("Write", {
              file_path: at("src/cart.js"),
              content: "export const addApples = (items, n) => items + n;\n",
            }),
            toolUse("Write", {
              file_path: at("test/cart.test.js"),
              content:
                'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { addApples } from "../src/cart.js";\n\n' +
                'test("adds apples", () => assert.equal(addApples(1, 2), 3));\n',
            }),
          ]
        : [
            toolUse("Write", {
              file_path: at(`src/${file}.js`),
              content: `/** ${task.title} (#${task.issue}). */\nexport function ${fn}(x) {\n  return { issue: ${task.issue}, x };\n}\n`,
            }),
            toolUse("Write", {
              file_path: at(`test/${file}.test.js`),
              content:
                `import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { ${fn} } from "../src/${file}.js";\n\n` +
                `test("${fn} works", () => assert.deepEqual(${fn}(1), { issue: ${wrong ? 0 : task.issue}, x: 1 }));\n`,
            }),
          ];
    return [text(`I'll implement "${task.title}" with a test.`), ...writes];
  }
  if (task.step === reread + 1) return [npmTest];
  const out = context.toolResults.map((r) => r.text).join("\n");
  const passed = /# fail 0/.test(out);
  return `Implemented "${task.title}" (#${task.issue}, ${task.stage}, attempt ${task.attempt}); tests ${passed ? "pass" : "fail"}.`;
};
