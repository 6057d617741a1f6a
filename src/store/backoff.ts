/** Pure: exponential backoff with jitter, for retrying effects (the caller supplies randomness). */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (1-based): the exponential step `baseMs · 2^(attempt-1)`,
 * capped at `maxMs`, with "equal jitter" — uniformly within [step/2, step] — so that replicas
 * retrying together spread out while every retry still waits at least half the step.
 */
export function backoffMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  const base = Math.max(0, options.baseMs);
  const max = Math.max(base, options.maxMs);
  const step = Math.min(max, base * 2 ** Math.min(n - 1, 1023));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(step / 2 + (r * step) / 2);
}

/**
 * How many tries fit in `horizonMs` when each retry waits its expected delay (three quarters of its step): the
 * worker's limit for transient failures, so "retry for an hour" holds whatever the backoff's base and cap.
 */
export function attemptsWithin(horizonMs: number, options: BackoffOptions): number {
  let tries = 1;
  let waited = 0;
  for (;;) {
    const step = Math.min(
      Math.max(options.baseMs, options.maxMs),
      options.baseMs * 2 ** Math.min(tries - 1, 1023),
    );
    if (step <= 0 || waited + 0.75 * step > horizonMs) return tries;
    waited += 0.75 * step;
    tries += 1;
  }
}
