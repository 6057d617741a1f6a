/**
 * When outsiders' text can reach an agent's prompt, the run's proposals need a human's approval before the App commits
 * them: decided at the run's creation from the issue's author (`author_association`) and the config.
 */
import { describe, expect, it } from "vitest";
import { readBuiltins } from "../../src/builtins.js";
import { decideBatchAction } from "../../src/core/batch/batch-action.js";
import { reduceBatch } from "../../src/core/batch/machine.js";
import { ticketOutsiderText } from "../../src/core/batch/ticket-workflow.js";
import { decideBoardMove } from "../../src/core/board.js";
import { defaultConfig } from "../../src/core/config.js";
import { loadDefinitions, type Definitions } from "../../src/core/definitions.js";
import type { DomainEvent } from "../../src/core/events.js";
import { outsiderText } from "../../src/core/outsiders.js";
import { decide, type Decision } from "../../src/core/triggers.js";
import * as issueComment from "../../src/handlers/issue-comment.js";
import * as issues from "../../src/handlers/issues.js";
import { examplePayload } from "../support/webhooks.js";

const builtins = await readBuiltins();
const load = (yml = ""): Definitions =>
  loadDefinitions({ builtins, repo: new Map([[".github/trellis.yml", yml]]) }).value!;
const AT = Date.parse("2026-11-21T10:00:00Z");
const MALLORY = { login: "mallory", id: 6660666, node_id: "U_mallory", type: "User" };
const prompt = defaultConfig().prompt;

/** `issues.labeled` for agent:dev on issue #1, opened by `user` with GitHub's `author_association`. */
const labeled = (association: string, user: object = MALLORY): DomainEvent =>
  issues.toDomainEvent(
    examplePayload("issues", "labeled", {
      label: { name: "agent:dev" },
      issue: { user, author_association: association },
    }),
    "d1",
  )!;

const startOf = (decisions: Decision[]) => decisions.find((d) => d.kind === "start_run");

describe("outsiderText", () => {
  it("is undefined for an issue by the repository's owner, a member or a collaborator", () => {
    for (const association of ["OWNER", "MEMBER", "COLLABORATOR"])
      expect(
        outsiderText(prompt, [{ number: 5, author: { login: "octocat", association } }]),
      ).toBeUndefined();
  });

  it("says who opened an issue from outside, or that the author could not be checked", () => {
    for (const association of ["NONE", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN"])
      expect(outsiderText(prompt, [{ number: 5, author: { login: "mallory", association } }])).toBe(
        "issue #5 was opened by @mallory, who is not a collaborator",
      );
    expect(outsiderText(prompt, [{ number: 5, author: undefined }])).toBe(
      "the author of issue #5 could not be checked, so they may not be a collaborator",
    );
  });

  it("gates every run when outsiders' comments go into the prompt", () => {
    const open = { ...prompt, include_outside_comments: true };
    expect(outsiderText(open, [{ number: 5, author: { login: "octocat", association: "OWNER" } }])).toMatch(
      /include_outside_comments/,
    );
  });

  it("is undefined whatever the authors when the config turns the gate off", () => {
    const off = { include_outside_comments: true, approve_outsider_commits: false };
    expect(outsiderText(off, [{ number: 5, author: undefined }])).toBeUndefined();
  });
});

describe("a run's start records whether its commits need approval", () => {
  it("the handlers carry the issue's author and association", () => {
    const event = labeled("NONE");
    expect(event.kind === "label_added" && event.issue).toMatchObject({
      author: "mallory",
      authorAssociation: "NONE",
    });
    const comment = issueComment.toDomainEvent(
      examplePayload("issue_comment", "created", {
        comment: { body: "/run dev" },
        issue: { user: MALLORY, author_association: "NONE" },
      }),
      "d2",
    )!;
    expect(comment.kind === "comment_created" && comment.issue).toMatchObject({
      author: "mallory",
      authorAssociation: "NONE",
    });
  });

  it("an outsider's issue, labelled or `/run` by a maintainer: gated", () => {
    const defs = load();
    expect(startOf(decide({ event: labeled("NONE"), defs, role: "admin", runs: [], at: AT }))).toMatchObject({
      outsiderText: "issue #1 was opened by @mallory, who is not a collaborator",
    });
    const run = issueComment.toDomainEvent(
      examplePayload("issue_comment", "created", {
        comment: { body: "/run dev" },
        issue: { user: MALLORY, author_association: "NONE" },
      }),
      "d3",
    )!;
    expect(startOf(decide({ event: run, defs, role: "admin", runs: [], at: AT }))).toMatchObject({
      outsiderText: expect.stringContaining("@mallory"),
    });
  });

  it("a collaborator's issue is not gated; nor an outsider's with approve_outsider_commits off", () => {
    const start = decide({ event: labeled("COLLABORATOR"), defs: load(), role: "admin", runs: [], at: AT });
    expect(startOf(start)).toBeDefined();
    expect(startOf(start)).not.toHaveProperty("outsiderText");
    const off = load("prompt:\n  approve_outsider_commits: false\n");
    expect(
      startOf(decide({ event: labeled("NONE"), defs: off, role: "admin", runs: [], at: AT })),
    ).not.toHaveProperty("outsiderText");
  });

  it("a start from the board judges the issue's author the shell read, and an unknown one as an outsider's", () => {
    const defs = load();
    const move = {
      column: "Ready" as const,
      optionName: "Ready",
      issue: 3,
      issueTitle: "Faster",
      isPullRequest: false,
      actor: "octocat",
      allowed: true,
    };
    const start = (m: Parameters<typeof decideBoardMove>[0]) =>
      startOf(decideBoardMove(m, [], defs, AT).decisions);
    expect(start({ ...move, issueAuthor: { login: "octocat", association: "OWNER" } })).not.toHaveProperty(
      "outsiderText",
    );
    expect(start({ ...move, issueAuthor: { login: "mallory", association: "NONE" } })).toMatchObject({
      outsiderText: "issue #3 was opened by @mallory, who is not a collaborator",
    });
    expect(start(move)).toMatchObject({ outsiderText: expect.stringContaining("could not be checked") });
  });
});

describe("batch tickets", () => {
  const TASKS = "- [ ] [a] Alpha\n- [ ] #42\n";
  function created(association: string) {
    const defs = load("batch:\n  refine: false\n");
    let n = 0;
    const out = decideBatchAction(
      {
        action: { kind: "create" },
        repo: { owner: "octo", name: "repo" },
        trackingIssue: 1,
        issue: { title: "Ship it", body: TASKS, author: "tracker", authorAssociation: association },
        defs,
        actor: "alice",
        at: AT,
      },
      { newBatchId: () => "bat_1", newAttemptId: () => `att_${++n}` },
    );
    if (out.kind !== "created") throw new Error(out.kind);
    return out.state;
  }

  it("the batch keeps the tracking issue's author; a ticket is judged by it and by its own issue's author", () => {
    const outsider = created("NONE");
    expect(outsider.trackingAuthor).toEqual({ login: "tracker", association: "NONE" });
    expect(ticketOutsiderText(prompt, outsider, "a")).toBe(
      "issue #1 was opened by @tracker, who is not a collaborator",
    );
    const insider = created("MEMBER");
    expect(ticketOutsiderText(prompt, insider, "a")).toBeUndefined();
    // The referenced issue #42, looked up on GitHub: an outsider opened it.
    const looked = reduceBatch(
      insider,
      {
        type: "ticket_issue",
        at: AT,
        ticket: "#42",
        issue: 42,
        issueId: 5042,
        author: { login: "mallory", association: "NONE" },
      },
      { newRunId: () => "run_1", newAttemptId: () => "att_1" },
    ).state;
    expect(ticketOutsiderText(prompt, looked, "#42")).toBe(
      "issue #42 was opened by @mallory, who is not a collaborator",
    );
    expect(ticketOutsiderText(prompt, looked, "a")).toBeUndefined();
  });

  it("a batch stored before authors were kept is not gated", () => {
    const { trackingAuthor: _, ...legacy } = created("NONE");
    expect(ticketOutsiderText(prompt, legacy, "a")).toBeUndefined();
  });
});
