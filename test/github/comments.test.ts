import { describe, expect, it } from "vitest";
import { addReaction, reply, upsertMarkedComment, withMarker } from "../../src/github/comments.js";
import { marker } from "../../src/core/markers.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";
import { nextPage, R, repo, testOctokit } from "./helpers.js";

useGitHubNock();

const real = examplePayload("issue_comment", "created").comment;
const STATUS = marker("status");
const human = { ...real, id: 1, body: `I quote the bot: ${STATUS}` };
const bot = (id: number, body: string) => ({
  ...real,
  id,
  body,
  user: { ...real.user, login: "trellis[bot]", type: "Bot" },
  performed_via_github_app: { id: 321 },
});

describe("upsertMarkedComment", () => {
  it("creates the status comment when there is none, after reading every page", async () => {
    const path = `${R}/issues/1/comments`;
    githubApi()
      .get(path)
      .query({ per_page: "100" })
      .reply(200, [human], nextPage(`${path}?per_page=100`, 2))
      .get(path)
      .query({ per_page: "100", page: "2" })
      .reply(200, [{ ...real, id: 2, body: "unrelated" }])
      .post(path, { body: withMarker("## Trellis\nqueued", STATUS) })
      .reply(201, { ...real, id: 99 });
    const outcome = await upsertMarkedComment(testOctokit(), repo, 1, STATUS, "## Trellis\nqueued");
    expect(outcome).toEqual({ id: 99, action: "created" });
  });

  it("updates the App's own comment in place and ignores a human quoting the marker", async () => {
    githubApi()
      .get(`${R}/issues/1/comments`)
      .query(true)
      .reply(200, [bot(10, withMarker("old", STATUS)), human])
      .patch(`${R}/issues/comments/10`, { body: withMarker("new", STATUS) })
      .reply(200, bot(10, withMarker("new", STATUS)));
    const outcome = await upsertMarkedComment(testOctokit(), repo, 1, STATUS, "new", { appId: 321 });
    expect(outcome).toEqual({ id: 10, action: "updated" });
  });

  it("does nothing when the comment already says it (a redelivered effect)", async () => {
    githubApi()
      .get(`${R}/issues/1/comments`)
      .query(true)
      .reply(200, [bot(10, withMarker("same", STATUS))]);
    const outcome = await upsertMarkedComment(testOctokit(), repo, 1, STATUS, "same", {
      login: "trellis[bot]",
    });
    expect(outcome).toEqual({ id: 10, action: "unchanged" });
  });

  it("never takes over another bot's comment when it knows who it is", async () => {
    const other = { ...bot(5, withMarker("x", STATUS)), performed_via_github_app: { id: 9 } };
    other.user = { ...other.user, login: "other[bot]" };
    githubApi()
      .get(`${R}/issues/1/comments`)
      .query(true)
      .reply(200, [other])
      .post(`${R}/issues/1/comments`, { body: withMarker("mine", STATUS) })
      .reply(201, { ...real, id: 6 });
    const outcome = await upsertMarkedComment(testOctokit(), repo, 1, STATUS, "mine", { appId: 321 });
    expect(outcome).toEqual({ id: 6, action: "created" });
  });

  it("updates the newest of duplicates left by a crash", async () => {
    githubApi()
      .get(`${R}/issues/1/comments`)
      .query(true)
      .reply(200, [bot(10, withMarker("a", STATUS)), bot(11, withMarker("b", STATUS))])
      .patch(`${R}/issues/comments/11`, { body: withMarker("c", STATUS) })
      .reply(200, bot(11, "c"));
    expect(await upsertMarkedComment(testOctokit(), repo, 1, STATUS, "c", { appId: 321 })).toEqual({
      id: 11,
      action: "updated",
    });
  });
});

describe("upsertMarkedComment remembers the comment it wrote (per Octokit)", () => {
  it("lists once, then updates by id, and sends nothing when the body has not changed", async () => {
    const octokit = testOctokit();
    githubApi()
      .get(`${R}/issues/1/comments`)
      .query(true)
      .reply(200, [])
      .post(`${R}/issues/1/comments`, { body: withMarker("queued", STATUS) })
      .reply(201, bot(40, withMarker("queued", STATUS)))
      .patch(`${R}/issues/comments/40`, { body: withMarker("running", STATUS) })
      .reply(200, bot(40, withMarker("running", STATUS)));
    const self = { appId: 321 };
    expect(await upsertMarkedComment(octokit, repo, 1, STATUS, "queued", self)).toEqual({
      id: 40,
      action: "created",
    });
    expect(await upsertMarkedComment(octokit, repo, 1, STATUS, "running", self)).toEqual({
      id: 40,
      action: "updated",
    });
    expect(await upsertMarkedComment(octokit, repo, 1, STATUS, "running", self)).toEqual({
      id: 40,
      action: "unchanged",
    });
  });

  it("falls back to the marker search when the remembered comment was deleted", async () => {
    const octokit = testOctokit();
    githubApi()
      .get(`${R}/issues/2/comments`)
      .query(true)
      .reply(200, [bot(41, withMarker("a", STATUS))])
      .patch(`${R}/issues/comments/41`, { body: withMarker("b", STATUS) })
      .reply(200, bot(41, withMarker("b", STATUS)))
      .patch(`${R}/issues/comments/41`, { body: withMarker("c", STATUS) })
      .reply(404, { message: "Not Found" })
      .get(`${R}/issues/2/comments`)
      .query(true)
      .reply(200, [])
      .post(`${R}/issues/2/comments`, { body: withMarker("c", STATUS) })
      .reply(201, bot(42, withMarker("c", STATUS)));
    const self = { appId: 321 };
    expect(await upsertMarkedComment(octokit, repo, 2, STATUS, "b", self)).toEqual({
      id: 41,
      action: "updated",
    });
    expect(await upsertMarkedComment(octokit, repo, 2, STATUS, "c", self)).toEqual({
      id: 42,
      action: "created",
    });
  });

  it("another Octokit (another installation) does not share the memory", async () => {
    githubApi()
      .get(`${R}/issues/3/comments`)
      .query(true)
      .times(2)
      .reply(200, [bot(43, withMarker("same", STATUS))]);
    const self = { appId: 321 };
    expect(await upsertMarkedComment(testOctokit(), repo, 3, STATUS, "same", self)).toEqual({
      id: 43,
      action: "unchanged",
    });
    expect(await upsertMarkedComment(testOctokit(), repo, 3, STATUS, "same", self)).toEqual({
      id: 43,
      action: "unchanged",
    });
  });
});

describe("reply and reactions", () => {
  it("replies on the issue", async () => {
    githubApi()
      .post(`${R}/issues/4/comments`, { body: "Unknown command `/frobnicate`. Try `/help`." })
      .reply(201, { ...real, id: 55 });
    expect(await reply(testOctokit(), repo, 4, "Unknown command `/frobnicate`. Try `/help`.")).toEqual({
      id: 55,
    });
  });

  it("bounds a reply to GitHub's comment limit", async () => {
    let length = 0;
    githubApi()
      .post(`${R}/issues/4/comments`, (b: { body: string }) => {
        length = b.body.length;
        return true;
      })
      .reply(201, real);
    await reply(testOctokit(), repo, 4, "y".repeat(100_000));
    expect(length).toBe(65_536);
  });

  it("reacts 👀 on receipt and 🚀 / 😕 after", async () => {
    githubApi()
      .post(`${R}/issues/comments/${real.id}/reactions`, { content: "eyes" })
      .reply(201, { id: 1, content: "eyes" })
      .post(`${R}/issues/comments/${real.id}/reactions`, { content: "rocket" })
      .reply(201, { id: 2, content: "rocket" })
      .post(`${R}/issues/comments/${real.id}/reactions`, { content: "confused" })
      .reply(200, { id: 3, content: "confused" });
    const octokit = testOctokit();
    await addReaction(octokit, repo, real.id, "eyes");
    await addReaction(octokit, repo, real.id, "rocket");
    await addReaction(octokit, repo, real.id, "confused");
  });
});
