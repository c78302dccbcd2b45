/**
 * Per-key lanes inside one process: at most `width` callers run for a key at once, the others wait in arrival
 * order. Batch jobs of one webhook endpoint (or one message provider) take their turn here, so one process asks
 * the shared Redis pacer for that key's slots a few times per wave instead of once per waiting job; `crowded`
 * tells a caller to step back (move its job to the delayed set) rather than hold a worker slot in a long line.
 */
export class KeyedLanes {
  readonly #width: number;
  readonly #lanes = new Map<string, { running: number; waiting: (() => void)[] }>();

  constructor(width: number) {
    this.#width = width;
  }

  /** How many callers wait for this key (not counting those running). */
  waiting(key: string): number {
    return this.#lanes.get(key)?.waiting.length ?? 0;
  }

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { running: 0, waiting: [] };
      this.#lanes.set(key, lane);
    }
    if (lane.running >= this.#width) await new Promise<void>((resolve) => lane?.waiting.push(resolve));
    else lane.running += 1;
    try {
      return await work();
    } finally {
      const next = lane.waiting.shift();
      // The turn passes straight to the next caller (`running` stays), or the lane frees a place.
      if (next) next();
      else if (--lane.running === 0) this.#lanes.delete(key);
    }
  }
}

/**
 * What this process holds of each key's shared slots, so a caller that was refused a slot waits for this process to
 * free one (a wake-up, no round trip) when it holds any, and only polls the shared pacer when others hold them all.
 */
export class HeldSlots {
  readonly #held = new Map<string, number>();
  readonly #waiters = new Map<string, Set<() => void>>();

  held(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  hold(key: string, n: number): void {
    this.#held.set(key, this.held(key) + n);
  }

  free(key: string, n: number): void {
    const left = this.held(key) - n;
    if (left > 0) this.#held.set(key, left);
    else this.#held.delete(key);
    const waiters = this.#waiters.get(key);
    if (!waiters) return;
    this.#waiters.delete(key);
    for (const wake of waiters) wake();
  }

  /** Resolves when this process next frees slots of the key, or after `timeoutMs`. */
  freed(key: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(key);
      if (!waiters) {
        waiters = new Set();
        this.#waiters.set(key, waiters);
      }
      const wake = () => {
        clearTimeout(timer);
        waiters?.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      waiters.add(wake);
    });
  }
}
