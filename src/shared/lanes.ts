import { KeyedPermits } from './permits.ts';

/**
 * Per-key lanes inside one process: at most `width` callers run for a key at once, the others wait in arrival
 * order (one permit each of a KeyedPermits). Batch jobs of one webhook endpoint take their turn here, so one process
 * asks the shared Redis pacer for that endpoint's slots a few times per wave instead of once per waiting job;
 * `waiting` tells a caller to step back (move its job to the delayed set) rather than hold a worker slot in a long line.
 */
export class KeyedLanes {
  readonly #permits: KeyedPermits;

  constructor(width: number) {
    this.#permits = new KeyedPermits(width);
  }

  /** How many callers wait for this key (not counting those running). */
  waiting(key: string): number {
    return this.#permits.waiting(key);
  }

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    await this.#permits.acquire(key, 1);
    try {
      return await work();
    } finally {
      this.#permits.release(key);
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
