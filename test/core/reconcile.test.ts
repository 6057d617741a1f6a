import { describe, expect, test } from "vitest";
import {
  chooseRedeliveries,
  deliverySucceeded,
  listingSince,
  REDELIVERY_WINDOW_MS,
  RELISTING_OVERLAP_MS,
  type ListedDelivery,
  type RedeliveryFacts,
} from "../../src/core/reconcile.js";

const NOW = Date.parse("2026-11-21T10:00:00Z");
const MINUTE = 60_000;
let nextId = 1;

function delivery(guid: string, statusCode: number, minutesAgo: number, event = "issues"): ListedDelivery {
  return { id: nextId++, guid, deliveredAt: NOW - minutesAgo * MINUTE, statusCode, event, action: "labeled" };
}

const facts = (deliveries: ListedDelivery[], more: Partial<RedeliveryFacts> = {}): RedeliveryFacts => ({
  deliveries,
  now: NOW,
  recorded: new Set(),
  tries: new Map(),
  max: 10,
  maxTries: 3,
  ...more,
});

const guids = (f: RedeliveryFacts): string[] => chooseRedeliveries(f).redeliver.map((r) => r.guid);

describe("chooseRedeliveries", () => {
  test("a guid whose every delivery failed is redelivered; one that succeeded once is not", () => {
    const choice = chooseRedeliveries(
      facts([
        delivery("lost", 502, 30),
        delivery("lost", 503, 20),
        delivery("recovered", 500, 30),
        delivery("recovered", 200, 25),
        delivery("fine", 202, 10),
        delivery("timed-out", 0, 5),
      ]),
    );
    expect(choice.redeliver.map((r) => r.guid)).toEqual(["lost", "timed-out"]);
    expect(choice.givenUp).toEqual([]);
  });

  test("the newest delivery of the guid is the one redelivered, with its event", () => {
    const newest = delivery("g", 503, 20, "workflow_run");
    const [r] = chooseRedeliveries(facts([delivery("g", 502, 40, "workflow_run"), newest])).redeliver;
    expect(r).toEqual({ deliveryId: newest.id, guid: "g", event: "workflow_run", action: "labeled" });
  });

  test("success is what GitHub's status filter calls success: status codes 200–399", () => {
    expect([200, 202, 204, 302, 399].every(deliverySucceeded)).toBe(true);
    expect([0, 199, 400, 404, 500, 502, 503].some(deliverySucceeded)).toBe(false);
    expect(guids(facts([delivery("moved", 301, 3), delivery("refused", 400, 3)]))).toEqual(["refused"]);
  });

  test("nothing older than GitHub's 3-day window: a guid with no delivery inside it is left alone", () => {
    const windowMinutes = REDELIVERY_WINDOW_MS / MINUTE;
    const old = delivery("old", 502, windowMinutes + 1);
    const edge = delivery("edge", 502, windowMinutes);
    const mixed = [delivery("mixed", 502, windowMinutes + 10), delivery("mixed", 502, 60)];
    const choice = chooseRedeliveries(facts([old, edge, ...mixed]));
    expect(choice.redeliver.map((r) => r.guid)).toEqual(["mixed", "edge"]);
    expect(choice.redeliver[0]?.deliveryId).toBe(mixed[1]?.id);
  });

  test("a guid the inbox recorded is not asked for: the App has the event, only its answer failed", () => {
    expect(
      guids(facts([delivery("late", 503, 3), delivery("lost", 502, 2)], { recorded: new Set(["late"]) })),
    ).toEqual(["lost"]);
  });

  test("a guid already asked for maxTries times is given up", () => {
    const choice = chooseRedeliveries(
      facts([delivery("poison", 500, 3), delivery("again", 502, 2)], {
        tries: new Map([
          ["poison", 3],
          ["again", 2],
        ]),
      }),
    );
    expect(choice.redeliver.map((r) => r.guid)).toEqual(["again"]);
    expect(choice.givenUp).toEqual(["poison"]);
  });

  test("those asked for less often come first: one that keeps failing does not starve the others", () => {
    const [a, b, c] = [delivery("a", 502, 30), delivery("b", 502, 20), delivery("c", 502, 10)];
    const tries = new Map([
      ["a", 2],
      ["b", 1],
    ]);
    expect(guids(facts([a!, b!, c!], { tries, max: 2 }))).toEqual(["c", "b"]);
  });

  test("at most `max` per pass, the oldest events first", () => {
    const all = Array.from({ length: 8 }, (_, i) => delivery(`g${i}`, 502, 100 - i * 10));
    expect(guids(facts([...all].reverse(), { max: 3 }))).toEqual(["g0", "g1", "g2"]);
    expect(guids(facts(all, { max: 0 }))).toEqual([]);
  });
});

describe("listingSince", () => {
  test("the whole window the first time, then from just before the last complete listing", () => {
    expect(listingSince(NOW, undefined)).toBe(NOW - REDELIVERY_WINDOW_MS);
    expect(listingSince(NOW, NOW - 10 * MINUTE)).toBe(NOW - 10 * MINUTE - RELISTING_OVERLAP_MS);
    // A listing last completed a week ago: still no further back than GitHub keeps.
    expect(listingSince(NOW, NOW - 7 * 24 * 60 * MINUTE)).toBe(NOW - REDELIVERY_WINDOW_MS);
  });
});
