/**
 * The board's set-up against the GitHub stand-in's Projects (v2), which behaves as GitHub documents:
 * replacing a single select's options gives them new ids and clears every card's value of the field,
 * and an App cannot reach a user's project. Octokit (the App's own client) talks to it through nock.
 */
import nock from "nock";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { ensureBoard, forgetBoards } from "../../src/app/board.js";
import { createAppCaches } from "../../src/app/caches.js";
import type { AppDeps, Target } from "../../src/app/runtime.js";
import { readBuiltins } from "../../src/builtins.js";
import { MAX_RESTORED_ITEMS } from "../../src/core/board.js";
import { loadDefinitions, type Definitions } from "../../src/core/definitions.js";
import {
  addProjectItem,
  createGitHubState,
  createIssue,
  createProject,
  handleGraphQL,
  nodeId,
  setItemField,
  type GitHubState,
  type Project,
} from "../../sandbox/src/github/index.js";
import { engineCases, truncateAll, type TestDb } from "../support/engines.js";
import { useGitHubNock } from "../support/github-routes.js";
import { testOctokit } from "../github/helpers.js";

const builtins = await readBuiltins();
const definitions = (owner: string): Definitions =>
  loadDefinitions({
    builtins,
    repo: new Map([[".github/trellis.yml", `board:\n  enabled: true\n  owner: ${owner}\n  number: 1\n`]]),
  }).value!;

let state: GitHubState;
let graphqlRequests: number;

/** The stand-in answers GitHub's GraphQL endpoint, as the App's installation (its bot). */
function standIn(): void {
  graphqlRequests = 0;
  nock("https://api.github.com")
    .persist()
    .post("/graphql")
    .reply((_uri, body) => {
      graphqlRequests++;
      return [200, handleGraphQL(state, body, "trellis[bot]")];
    });
}

interface Logged {
  level: string;
  msg: string;
}
const caches = createAppCaches();
function deps(db: TestDb, logged: Logged[]): AppDeps {
  const log = (level: string) => (_obj: unknown, msg: string) => void logged.push({ level, msg });
  return { db, log: { warn: log("warn"), info: log("info") }, caches } as unknown as AppDeps;
}

const target: Target = { installationId: 7, repo: { owner: "octo-org", name: "web" }, issue: 1 };

/** An organization's board as people use it: GitHub's default Status, cards in its columns. */
function existingBoard(cards: (string | null)[]): Project {
  const project = createProject(state, "octo-org", "Roadmap");
  const status = project.fields.find((f) => f.name === "Status")!;
  const repo = state.repos.get("octo-org/web")!;
  cards.forEach((column, i) => {
    const issue = createIssue(state, repo, { title: `card ${i}`, user: "monalisa" });
    const item = addProjectItem(state, project, nodeId("I", issue.id));
    const option = status.options.find((o) => o.name === column);
    if (option)
      setItemField(state, project, item, status.id, { singleSelectOptionId: option.id }, "monalisa");
  });
  return project;
}

/** Each card's Status, by option name, as GitHub now shows it. */
function statuses(project: Project): (string | null)[] {
  const status = project.fields.find((f) => f.name === "Status")!;
  return project.items.map((item) => {
    const v = item.values.get(status.id);
    return v && "singleSelectOptionId" in v
      ? (status.options.find((o) => o.id === v.singleSelectOptionId)?.name ?? null)
      : null;
  });
}

describe.each(engineCases())("the board on the GitHub stand-in ($title)", ({ engine, skip }) => {
  useGitHubNock();
  let db: TestDb;
  beforeAll(async () => {
    if (!skip) db = await engine.open();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    forgetBoards({ caches });
    if (!skip) await truncateAll(db);
    state = createGitHubState({
      users: [{ login: "octo-org", type: "Organization" }, "octocat", "monalisa"],
      repos: [{ owner: "octo-org", name: "web" }],
    });
    standIn();
  });

  test.skipIf(skip)("adding Trellis's columns to an existing board keeps every card's Status", async () => {
    const project = existingBoard(["Done", "In Progress", null, "Todo", "Done"]);
    const logged: Logged[] = [];
    const board = await ensureBoard(deps(db, logged), testOctokit(), target, definitions("octo-org"));

    expect(board?.projectId).toBe(nodeId("PVT", project.id));
    const status = project.fields.find((f) => f.name === "Status")!;
    expect(status.options.map((o) => o.name)).toEqual([
      "Todo",
      "In Progress",
      "Done",
      "Backlog",
      "Ready",
      "Needs human",
      "In review",
      "Failed",
    ]);
    expect(statuses(project)).toEqual(["Done", "In Progress", null, "Todo", "Done"]);
    // The cached layout has the options' new ids, so the next card write is valid.
    expect(board!.layout.fields.status!.options!["done"]).toBe(status.options[2]!.id);
    // owner + project, the cards' values, the fields, the values written back.
    expect(graphqlRequests).toBe(4);
    expect(logged.filter((l) => l.level === "warn")).toEqual([]);
  });

  test.skipIf(skip)(
    `a board with more than ${MAX_RESTORED_ITEMS} cards keeps its options; the log names those to add by hand`,
    async () => {
      const project = existingBoard(Array.from({ length: MAX_RESTORED_ITEMS + 1 }, () => "Done"));
      const before = project.fields.find((f) => f.name === "Status")!.options.map((o) => o.id);
      const logged: Logged[] = [];
      const board = await ensureBoard(deps(db, logged), testOctokit(), target, definitions("octo-org"));

      expect(board).toBeDefined();
      const status = project.fields.find((f) => f.name === "Status")!;
      expect(status.options.map((o) => o.id)).toEqual(before);
      expect(statuses(project).every((s) => s === "Done")).toBe(true);
      const warnings = logged.filter((l) => l.level === "warn").map((l) => l.msg);
      expect(warnings).toEqual([
        expect.stringContaining(
          'Add these options by hand: Status: "Backlog", "Ready", "Needs human", "In review", "Failed"',
        ),
      ]);
      // Set up again (a refresh): the cards are not read again, and the warning is not repeated.
      const requests = graphqlRequests;
      await ensureBoard(deps(db, logged), testOctokit(), target, definitions("octo-org"), { refresh: true });
      expect(graphqlRequests - requests).toBe(1); // owner + project only
      expect(logged.filter((l) => l.level === "warn")).toHaveLength(1);
    },
  );

  test.skipIf(skip)(
    "a user's board: GitHub refuses it to the App, and Trellis says why instead of failing",
    async () => {
      createProject(state, "octocat", "Mine");
      const logged: Logged[] = [];
      const board = await ensureBoard(deps(db, logged), testOctokit(), target, definitions("octocat"));
      expect(board).toBeUndefined();
      expect(logged.map((l) => l.msg)).toEqual([
        expect.stringContaining("`board.owner` is `octocat`, a personal account"),
      ]);
      // Never asked again in this process.
      const requests = graphqlRequests;
      expect(
        await ensureBoard(deps(db, logged), testOctokit(), target, definitions("octocat")),
      ).toBeUndefined();
      expect(graphqlRequests).toBe(requests);
    },
  );
});
