import { randomInt } from 'node:crypto';

/** A uniform number in [0, 1) from the CSPRNG: even jitter is drawn from crypto, never from a weak generator. */
export function uniformRandom(): number {
  return randomInt(0, 2 ** 32) / 2 ** 32;
}
