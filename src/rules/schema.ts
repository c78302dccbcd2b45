import { z } from 'zod';
import { checksSchema } from './conditions.ts';
import { currencySchema, minorUnitsSchema } from './minor-units.ts';
import { discountSchema } from './order-discount.ts';
import { stackingSchema } from './stacking.ts';
import { isTimeZone } from './time-zone.ts';

export { type Discount, discountSchema } from './order-discount.ts';

/** The rule language as campaigns set it and vouchers override it, key by key (`redemption` limit by limit). */

const limit = z.number().int().positive().max(1_000_000_000).nullable();
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM, 00:00 to 24:00');
export const timeZoneSchema = z.string().refine(isTimeZone, 'an IANA time zone name such as Europe/Berlin');

export const redemptionLimitsSchema = z.strictObject({
  /** How many times one code can be redeemed; default 1, null = unlimited. */
  per_code_limit: limit.optional(),
  /** How many times one customer can redeem one code; null = unlimited. */
  per_customer_limit: limit.optional(),
  /** How many redemptions one customer can make across the whole campaign; null = unlimited. */
  per_customer_campaign_limit: limit.optional(),
});

/** Days are ISO weekdays (1 = Monday … 7 = Sunday); times are local to the campaign time zone, end exclusive. */
export const validityWindowSchema = z
  .strictObject({
    days_of_week: z.array(z.number().int().min(1).max(7)).min(1).max(7).optional(),
    start_time: timeOfDay.optional(),
    end_time: timeOfDay.optional(),
  })
  .refine((w) => !(w.start_time && w.end_time && w.start_time === w.end_time), {
    message: 'start_time and end_time must differ',
    path: ['end_time'],
  });

export const orderRuleSchema = z.strictObject({
  min_amount: minorUnitsSchema,
  currency: currencySchema,
});

/** Rules a campaign sets and a voucher may override key by key (`redemption` limits one by one). */
export const rulesSchema = z.strictObject({
  redemption: redemptionLimitsSchema.optional(),
  validity_windows: z.array(validityWindowSchema).max(50).nullable().optional(),
  order: orderRuleSchema.nullable().optional(),
  /** Named checks, every one of which must hold (rules.md); a voucher's list replaces the campaign's. */
  conditions: checksSchema.nullable().optional(),
  discount: discountSchema.nullable().optional(),
  /** How the campaign's codes combine with others in one order; read from the campaign only. */
  stacking: stackingSchema.nullable().optional(),
  /** Only the customer the code was published to may use it; anyone else is answered as if the code did not exist. */
  holder_only: z.boolean().optional(),
});

/** A voucher's overrides: every key but `stacking`, which belongs to the campaign. */
export const voucherRulesSchema = rulesSchema.omit({ stacking: true });

export type Rules = z.infer<typeof rulesSchema>;
export type ValidityWindow = z.infer<typeof validityWindowSchema>;
/** An order as a checkout describes it: an amount in minor units and its currency. */
export interface Order {
  amount: number;
  currency: string;
}
