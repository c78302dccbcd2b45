import { ServiceUnavailableError } from './errors.ts';

/** An item's own refusal inside an otherwise successful batch: that one caller's promise rejects with `reason`. */
export class BatchRefusal {
  readonly reason: unknown;
  constructor(reason: unknown) {
    this.reason = reason;
  }
}

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(reason: unknown): void;
}

export interface TickBatchOptions {
  /** Most items in one batch (default 500); a batch that fills up leaves at once. */
  maxBatch?: number;
  /**
   * How long a batch collects before it leaves, in ms. Without it, until the end of the current turn of the event
   * loop: calls made together (one request's burst, concurrent requests) share a batch. With it, calls arriving over
   * a few milliseconds (workers' jobs, which do not start in one turn) do.
   */
  windowMs?: number;
  /**
   * Most batches running at once (default 4). While that many are out, new calls wait and join the next batch,
   * which leaves as soon as one comes back: the busier the server on the other side, the larger the batches.
   */
  maxInFlight?: number;
  /**
   * When a batch of several fails, run each of its items again on its own, so one item the other side refuses (a
   * string PostgreSQL cannot store) fails only its own caller. Only for `run`s that have no effect when they fail
   * (one read, or one statement that rolled back); never for an outage (ServiceUnavailableError), which every item
   * would meet again.
   */
  isolateFailures?: boolean;
}

/**
 * Collects concurrent calls and runs them as batches (group commit): under load, concurrent requests share one round
 * trip to PostgreSQL or Redis, and one wake-up of the server on the other side, instead of paying one each. A call
 * waits for the end of the current turn of the event loop (or `windowMs`), or, when `maxInFlight` batches are
 * already out, for one of them to come back. `run` answers the items in order; a BatchRefusal in its answer rejects that item; if `run`
 * throws, every call in the batch rejects with that error (unless `isolateFailures`).
 */
export function tickBatcher<I, O>(
  run: (items: I[]) => Promise<(O | BatchRefusal)[]>,
  options: TickBatchOptions = {},
): (item: I) => Promise<O> {
  const maxBatch = options.maxBatch ?? 500;
  const maxInFlight = options.maxInFlight ?? 4;
  let pending: Pending<I, O>[] = [];
  let scheduled = false;
  let inFlight = 0;
  const answer = (batch: Pending<I, O>[], answers: (O | BatchRefusal)[]) =>
    batch.forEach((p, i) => {
      const result = answers[i] as O | BatchRefusal;
      if (result instanceof BatchRefusal) p.reject(result.reason);
      else p.resolve(result);
    });
  const alone = (p: Pending<I, O>) =>
    run([p.item]).then(
      (answers) => answer([p], answers),
      (error: unknown) => p.reject(error),
    );
  const send = (batch: Pending<I, O>[]) => {
    inFlight++;
    run(batch.map((p) => p.item))
      .then(
        (answers) => answer(batch, answers),
        async (error: unknown) => {
          if (options.isolateFailures && batch.length > 1 && !(error instanceof ServiceUnavailableError)) {
            await Promise.all(batch.map(alone));
          } else {
            for (const p of batch) p.reject(error);
          }
        },
      )
      .finally(() => {
        inFlight--;
        flush();
      });
  };
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    scheduled = false;
    clearTimeout(timer);
    while (pending.length > 0 && inFlight < maxInFlight) {
      const batch = pending.length <= maxBatch ? pending : pending.slice(0, maxBatch);
      pending = batch === pending ? [] : pending.slice(maxBatch);
      send(batch);
    }
  };
  return (item) =>
    new Promise<O>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (pending.length >= maxBatch) flush();
      else if (!scheduled) {
        scheduled = true;
        if (options.windowMs === undefined) setImmediate(flush);
        else timer = setTimeout(flush, options.windowMs);
      }
    });
}
