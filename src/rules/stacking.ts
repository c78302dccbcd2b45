import { z } from 'zod';

/**
 * How a campaign's codes combine with other codes in one order. Codes rank by priority (higher first), then by
 * their place in the request; walking that ranking, a code applies unless it cannot combine with one already
 * applied: an exclusive code combines with nothing, and two codes of one exclusive_group never combine.
 */

export const stackingSchema = z.strictObject({
  /** Combines with no other code. */
  exclusive: z.boolean().optional(),
  /** Higher applies first, and wins a conflict; default 0. */
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  /** Codes of one group never combine with each other ("never two percentage codes"). */
  exclusive_group: z.string().trim().min(1).max(100).optional(),
});

export type StackingInput = z.output<typeof stackingSchema>;

export interface Stacking {
  exclusive: boolean;
  priority: number;
  exclusiveGroup: string | null;
}

export const DEFAULT_STACKING: Stacking = Object.freeze({ exclusive: false, priority: 0, exclusiveGroup: null });

export function stackingOf(input: StackingInput | null | undefined): Stacking {
  if (!input) return DEFAULT_STACKING;
  return { exclusive: input.exclusive ?? false, priority: input.priority ?? 0, exclusiveGroup: input.exclusive_group ?? null };
}

/**
 * Of the codes given (in request order, each with its stacking), the indices that apply, in the order their
 * discounts apply, and those that do not combine with them.
 */
export function resolveStacking(codes: readonly Stacking[]): { applied: number[]; notCombinable: number[] } {
  const ranked = codes.map((_, i) => i).sort((a, b) => (codes[b] as Stacking).priority - (codes[a] as Stacking).priority || a - b);
  const applied: number[] = [];
  const notCombinable: number[] = [];
  let exclusiveApplied = false;
  const groups = new Set<string>();
  for (const i of ranked) {
    const stacking = codes[i] as Stacking;
    const conflicts =
      exclusiveApplied ||
      (stacking.exclusive && applied.length > 0) ||
      (stacking.exclusiveGroup !== null && groups.has(stacking.exclusiveGroup));
    if (conflicts) {
      notCombinable.push(i);
      continue;
    }
    applied.push(i);
    if (stacking.exclusive) exclusiveApplied = true;
    if (stacking.exclusiveGroup !== null) groups.add(stacking.exclusiveGroup);
  }
  return { applied, notCombinable };
}
