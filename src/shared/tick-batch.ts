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

/**
 * Collects the calls made in one turn of the event loop and runs them as one batch (at most `maxBatch` each):
 * under load, concurrent requests share one round trip to PostgreSQL or Redis, and one wake-up of the server on
 * the other side, instead of paying one each. Alone, a call waits only until the end of the current turn.
 * `run` answers the items in order; a BatchRefusal in its answer rejects that item; if `run` throws, every
 * call in the batch rejects with that error.
 */
export function tickBatcher<I, O>(run: (items: I[]) => Promise<(O | BatchRefusal)[]>, maxBatch = 500): (item: I) => Promise<O> {
  let pending: Pending<I, O>[] = [];
  const flush = () => {
    const batch = pending;
    if (batch.length === 0) return;
    pending = [];
    run(batch.map((p) => p.item)).then(
      (answers) =>
        batch.forEach((p, i) => {
          const answer = answers[i] as O | BatchRefusal;
          if (answer instanceof BatchRefusal) p.reject(answer.reason);
          else p.resolve(answer);
        }),
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  };
  return (item) =>
    new Promise<O>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ item, resolve, reject });
      if (pending.length >= maxBatch) flush();
    });
}
