interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

/**
 * Group commit for hot single-row statements: callers add one item and await their own result; items that
 * arrive within `delayMs` (or `maxSize` of them) share one statement. Each caller still sees its own outcome,
 * and a failed statement fails every caller in it (their jobs retry).
 */
export class Batcher<I, O> {
  readonly #run: (items: I[]) => Promise<O[]>;
  readonly #maxSize: number;
  readonly #delayMs: number;
  #pending: Waiting<I, O>[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(run: (items: I[]) => Promise<O[]>, maxSize: number, delayMs: number) {
    this.#run = run;
    this.#maxSize = maxSize;
    this.#delayMs = delayMs;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length >= this.#maxSize) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#delayMs);
    });
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    this.#run(batch.map((w) => w.item)).then(
      (results) => {
        for (const [i, w] of batch.entries()) w.resolve(results[i] as O);
      },
      (error) => {
        for (const w of batch) w.reject(error);
      },
    );
  }
}
