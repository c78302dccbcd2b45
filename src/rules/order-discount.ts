import { z } from 'zod';
import { compileItemMatch, itemMatchSchema, type LineMatcher } from './item-match.ts';
import {
  compareRatios,
  currencyMismatch,
  currencySchema,
  minorUnitsSchema,
  mulDivFloor,
  mulMod,
  percentShare,
  type Share,
  shareOf,
} from './minor-units.ts';
import type { NormalizedOrder, OrderLine } from './order.ts';

/**
 * What a discount takes off an order, line by line, in integer minor units. Several discounts apply one after the
 * other, each on what the previous ones left, so no line, and no order, ever goes below zero.
 */

/** The part of the order a discount reduces: the whole order, or the subtotal of the lines that match. */
export const applyToSchema = z.union([z.literal('order'), z.strictObject({ items: z.strictObject({ match: itemMatchSchema }) })]);

const positiveMinorUnits = minorUnitsSchema.refine((v) => v > 0, 'must be positive');

/** Today's shapes (`percent` with max_amount and currency, `amount`) stay valid; `apply_to` defaults to the order. */
export const discountSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('percent'),
    value: z.number().gt(0).max(100),
    max_amount: minorUnitsSchema.optional(),
    currency: currencySchema.optional(),
    apply_to: applyToSchema.optional(),
  }),
  z.strictObject({
    type: z.literal('amount'),
    value: positiveMinorUnits,
    currency: currencySchema,
    apply_to: applyToSchema.optional(),
  }),
  /** The target costs `value` (never more than it did). */
  z.strictObject({
    type: z.literal('fixed_price'),
    value: minorUnitsSchema,
    currency: currencySchema,
    apply_to: applyToSchema.optional(),
  }),
  /** `quantity` units of the matching lines free, the cheapest units first. */
  z.strictObject({
    type: z.literal('unit'),
    quantity: z.number().int().min(1).max(1_000_000_000),
    match: itemMatchSchema,
  }),
]);

export type Discount = z.output<typeof discountSchema>;

export type CompiledDiscount =
  | { type: 'percent'; currency: string | null; target: LineMatcher | null; share: Share; maxAmount: number | null }
  | { type: 'amount' | 'fixed_price'; currency: string; target: LineMatcher | null; value: number }
  | { type: 'unit'; currency: null; target: LineMatcher; quantity: number };

export function compileDiscount(discount: Discount): CompiledDiscount {
  if (discount.type === 'unit')
    return { type: 'unit', currency: null, target: compileItemMatch(discount.match), quantity: discount.quantity };
  const target = discount.apply_to === undefined || discount.apply_to === 'order' ? null : compileItemMatch(discount.apply_to.items.match);
  if (discount.type === 'percent') {
    return {
      type: 'percent',
      currency: discount.currency ?? null,
      target,
      share: percentShare(discount.value),
      maxAmount: discount.max_amount ?? null,
    };
  }
  return { type: discount.type, currency: discount.currency, target, value: discount.value };
}

const line = z.object({
  sku: z.string(),
  quantity: z.number().int(),
  price: z.number().int(),
  amount: z.number().int(),
  discount_amount: z.number().int(),
  total_amount: z.number().int(),
});

/** The order in an answer: what it was, what the codes took off, what is left; lines when the order had them. */
export const pricedOrderSchema = z.object({
  id: z.string().optional(),
  currency: z.string(),
  amount: z.number().int(),
  discount_amount: z.number().int(),
  total_amount: z.number().int(),
  items: z.array(line).optional(),
});

export type PricedOrder = z.infer<typeof pricedOrderSchema>;

/** One order being discounted: what each line (or, without lines, the order) has left after the discounts so far. */
export class OrderPricing {
  readonly order: NormalizedOrder;
  #left: number;
  readonly #lineLeft: number[];
  readonly #lineFreeUnits: number[];
  /** Scratch, reused by every discount: which lines the current one targets, and each line's rounding remainder. */
  readonly #inTarget: Uint8Array;
  readonly #remainders: number[];

  constructor(order: NormalizedOrder) {
    this.order = order;
    this.#left = order.amount;
    this.#lineLeft = order.items ? order.items.map((item) => item.amount) : [];
    const count = this.#lineLeft.length;
    this.#lineFreeUnits = new Array(count).fill(0);
    this.#inTarget = new Uint8Array(count);
    this.#remainders = new Array(count).fill(0);
  }

  /** What is left to pay. */
  get totalAmount(): number {
    return this.#left;
  }

  /** Takes the discount off what is left and returns how much it took (0 when nothing it targets is left). */
  apply(discount: CompiledDiscount): number {
    if (discount.currency !== null && discount.currency !== this.order.currency) {
      throw currencyMismatch(discount.currency, this.order.currency);
    }
    if (discount.type === 'unit') return this.#freeUnits(discount.target, discount.quantity);
    const base = this.#selectTarget(discount.target);
    let amount: number;
    if (discount.type === 'percent') {
      amount = shareOf(base, discount.share);
      if (discount.maxAmount !== null && amount > discount.maxAmount) amount = discount.maxAmount;
    } else if (discount.type === 'amount') {
      amount = discount.value;
    } else {
      amount = base > discount.value ? base - discount.value : 0;
    }
    if (amount > base) amount = base;
    return this.#spread(amount, base);
  }

  result(): PricedOrder {
    const order = this.order;
    const priced: PricedOrder = {
      ...(order.id === null ? {} : { id: order.id }),
      currency: order.currency,
      amount: order.amount,
      discount_amount: order.amount - this.#left,
      total_amount: this.#left,
    };
    if (order.items) {
      priced.items = order.items.map((item, i) => {
        const left = this.#lineLeft[i] as number;
        return {
          sku: item.sku,
          quantity: item.quantity,
          price: item.price,
          amount: item.amount,
          discount_amount: item.amount - left,
          total_amount: left,
        };
      });
    }
    return priced;
  }

  /** Marks the target lines and returns what they have left (the whole order's remainder without lines). */
  #selectTarget(target: LineMatcher | null): number {
    const lines = this.order.items;
    if (!lines) return target === null ? this.#left : 0;
    let base = 0;
    for (let i = 0; i < lines.length; i++) {
      const selected = target === null || target(lines[i] as OrderLine);
      this.#inTarget[i] = selected ? 1 : 0;
      if (selected) base += this.#lineLeft[i] as number;
    }
    return base;
  }

  /**
   * Spreads `amount` over the target lines in proportion to what each has left, rounding down, then hands the
   * remaining units to the lines with the largest remainders (ties to the earlier line): the lines sum exactly
   * to `amount`, and none gets more than it has left.
   */
  #spread(amount: number, base: number): number {
    if (amount === 0) return 0;
    this.#left -= amount;
    if (!this.order.items) return amount;
    const lineLeft = this.#lineLeft;
    const count = lineLeft.length;
    if (amount === base) {
      for (let i = 0; i < count; i++) if (this.#inTarget[i] === 1) lineLeft[i] = 0;
      return amount;
    }
    const remainders = this.#remainders;
    const rounded: number[] = [];
    let given = 0;
    for (let i = 0; i < count; i++) {
      const left = lineLeft[i] as number;
      if (this.#inTarget[i] !== 1 || left === 0) continue;
      const share = mulDivFloor(amount, left, base);
      const remainder = mulMod(amount, left, base);
      lineLeft[i] = left - share;
      given += share;
      if (remainder > 0) {
        remainders[i] = remainder;
        rounded.push(i);
      }
    }
    const extra = amount - given;
    if (extra > 0) {
      rounded.sort((a, b) => (remainders[b] as number) - (remainders[a] as number) || a - b);
      for (let k = 0; k < extra; k++) {
        const i = rounded[k] as number;
        lineLeft[i] = (lineLeft[i] as number) - 1;
      }
    }
    return amount;
  }

  /** Frees `quantity` units of the matching lines, the cheapest (by what a unit has left) first, ties to the earlier line. */
  #freeUnits(target: LineMatcher, quantity: number): number {
    const lines = this.order.items;
    if (!lines) return 0;
    const lineLeft = this.#lineLeft;
    const freeUnits = this.#lineFreeUnits;
    const candidates: number[] = [];
    for (let i = 0; i < lines.length; i++) {
      const item = lines[i] as OrderLine;
      if ((lineLeft[i] as number) > 0 && item.quantity > (freeUnits[i] as number) && target(item)) candidates.push(i);
    }
    const paidUnits = (i: number) => (lines[i] as OrderLine).quantity - (freeUnits[i] as number);
    candidates.sort((a, b) => compareRatios(lineLeft[a] as number, paidUnits(a), lineLeft[b] as number, paidUnits(b)) || a - b);
    let unitsLeft = quantity;
    let taken = 0;
    for (const i of candidates) {
      if (unitsLeft === 0) break;
      const paid = paidUnits(i);
      const units = Math.min(unitsLeft, paid);
      const left = lineLeft[i] as number;
      const amount = units === paid ? left : mulDivFloor(left, units, paid);
      lineLeft[i] = left - amount;
      freeUnits[i] = (freeUnits[i] as number) + units;
      unitsLeft -= units;
      taken += amount;
    }
    this.#left -= taken;
    return taken;
  }
}

/**
 * Gives `by` of a priced order's discount back (a budget that granted less than the code's discount, or refused it):
 * the order's totals, and the lines in proportion to the discount each carries, rounded down with the remaining
 * units to the largest remainders (ties to the earlier line), so the lines still sum exactly to the order and none
 * gives back more than it had. The lines do not record which code discounted what, so the give-back follows the
 * lines' discounts, not that code's own share of them.
 */
export function giveBackDiscount(order: PricedOrder, by: number): void {
  const give = Math.min(by, order.discount_amount);
  if (give <= 0) return;
  order.discount_amount -= give;
  order.total_amount += give;
  const items = order.items;
  if (!items) return;
  const base = items.reduce((sum, item) => sum + item.discount_amount, 0);
  if (base === 0) return;
  const remainders: { i: number; remainder: number }[] = [];
  let given = 0;
  items.forEach((item, i) => {
    const share = mulDivFloor(give, item.discount_amount, base);
    const remainder = mulMod(give, item.discount_amount, base);
    item.discount_amount -= share;
    item.total_amount += share;
    given += share;
    if (remainder > 0) remainders.push({ i, remainder });
  });
  remainders.sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  for (let k = 0; k < give - given; k++) {
    const item = items[(remainders[k] as { i: number }).i] as (typeof items)[number];
    item.discount_amount -= 1;
    item.total_amount += 1;
  }
}
