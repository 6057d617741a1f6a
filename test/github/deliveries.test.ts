import { describe, expect, it } from "vitest";
import { listDeliveriesSince, redeliverDelivery } from "../../src/github/deliveries.js";
import { getWorkflowRun } from "../../src/github/dispatch.js";
import { githubApi, requestsSeen, useGitHubNock } from "../support/github-routes.js";
import { R, repo, testOctokit } from "./helpers.js";

useGitHubNock();

const T = Date.parse("2026-11-21T10:00:00Z");
const MINUTE = 60_000;

/** A delivery as GitHub lists it (the `hook-delivery-item` example's shape). */
function item(id: number, minutesAgo: number, statusCode = 200) {
  return {
    id,
    guid: `guid-${id}`,
    delivered_at: new Date(T - minutesAgo * MINUTE).toISOString().replace(/\.\d{3}Z$/, "Z"),
    redelivery: false,
    duration: 0.27,
    status: statusCode === 200 ? "OK" : `Invalid HTTP Response: ${statusCode}`,
    status_code: statusCode,
    event: "issues",
    action: "opened",
    installation_id: 123,
    repository_id: 456,
    throttled_at: null,
  };
}

const next = (cursor: string) => ({
  link: `<https://api.github.com/app/hook/deliveries?per_page=100&cursor=${cursor}>; rel="next"`,
});

describe("listDeliveriesSince", () => {
  it("follows the cursor pages, newest first, and stops at the first delivery older than `since`", async () => {
    githubApi()
      .get("/app/hook/deliveries")
      .query({ per_page: 100 })
      .reply(200, [item(9, 1), item(8, 2, 502)], next("v1_7"));
    githubApi()
      .get("/app/hook/deliveries")
      .query({ per_page: 100, cursor: "v1_7" })
      .reply(200, [item(7, 3), item(6, 20), item(5, 30)], next("v1_4"));
    const paced: number[] = [];
    const listing = await listDeliveriesSince(testOctokit(), T - 10 * MINUTE, {
      maxPages: 10,
      beforeNextPage: async () => void paced.push(paced.length),
    });
    expect(listing.complete).toBe(true);
    expect(listing.deliveries).toEqual([
      { id: 9, guid: "guid-9", deliveredAt: T - MINUTE, statusCode: 200, event: "issues", action: "opened" },
      {
        id: 8,
        guid: "guid-8",
        deliveredAt: T - 2 * MINUTE,
        statusCode: 502,
        event: "issues",
        action: "opened",
      },
      {
        id: 7,
        guid: "guid-7",
        deliveredAt: T - 3 * MINUTE,
        statusCode: 200,
        event: "issues",
        action: "opened",
      },
    ]);
    // The third page was never asked for: the second reached `since`.
    expect(requestsSeen()).toHaveLength(2);
    expect(paced).toHaveLength(1);
  });

  it("reads at most maxPages and says the listing is incomplete", async () => {
    githubApi()
      .get("/app/hook/deliveries")
      .query({ per_page: 2 })
      .reply(200, [item(9, 1), item(8, 2)], next("v1_7"));
    const listing = await listDeliveriesSince(testOctokit(), T - 60 * MINUTE, { maxPages: 1, perPage: 2 });
    expect(listing).toMatchObject({ complete: false });
    expect(listing.deliveries.map((d) => d.id)).toEqual([9, 8]);
  });

  it("is complete when the last page ends before `since`", async () => {
    githubApi()
      .get("/app/hook/deliveries")
      .query({ per_page: 100 })
      .reply(200, [item(3, 1)]);
    expect(await listDeliveriesSince(testOctokit(), T - 60 * MINUTE, { maxPages: 5 })).toMatchObject({
      complete: true,
      deliveries: [{ id: 3 }],
    });
  });
});

describe("redeliverDelivery", () => {
  it("asks GitHub for a new attempt of the delivery", async () => {
    githubApi().post("/app/hook/deliveries/8/attempts").reply(202, {});
    await redeliverDelivery(testOctokit(), 8);
    expect(requestsSeen()).toEqual(["POST /app/hook/deliveries/8/attempts"]);
  });
});

describe("getWorkflowRun", () => {
  it("reads the run by its id", async () => {
    githubApi()
      .get(`${R}/actions/runs/30433642`)
      .reply(200, { id: 30433642, status: "completed", conclusion: "success" });
    expect(await getWorkflowRun(testOctokit(), repo, 30433642)).toMatchObject({ status: "completed" });
  });
});
