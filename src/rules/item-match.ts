import { z } from 'zod';
import type { OrderLine } from './order.ts';

/** Which order lines a rule is about: every given criterion must hold; `{}` matches every line. */

const identifier = z.string().trim().min(1).max(255);
const oneOrMany = z.union([identifier, z.array(identifier).min(1).max(500)]);
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const itemMatchSchema = z.strictObject({
  /** The line's sku, or one of several. */
  sku: oneOrMany.optional(),
  /** The line's product_id, or one of several. */
  product_id: oneOrMany.optional(),
  /** The line has at least one of these categories. */
  categories: z.array(identifier).min(1).max(50).optional(),
  /** Each key of the line's metadata equals the given value. */
  metadata: z.record(z.string(), scalar).optional(),
});

export type ItemMatch = z.output<typeof itemMatchSchema>;
export type LineMatcher = (line: OrderLine) => boolean;

export function compileItemMatch(match: ItemMatch): LineMatcher {
  const tests: LineMatcher[] = [];
  if (match.sku !== undefined) tests.push(oneOf(match.sku, (line) => line.sku));
  if (match.product_id !== undefined) tests.push(oneOf(match.product_id, (line) => line.product_id));
  if (match.categories) {
    const wanted = new Set(match.categories);
    tests.push((line) => line.categories.some((c) => wanted.has(c)));
  }
  if (match.metadata) {
    const entries = Object.entries(match.metadata);
    tests.push((line) => {
      const metadata = line.metadata;
      if (!metadata) return false;
      for (const [key, value] of entries) if (!Object.hasOwn(metadata, key) || metadata[key] !== value) return false;
      return true;
    });
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0] as LineMatcher;
  return (line) => {
    for (const test of tests) if (!test(line)) return false;
    return true;
  };
}

function oneOf(wanted: string | string[], read: (line: OrderLine) => string | null): LineMatcher {
  if (typeof wanted === 'string') return (line) => read(line) === wanted;
  const set = new Set(wanted);
  return (line) => {
    const value = read(line);
    return value !== null && set.has(value);
  };
}
