import type { CodeShape } from './code-config.ts';

/** A guesser must not hit a valid code more often than once in this many tries. */
export const MAX_GUESS_PROBABILITY = 1e-6;

/** Number of distinct codes a shape can produce (may exceed Number.MAX_SAFE_INTEGER, hence bigint). */
export function codeSpaceSize(shape: CodeShape): bigint {
  return BigInt(shape.alphabet.length) ** BigInt(shape.randomCount);
}

/** Bits of entropy of one code: log2(space). */
export function entropyBits(shape: CodeShape): number {
  return shape.randomCount * Math.log2(shape.alphabet.length);
}

/** Probability that one random guess hits one of `issued` codes. */
export function guessProbability(shape: CodeShape, issued: bigint): number {
  const space = codeSpaceSize(shape);
  if (space === 0n) return 1;
  return Number(issued) / Number(space);
}

export type SpaceVerdict =
  | { ok: true; space: bigint; entropyBits: number; guessProbability: number }
  | {
      ok: false;
      reason: 'code_space_exhausted' | 'code_space_too_small';
      space: bigint;
      available: bigint;
      entropyBits: number;
      guessProbability: number;
    };

/**
 * Decides whether `requested` more codes fit a shape that already has `issued` codes.
 * Exhausted: not enough unused codes left. Too small: once issued, more than one guess in a million would hit.
 */
export function checkCodeSpace(shape: CodeShape, issued: bigint, requested: bigint, allowGuessable: boolean): SpaceVerdict {
  const space = codeSpaceSize(shape);
  const bits = entropyBits(shape);
  const total = issued + requested;
  const probability = guessProbability(shape, total);
  const available = space > issued ? space - issued : 0n;
  if (requested > available) {
    return { ok: false, reason: 'code_space_exhausted', space, available, entropyBits: bits, guessProbability: probability };
  }
  if (!allowGuessable && probability > MAX_GUESS_PROBABILITY) {
    return { ok: false, reason: 'code_space_too_small', space, available, entropyBits: bits, guessProbability: probability };
  }
  return { ok: true, space, entropyBits: bits, guessProbability: probability };
}
