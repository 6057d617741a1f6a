import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { attemptsWithin, backoffMs } from "../../src/store/backoff.js";

describe("backoffMs", () => {
  const opts = { baseMs: 1_000, maxMs: 60_000 };

  it("doubles the step each attempt, with jitter in [step/2, step]", () => {
    expect(backoffMs(1, opts, () => 0)).toBe(500);
    expect(backoffMs(1, opts, () => 1)).toBe(1_000);
    expect(backoffMs(2, opts, () => 1)).toBe(2_000);
    expect(backoffMs(3, opts, () => 0.5)).toBe(3_000);
    expect(backoffMs(4, opts, () => 0)).toBe(4_000);
  });

  it("caps at maxMs, even for huge attempt numbers", () => {
    expect(backoffMs(7, opts, () => 1)).toBe(60_000);
    expect(backoffMs(10_000, opts, () => 1)).toBe(60_000);
    expect(backoffMs(10_000, opts, () => 0)).toBe(30_000);
  });

  it("treats nonsense attempts as the first", () => {
    expect(backoffMs(0, opts, () => 1)).toBe(1_000);
    expect(backoffMs(Number.NaN, opts, () => 1)).toBe(1_000);
  });

  it("always stays within bounds and never shrinks as attempts grow (same random)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, baseMs, extra, r) => {
          const maxMs = baseMs + extra;
          const d = backoffMs(attempt, { baseMs, maxMs }, () => r);
          const next = backoffMs(attempt + 1, { baseMs, maxMs }, () => r);
          expect(d).toBeGreaterThanOrEqual(Math.floor(baseMs / 2));
          expect(d).toBeLessThanOrEqual(maxMs);
          expect(next).toBeGreaterThanOrEqual(d);
        },
      ),
    );
  });
});

describe("attemptsWithin", () => {
  it("counts the tries whose expected waits fit in the horizon: an hour of 1 s doubling to 5 min is 24 tries", () => {
    const opts = { baseMs: 1_000, maxMs: 5 * 60_000 };
    // Waits 0.75 × (1, 2, 4 … 256 s) = 383.25 s, then 14 × 225 s: 3,533.25 s ≤ 3,600 s; one more would pass it.
    expect(attemptsWithin(60 * 60_000, opts)).toBe(24);
    expect(attemptsWithin(0, opts)).toBe(1);
    expect(attemptsWithin(60_000, { baseMs: 0, maxMs: 0 })).toBe(1);
  });
});
