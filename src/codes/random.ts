import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 64 * 1024;

/**
 * Draws uniformly distributed indexes in [0, n) from the OS CSPRNG.
 * Bytes are taken from a pooled buffer; a byte at or above the largest multiple of n is rejected,
 * so every index is exactly equally likely for any n up to 256.
 */
export class RandomIndexSource {
  readonly #pool = Buffer.allocUnsafe(POOL_SIZE);
  #offset = POOL_SIZE;

  /** Fills `out` with uniform indexes in [0, n). */
  fill(out: Uint8Array, n: number): void {
    if (n < 1 || n > 256) throw new RangeError('alphabet size must be between 1 and 256');
    const limit = 256 - (256 % n);
    const pool = this.#pool;
    let i = 0;
    while (i < out.length) {
      if (this.#offset >= POOL_SIZE) {
        randomFillSync(pool);
        this.#offset = 0;
      }
      const byte = pool[this.#offset++] as number;
      if (byte < limit) out[i++] = byte % n;
    }
  }
}
