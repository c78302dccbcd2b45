import { z } from 'zod';

/** Request and rule schemas for validation and redemption; exported for the OpenAPI document. */

const limit = z.number().int().positive().max(1_000_000_000).nullable();
const minorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const currencySchema = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'an ISO 4217 currency code')
  .transform((c) => c.toUpperCase());
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM, 00:00 to 24:00');

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

export const discountSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('percent'),
    value: z.number().gt(0).max(100),
    max_amount: minorUnits.optional(),
    currency: currencySchema.optional(),
  }),
  z.strictObject({
    type: z.literal('amount'),
    value: minorUnits.refine((v) => v > 0, 'must be positive'),
    currency: currencySchema,
  }),
]);

export const orderRuleSchema = z.strictObject({
  min_amount: minorUnits,
  currency: currencySchema,
});

/** Rules a campaign sets and a voucher may override key by key (`redemption` limits one by one). */
export const rulesSchema = z.strictObject({
  redemption: redemptionLimitsSchema.optional(),
  validity_windows: z.array(validityWindowSchema).max(50).nullable().optional(),
  order: orderRuleSchema.nullable().optional(),
  discount: discountSchema.nullable().optional(),
  /** Only the customer the code was published to may use it; anyone else is answered as if the code did not exist. */
  holder_only: z.boolean().optional(),
});

export type Rules = z.infer<typeof rulesSchema>;
export type Discount = z.infer<typeof discountSchema>;
export type ValidityWindow = z.infer<typeof validityWindowSchema>;

export const customerSchema = z.strictObject({
  id: z.string().trim().min(1).max(255),
  email: z.email().max(320).optional(),
});

export const orderSchema = z.strictObject({
  amount: minorUnits,
  currency: currencySchema,
});

const codeInput = z.string().trim().min(1).max(128);
const metadataSchema = z.record(z.string(), z.unknown());

export const validationRequestSchema = z.strictObject({
  code: codeInput,
  customer: customerSchema.optional(),
  order: orderSchema.optional(),
  metadata: metadataSchema.optional(),
});

export const redemptionRequestSchema = z.strictObject({
  code: codeInput,
  customer: customerSchema.optional(),
  order: orderSchema.optional(),
  metadata: metadataSchema.default({}),
});

export const rollbackRequestSchema = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
});

export const listRedemptionsQuery = z.object({
  code: z.string().trim().min(1).max(128).optional(),
  customer_id: z.string().trim().min(1).max(255).optional(),
  campaign_id: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(200).optional(),
});

export type ValidationRequest = z.infer<typeof validationRequestSchema>;
export type RedemptionRequest = z.infer<typeof redemptionRequestSchema>;

export const REFUSAL_REASONS = [
  'not_found',
  'not_active_yet',
  'expired',
  'disabled',
  'campaign_inactive',
  'outside_validity_window',
  'quantity_exceeded',
  'customer_limit_exceeded',
  'order_amount_too_low',
  'customer_required',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
