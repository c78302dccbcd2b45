import { z } from 'zod';
import { compileDiscount, type Discount, OrderPricing } from './order-discount.ts';
import type { Order } from './schema.ts';

/** The discount applied to an order, as the single-code answers (validation, redemption) show it. */
export const appliedDiscountSchema = z.object({
  type: z.enum(['percent', 'amount', 'fixed_price', 'unit']),
  value: z.number().describe('percent: the percentage; amount, fixed_price: minor units; unit: how many units are free'),
  max_amount: z.number().int().optional(),
  amount: z
    .number()
    .int()
    .nullable()
    .describe('The discount on this order in minor units; null without an order (an `amount` discount then shows its value)'),
  currency: z.string().nullable(),
});

export type AppliedDiscount = z.output<typeof appliedDiscountSchema>;

/** A discount as the single-code answers show it, with the amount it takes off (already priced, or null). */
export function appliedDiscount(discount: Discount, amount: number | null, currency: string | null): AppliedDiscount {
  const value = discount.type === 'unit' ? discount.quantity : discount.value;
  return {
    type: discount.type,
    value,
    ...(discount.type === 'percent' && discount.max_amount !== undefined ? { max_amount: discount.max_amount } : {}),
    amount: amount ?? (discount.type === 'amount' ? discount.value : null),
    currency,
  };
}

/**
 * The discount an amount-only order would get (percent rounds down, capped by max_amount; nothing exceeds the
 * order), priced by the same engine as orders with lines. 422 currency_mismatch when the discount names another currency.
 */
export function applyDiscount(discount: Discount | null, order: Order | undefined): AppliedDiscount | null {
  if (!discount) return null;
  const discountCurrency = discount.type === 'unit' ? null : (discount.currency ?? null);
  const currency = order?.currency ?? discountCurrency;
  if (!order) return appliedDiscount(discount, null, currency);
  const pricing = new OrderPricing({
    id: null,
    currency: order.currency,
    amount: order.amount,
    items: null,
    items_quantity: 0,
    metadata: null,
  });
  return appliedDiscount(discount, pricing.apply(compileDiscount(discount)), currency);
}
