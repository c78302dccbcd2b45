import { z } from 'zod';
import { DomainError } from '../shared/errors.ts';

/** Money: a non-negative integer of minor units (cents), never past Number.MAX_SAFE_INTEGER. */
export const minorUnitsSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** An ISO 4217 code, upper-cased: amounts are only ever compared within one currency. */
export const currencySchema = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'an ISO 4217 currency code')
  .transform((c) => c.toUpperCase());

/** An order in another currency than the rule or discount names: refused as a whole, never converted. */
export function currencyMismatch(expected: string, given: string): DomainError {
  return new DomainError('unprocessable', 'currency_mismatch', `The order is in ${given}; this voucher works with ${expected} orders.`, {
    expected_currency: expected,
  });
}

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * floor(a × b / c) for non-negative safe integers (c > 0), exact even when a × b passes 2^53: below it a
 * double holds the product exactly and the division's rounding error is smaller than the quotient's distance
 * to the next integer; above it BigInt takes over.
 */
export function mulDivFloor(a: number, b: number, c: number): number {
  const product = a * b;
  if (product <= MAX) return Math.floor(product / c);
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}

/** (a × b) mod c, exact, for the same inputs as mulDivFloor. */
export function mulMod(a: number, b: number, c: number): number {
  const product = a * b;
  if (product <= MAX) return product % c;
  return Number((BigInt(a) * BigInt(b)) % BigInt(c));
}

/** The sign of a/b − c/d for non-negative safe integers and positive b, d, without rounding. */
export function compareRatios(a: number, b: number, c: number, d: number): number {
  const left = a * d;
  const right = c * b;
  if (left <= MAX && right <= MAX) return left - right;
  const difference = BigInt(a) * BigInt(d) - BigInt(c) * BigInt(b);
  return difference === 0n ? 0 : difference > 0n ? 1 : -1;
}

/** A share of a base amount, as an exact fraction; `percentShare` builds one from a percentage. */
export interface Share {
  numerator: bigint;
  denominator: bigint;
  /** The same fraction as safe integers, or null when either part is too large for the fast path. */
  fast: { numerator: number; denominator: number } | null;
}

/** A percentage as an exact fraction of the base: 12.5 → 125/10000. A number prints its shortest round-trip decimal. */
export function percentShare(percent: number): Share {
  const parts = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(percent));
  if (!parts) throw new Error(`percentage ${percent} is not a finite non-negative number`);
  const fraction = parts[2] ?? '';
  const scale = fraction.length - Number(parts[3] ?? 0);
  let numerator = BigInt(`${parts[1]}${fraction}`);
  let denominator = 100n;
  if (scale >= 0) denominator *= 10n ** BigInt(scale);
  else numerator *= 10n ** BigInt(-scale);
  const safe = (n: bigint) => n <= BigInt(MAX);
  return {
    numerator,
    denominator,
    fast: safe(numerator) && safe(denominator) ? { numerator: Number(numerator), denominator: Number(denominator) } : null,
  };
}

/** floor(base × share), exact. */
export function shareOf(base: number, share: Share): number {
  if (share.fast) return mulDivFloor(base, share.fast.numerator, share.fast.denominator);
  return Number((BigInt(base) * share.numerator) / share.denominator);
}
