/**
 * Group commit for the webhook request path: deliveries arriving while a statement is in flight wait
 * and then go to the database together, as ONE multi-row statement. Each caller is answered only once
 * its row is committed, so durability is unchanged (GitHub gets its answer after the commit); the
 * database does one round trip (and, on PostgreSQL, one WAL flush) for many deliveries.
 *
 * An idle batcher runs a lone item at once: grouping adds no latency when there is no queue.
 */

export interface Batcher<I, O> {
  /** Resolves with this item's result once the batch holding it has committed. */
  submit(item: I): Promise<O>;
  /** Items queued or in flight: the worker yields to the request path while this is > 0. */
  readonly pending: number;
  /** Resolves when nothing is queued or in flight (now, if idle). */
  idle(): Promise<void>;
}

export interface BatcherOptions {
  /** Most items per statement (bounds the statement's size and a batch's latency). */
  maxBatch?: number;
}

interface Waiter<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

/**
 * `run` receives a batch and returns one result per item, in order. When a batch of several fails,
 * each of its items is tried again alone, so one bad item (a payload the database refuses) fails
 * only its own request, as it would without grouping; an error that persists rejects every waiter.
 */
export function createBatcher<I, O>(
  run: (items: I[]) => Promise<O[]>,
  options: BatcherOptions = {},
): Batcher<I, O> {
  const maxBatch = Math.max(1, options.maxBatch ?? 256);
  let queue: Waiter<I, O>[] = [];
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];

  const runBatch = async (batch: Waiter<I, O>[]): Promise<void> => {
    let results: O[];
    try {
      results = await run(batch.map((w) => w.item));
      if (results.length !== batch.length) {
        throw new Error(`batch returned ${results.length} results for ${batch.length} items`);
      }
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      // Sequentially, so a database that is down is not hammered by a burst of single statements.
      for (const w of batch) await runBatch([w]);
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i] as O));
  };

  const pump = (): void => {
    if (inFlight > 0 || queue.length === 0) {
      if (inFlight === 0 && queue.length === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const done of waiters) done();
      }
      return;
    }
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    inFlight = batch.length;
    void runBatch(batch).finally(() => {
      inFlight = 0;
      pump();
    });
  };

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        pump();
      });
    },
    get pending() {
      return queue.length + inFlight;
    },
    idle() {
      if (queue.length === 0 && inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
