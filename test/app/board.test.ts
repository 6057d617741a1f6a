/**
 * The board through the real App (Probot, store on both engines, effect worker): transitions move
 * the card with the fewest GraphQL requests, and a card moved to Ready on the board starts the
 * workflow. REST is checked against GitHub's OpenAPI description, GraphQL against its schema.
 */
import { schema as githubIdl } from "@octokit/graphql-schema";
import {
  buildSchema,
  getVariableValues,
  Kind,
  parse,
  validate,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import nock from "nock";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { layoutOf } from "../../src/core/board.js";
import { listAudit } from "../../src/store/audit.js";
import { findBoardItem, saveBoardProject } from "../../src/store/board.js";
import { findRunsByIssue } from "../../src/store/runs.js";
import { type Harness, installation, INSTALLATION_ID, startHarness } from "../support/app-harness.js";
import { engineCases, truncateAll, type TestDb } from "../support/engines.js";
import { githubApi, GITHUB_API, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";

const REPO = "/repos/Codertocat/Hello-World";

let githubSchema: GraphQLSchema | undefined;
function graphqlProblems(query: string, variables: Record<string, unknown>): string[] {
  githubSchema ??= buildSchema(githubIdl.idl, { assumeValidSDL: true });
  const doc = parse(query);
  const problems = validate(githubSchema, doc).map((e) => e.message);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const coerced = getVariableValues(githubSchema, op.variableDefinitions ?? [], variables);
  return [...problems, ...(coerced.errors ?? []).map((e) => e.message)];
}

const STATUS_OPTIONS = ["Todo", "In Progress", "Done"];

/** GitHub as far as the board needs it: REST for the App, and a small stateful Projects v2 over GraphQL. */
function fakeGitHub(config: string, { ownerType = "Organization" } = {}) {
  const comments: { issue: string; body: string }[] = [];
  const dispatches: Record<string, unknown>[] = [];
  const graphql: { operation: string; variables: Record<string, unknown> }[] = [];
  const problems: string[] = [];
  const statusOptions = STATUS_OPTIONS.map((name, i) => ({
    id: `opt${i}`,
    name,
    color: "GRAY",
    description: "",
  }));
  const api = githubApi().persist();
  api.get("/app").reply(200, { id: 123, slug: "trellis", name: "Trellis" });
  api
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: "ghs_testtoken", expires_at: "2099-01-01T00:00:00Z" });
  api.get(/\/contents\/\.github(%2F|\/)trellis\.yml/).reply(200, {
    type: "file",
    path: ".github/trellis.yml",
    name: "trellis.yml",
    size: config.length,
    encoding: "base64",
    content: Buffer.from(config).toString("base64"),
  });
  api.get(/\/contents\//).reply(404, { message: "Not Found" });
  api
    .get(/\/collaborators\/[^/]+\/permission$/)
    .reply(200, { permission: "admin", role_name: "admin", user: { login: "someone" } });
  api
    .get(REPO)
    .reply(200, { id: 1, name: "Hello-World", full_name: "Codertocat/Hello-World", default_branch: "main" });
  api.get(`${REPO}/branches/main`).reply(200, { name: "main", commit: { sha: "a".repeat(40) } });
  api.get(/\/check-runs/).reply(200, { total_count: 0, check_runs: [] });
  api.post(`${REPO}/check-runs`).reply(201, { id: 700 });
  api.patch(/\/check-runs\/\d+$/).reply(200, { id: 700 });
  api.get(/\/issues\/\d+\/comments/).reply(200, []);
  // An issue whose card moves to Ready: the App reads its author (an outsider's issue needs approval to commit).
  api.get(/\/issues\/\d+$/).reply(200, () => examplePayload("issues", "opened").issue);
  api.post(/\/issues\/\d+\/comments$/).reply((uri, body) => {
    comments.push({ issue: /\/issues\/(\d+)\//.exec(uri)![1]!, body: (body as { body: string }).body });
    return [201, { id: 900 + comments.length, body: "" }];
  });
  // The status comment is remembered after it is created, so later updates edit it by id.
  api.patch(/\/issues\/comments\/\d+$/).reply(200, { id: 900, body: "" });
  api.post(`${REPO}/actions/workflows/trellis-agent.yml/dispatches`).reply((_uri, body) => {
    dispatches.push(body as Record<string, unknown>);
    return [204];
  });

  nock(GITHUB_API)
    .persist()
    .post("/graphql")
    .reply((_uri, body) => {
      const b = body as { query: string; variables?: Record<string, unknown> };
      const variables = b.variables ?? {};
      problems.push(...graphqlProblems(b.query, variables));
      const op = parse(b.query).definitions[0] as OperationDefinitionNode;
      const operation = op.name?.value ?? "";
      graphql.push({ operation, variables });
      try {
        return [200, { data: answer(operation, variables, op) }];
      } catch (error) {
        const partial = (error as { partial?: unknown }).partial;
        if (!partial) throw error;
        // GitHub's answer to an App asking for a user's project.
        return [
          200,
          {
            data: partial,
            errors: [
              {
                type: "FORBIDDEN",
                path: ["repositoryOwner", "projectV2"],
                extensions: { saml_failure: false },
                locations: [{ line: 6, column: 7 }],
                message: "Resource not accessible by integration",
              },
            ],
          },
        ];
      }
    });

  function answer(operation: string, vars: Record<string, unknown>, op: OperationDefinitionNode): unknown {
    switch (operation) {
      case "TrellisOwnerProject":
        if (ownerType === "User")
          throw Object.assign(new Error("forbidden"), {
            partial: { repositoryOwner: { __typename: "User", id: "U_octocat", projectV2: null } },
          });
        return {
          repositoryOwner: {
            __typename: "Organization",
            id: "O_octo_org",
            projectV2: {
              id: "PVT_1",
              number: 1,
              title: "Trellis",
              url: "https://github.com/orgs/octo-org/projects/1",
              fields: {
                pageInfo: { hasNextPage: false, endCursor: null },
                nodes: [
                  { __typename: "ProjectV2Field", id: "F_title", name: "Title", dataType: "TITLE" },
                  {
                    __typename: "ProjectV2SingleSelectField",
                    id: "F_status",
                    name: "Status",
                    dataType: "SINGLE_SELECT",
                    options: statusOptions,
                  },
                ],
              },
            },
          },
        };
      case "TrellisEnsureFields":
        return Object.fromEntries(
          Object.entries(vars).map(([k, v], i) => {
            const input = v as {
              name?: string;
              dataType?: string;
              fieldId?: string;
              singleSelectOptions?: { name: string }[];
            };
            const options = input.singleSelectOptions?.map((o, j) => ({ id: `${k}_${j}`, ...o }));
            const field = input.fieldId
              ? {
                  __typename: "ProjectV2SingleSelectField",
                  id: input.fieldId,
                  name: "Status",
                  dataType: "SINGLE_SELECT",
                  options,
                }
              : {
                  __typename: options ? "ProjectV2SingleSelectField" : "ProjectV2Field",
                  id: `F_${input.name!.toLowerCase()}`,
                  name: input.name,
                  dataType: input.dataType,
                  ...(options ? { options } : {}),
                };
            return [`f${i}`, { projectV2Field: field }];
          }),
        );
      case "TrellisSelectValues":
        // One card, in GitHub's "Done": it must still be there after Trellis adds its columns.
        return {
          node: {
            items: {
              pageInfo: { hasNextPage: false, endCursor: "MQ" },
              nodes: [{ id: "PVTI_other", v0: { name: "Done" } }],
            },
          },
        };
      case "TrellisContentIds":
        return { repository: { c0: { __typename: "Issue", id: "I_issue1" } } };
      case "TrellisAddItems":
        return { a0: { item: { id: "PVTI_issue1" } } };
      case "TrellisProjectItem":
        return {
          node: {
            id: vars.item,
            project: { id: "PVT_1" },
            fieldValueByName: { name: "Ready", optionId: "s1" },
            content: {
              __typename: "Issue",
              id: "I_issue1",
              number: 1,
              title: "Spelling error in the README file",
              repository: { name: "Hello-World", owner: { login: "Codertocat" } },
            },
          },
        };
      case "TrellisMoveCards":
        return Object.fromEntries(
          op.selectionSet.selections.map((s) => [
            s.kind === Kind.FIELD ? s.alias!.value : "",
            { clientMutationId: null },
          ]),
        );
      default:
        throw new Error(`unexpected GraphQL operation ${operation}`);
    }
  }
  return { dispatches, graphql, problems, comments };
}

const BOARD_CONFIG = "board:\n  enabled: true\n  owner: octo-org\n  number: 1\n";

describe.each(engineCases())("the board ($title)", ({ engine, skip }) => {
  useGitHubNock();
  let db: TestDb;
  let h: Harness | undefined;
  beforeAll(async () => {
    if (!skip) db = await engine.open();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    if (!skip) await truncateAll(db);
  });
  const finish = async (): Promise<void> => {
    await h?.close();
    h = undefined;
    nock.cleanAll(); // persistent routes may stay unused by design
  };

  test.skipIf(skip)("transitions set up the board once, then cost one request each", async () => {
    const gh = fakeGitHub(BOARD_CONFIG);
    h = await startHarness(db);
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation }),
    );
    await h.drain();
    expect(gh.dispatches).toHaveLength(1);
    expect(gh.problems).toEqual([]);
    expect(gh.graphql.map((g) => g.operation)).toEqual([
      "TrellisOwnerProject",
      // Replacing Status's options clears every card's Status: the cards' values are read first ...
      "TrellisSelectValues",
      "TrellisEnsureFields",
      // ... and written back by name, with the options' new ids.
      "TrellisMoveCards",
      // No TrellisContentIds: the webhook carried the issue's node id.
      "TrellisAddItems",
      "TrellisMoveCards",
    ]);
    expect(gh.graphql[1]!.variables).toMatchObject({ project: "PVT_1", n0: "Status", after: null });
    // Status kept GitHub's options and gained ours; the card went to In progress (GitHub's "In Progress").
    const ensure = gh.graphql[2]!.variables;
    expect(ensure.update0).toMatchObject({ fieldId: "F_status" });
    expect(gh.graphql[3]!.variables).toEqual({
      project: "PVT_1",
      i0: "PVTI_other",
      f0_0: "F_status",
      v0_0: { singleSelectOptionId: "update0_2" }, // "Done", with its new id
    });
    const issueNodeId = (examplePayload("issues", "labeled") as { issue: { node_id: string } }).issue.node_id;
    expect(gh.graphql[4]!.variables).toMatchObject({ project: "PVT_1", c0: issueNodeId });
    const move = gh.graphql[5]!.variables;
    expect(move).toMatchObject({
      project: "PVT_1",
      i0: "PVTI_issue1",
      f0_0: "F_status",
      v0_0: { singleSelectOptionId: "update0_1" },
      f0_1: "F_stage",
      v0_1: { text: "dev" },
      f0_2: "F_agent",
      f0_3: "F_cost",
      v0_3: { number: 0 },
      f0_4: "F_batch",
    });
    expect(move).not.toHaveProperty("v0_4"); // Batch is cleared, not written with a value

    // Removing the trigger label holds the run: one request, only Status changes.
    gh.graphql.length = 0;
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", {
        action: "unlabeled",
        label: { name: "agent:dev" },
        installation,
      }),
    );
    await h.drain();
    const [run] = await findRunsByIssue(db, "Codertocat/Hello-World", 1);
    expect(run!.state.status).toBe("held");
    expect(gh.graphql).toHaveLength(1);
    expect(gh.graphql[0]).toEqual({
      operation: "TrellisMoveCards",
      variables: {
        project: "PVT_1",
        i0: "PVTI_issue1",
        f0_0: "F_status",
        v0_0: { singleSelectOptionId: "update0_5" },
      },
    });
    expect(gh.problems).toEqual([]);
    await finish();
  });

  test.skipIf(skip)("moving a card to Ready on the board starts the workflow", async () => {
    const gh = fakeGitHub(BOARD_CONFIG);
    const fields = [
      {
        id: "F_status",
        name: "Status",
        dataType: "SINGLE_SELECT",
        options: ["Backlog", "Ready", "In progress", "Needs human", "In review", "Done", "Failed"].map(
          (name, i) => ({
            id: `s${i}`,
            name,
          }),
        ),
      },
      { id: "F_stage", name: "Stage", dataType: "TEXT" },
      { id: "F_agent", name: "Agent", dataType: "SINGLE_SELECT", options: [{ id: "a_dev", name: "dev" }] },
      { id: "F_cost", name: "Cost", dataType: "NUMBER" },
      { id: "F_batch", name: "Batch", dataType: "TEXT" },
    ];
    await saveBoardProject(db, {
      installationId: INSTALLATION_ID,
      owner: "octo-org",
      number: 1,
      title: "Trellis",
      projectId: "PVT_1",
      url: "",
      createdByTrellis: false,
      layout: layoutOf("PVT_1", fields),
    });
    h = await startHarness(db);
    const moved = (sender: object, id?: string) =>
      h!.deliver(
        "projects_v2_item",
        examplePayload("projects_v2_item", "edited", {
          installation,
          projects_v2_item: {
            node_id: "PVTI_issue1",
            project_node_id: "PVT_1",
            content_node_id: "I_issue1",
            content_type: "Issue",
          },
          changes: { field_value: { field_node_id: "F_status", field_type: "single_select" } },
          sender,
        }),
        id,
      );

    // Trellis's own edits come back as webhooks from its bot: nothing happens.
    await moved({ login: "trellis[bot]", type: "Bot" });
    await h.drain();
    expect(gh.graphql).toEqual([]);

    await moved({ login: "wolfy1339", type: "User" });
    await h.drain();
    expect(gh.problems).toEqual([]);
    expect(gh.dispatches).toHaveLength(1);
    expect(gh.dispatches[0]).toMatchObject({ inputs: { issue: "1", stage: "dev", profile: "dev" } });
    const [run] = await findRunsByIssue(db, "Codertocat/Hello-World", 1);
    expect(run!.state).toMatchObject({ status: "active", issueTitle: "Spelling error in the README file" });
    // The App read the issue's author: its owner, so its commits need no approval.
    expect(run!.state.outsiderText).toBeUndefined();
    // The card was read once (status and issue), then moved on to In progress in one request.
    expect(gh.graphql.map((g) => g.operation)).toEqual(["TrellisProjectItem", "TrellisMoveCards"]);
    expect(gh.graphql[1]!.variables).toMatchObject({
      i0: "PVTI_issue1",
      f0_0: "F_status",
      v0_0: { singleSelectOptionId: "s2" },
    });
    expect(await findBoardItem(db, "PVT_1", "PVTI_issue1")).toMatchObject({
      repo: "Codertocat/Hello-World",
      number: 1,
    });
    const audit = await listAudit(db, { repo: "Codertocat/Hello-World" });
    expect(audit.find((a) => a.action === "board_move")).toMatchObject({
      actor: "wolfy1339",
      detail: { issue: 1, to: "Ready", column: "Ready" },
    });
    expect(audit.map((a) => a.action)).toContain("run_started");

    // Back to Backlog (this payload names the option): the run is held and the card stays in Backlog,
    // with no read (the item is known) and no write (the card already shows it).
    gh.graphql.length = 0;
    await h.deliver(
      "projects_v2_item",
      examplePayload("projects_v2_item", "edited", {
        installation,
        projects_v2_item: { node_id: "PVTI_issue1", project_node_id: "PVT_1", content_type: "Issue" },
        changes: {
          field_value: {
            field_node_id: "F_status",
            field_type: "single_select",
            to: { id: "s0", name: "Backlog" },
          },
        },
        sender: { login: "wolfy1339", type: "User" },
      }),
    );
    await h.drain();
    const [held] = await findRunsByIssue(db, "Codertocat/Hello-World", 1);
    expect(held!.state).toMatchObject({
      status: "held",
      reason: "held by wolfy1339: moved to Backlog on the board",
    });
    expect(gh.graphql).toEqual([]);
    expect(await findBoardItem(db, "PVT_1", "PVTI_issue1")).toMatchObject({
      pinned: "Backlog",
      written: { status: "Backlog" },
    });
    await finish();
  });

  test.skipIf(skip)(
    "a board owned by a user is refused once, on the issue, with why and what to do",
    async () => {
      const gh = fakeGitHub("board:\n  enabled: true\n  owner: octocat\n  number: 1\n", {
        ownerType: "User",
      });
      h = await startHarness(db);
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation }),
      );
      await h.drain();
      // The run goes on without the board: one read, then nothing more is sent to Projects.
      expect(gh.dispatches).toHaveLength(1);
      expect(gh.problems).toEqual([]);
      expect(gh.graphql.map((g) => g.operation)).toEqual(["TrellisOwnerProject"]);
      const refusals = gh.comments.filter((c) => c.body.includes("can't use this board"));
      expect(refusals).toHaveLength(1);
      expect(refusals[0]!.issue).toBe("1");
      expect(refusals[0]!.body).toContain("`board.owner` is `octocat`, a personal account");
      expect(refusals[0]!.body).toMatch(/Use a project owned by an organization/);

      // Later transitions neither ask GitHub again nor repeat the message.
      gh.graphql.length = 0;
      await h.deliver(
        "issues",
        examplePayload("issues", "labeled", {
          action: "unlabeled",
          label: { name: "agent:dev" },
          installation,
        }),
      );
      await h.drain();
      const [run] = await findRunsByIssue(db, "Codertocat/Hello-World", 1);
      expect(run!.state.status).toBe("held");
      expect(gh.graphql).toEqual([]);
      expect(gh.comments.filter((c) => c.body.includes("can't use this board"))).toHaveLength(1);
      await finish();
    },
  );

  test.skipIf(skip)("with the board disabled nothing is sent to Projects", async () => {
    const gh = fakeGitHub("board:\n  enabled: false\n  owner: Codertocat\n  number: 1\n");
    h = await startHarness(db);
    await h.deliver(
      "issues",
      examplePayload("issues", "labeled", { label: { name: "agent:dev" }, installation }),
    );
    await h.drain();
    expect(gh.dispatches).toHaveLength(1);
    expect(gh.graphql).toEqual([]);
    await finish();
  });
});
