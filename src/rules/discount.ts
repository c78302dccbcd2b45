import { z } from 'zod';
import { DomainError } from '../shared/errors.ts';
import type { Discount, Order } from './schema.ts';

/** The discount applied to an order, as validations and redemptions answer it. */
export const appliedDiscountSchema = z.object({
  type: z.enum(['percent', 'amount']),
  value: z.number(),
  max_amount: z.number().int().optional(),
  amount: z.number().int().nullable().describe('The discount on this order in minor units; null for a percent discount without an order'),
  currency: z.string().nullable(),
});

export type AppliedDiscount = z.output<typeof appliedDiscountSchema>;

/** An order in another currency than the rule or discount names: refused as a whole, never converted. */
export function currencyMismatch(expected: string, given: string): DomainError {
  return new DomainError('unprocessable', 'currency_mismatch', `The order is in ${given}; this voucher works with ${expected} orders.`, {
    expected_currency: expected,
  });
}

/** The discount an order would get: percent rounds down, is capped by max_amount, and never exceeds the order. */
export function applyDiscount(discount: Discount | null, order: Order | undefined): AppliedDiscount | null {
  if (!discount) return null;
  if (discount.currency && order && order.currency !== discount.currency) throw currencyMismatch(discount.currency, order.currency);
  const currency = order?.currency ?? discount.currency ?? null;
  if (discount.type === 'amount') {
    return { type: 'amount', value: discount.value, amount: order ? Math.min(discount.value, order.amount) : discount.value, currency };
  }
  let amount: number | null = null;
  if (order) {
    amount = Math.floor((order.amount * discount.value) / 100);
    if (discount.max_amount !== undefined) amount = Math.min(amount, discount.max_amount);
    amount = Math.min(amount, order.amount);
  }
  return {
    type: 'percent',
    value: discount.value,
    ...(discount.max_amount !== undefined ? { max_amount: discount.max_amount } : {}),
    amount,
    currency,
  };
}
