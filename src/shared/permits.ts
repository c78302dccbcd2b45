/**
 * A counting semaphore per key inside one process: `acquire(key, n)` waits, in arrival order, until `n` of the key's
 * `width` permits are free; each is given back on its own (`release(key)`). A batch of sends takes its permits
 * together before it claims its rows in one statement, and frees each as its send ends, so the next batch claims
 * as soon as there is room: no more than `width` claimed rows wait for a send at once.
 */
export class KeyedPermits {
  readonly #width: number;
  readonly #keys = new Map<string, { free: number; waiting: { n: number; go: () => void }[] }>();

  constructor(width: number) {
    this.#width = width;
  }

  get width(): number {
    return this.#width;
  }

  /** How many callers wait for this key's permits. */
  waiting(key: string): number {
    return this.#keys.get(key)?.waiting.length ?? 0;
  }

  /** Resolves with how many permits it took: `n`, at most `width`. */
  async acquire(key: string, n: number): Promise<number> {
    const wanted = Math.min(Math.max(1, n), this.#width);
    let k = this.#keys.get(key);
    if (!k) {
      k = { free: this.#width, waiting: [] };
      this.#keys.set(key, k);
    }
    if (k.waiting.length === 0 && k.free >= wanted) {
      k.free -= wanted;
      return wanted;
    }
    await new Promise<void>((go) => k?.waiting.push({ n: wanted, go }));
    return wanted;
  }

  release(key: string, n = 1): void {
    const k = this.#keys.get(key);
    if (!k) return;
    k.free = Math.min(this.#width, k.free + n);
    // First come, first served: a large request at the head is not overtaken by smaller ones behind it.
    while (k.waiting.length > 0 && k.free >= (k.waiting[0]?.n ?? 0)) {
      const next = k.waiting.shift() as { n: number; go: () => void };
      k.free -= next.n;
      next.go();
    }
    // A key with every permit free and no one waiting is forgotten (keys can be many: webhook endpoints).
    if (k.free === this.#width && k.waiting.length === 0) this.#keys.delete(key);
  }
}
