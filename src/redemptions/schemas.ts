import { z } from 'zod';
import { idSchema, metadataInputSchema, metadataSchema, timestampSchema } from '../shared/fields.ts';
import { cursorParam, pageLimit, serialKey } from '../shared/paging.ts';

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

export const validationRequestSchema = z.strictObject({
  code: codeInput,
  customer: customerSchema.optional(),
  order: orderSchema.optional(),
  metadata: metadataInputSchema.optional(),
});

export const redemptionRequestSchema = z.strictObject({
  code: codeInput,
  customer: customerSchema.optional(),
  order: orderSchema.optional(),
  metadata: metadataInputSchema.default({}),
});

export const rollbackRequestSchema = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
});

export const listRedemptionsQuery = z.object({
  code: z.string().trim().min(1).max(128).optional(),
  customer_id: z.string().trim().min(1).max(255).optional(),
  campaign_id: z.uuid().optional(),
  limit: pageLimit(),
  cursor: cursorParam(serialKey).optional(),
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

/** The discount applied to an order, as validations and redemptions answer it. */
export const appliedDiscountSchema = z.object({
  type: z.enum(['percent', 'amount']),
  value: z.number(),
  max_amount: z.number().int().optional(),
  amount: z.number().int().nullable().describe('The discount on this order in minor units; null for a percent discount without an order'),
  currency: z.string().nullable(),
});

export const redemptionViewSchema = z
  .object({
    id: idSchema,
    status: z.enum(['succeeded', 'rolled_back']),
    code: z.string(),
    campaign_id: idSchema,
    customer: z.object({ id: z.string(), email: z.string().optional() }).nullable(),
    order: z.object({ amount: z.number().int(), currency: z.string().nullable() }).nullable(),
    discount: appliedDiscountSchema.nullable(),
    discount_amount: z.number().int().nullable().describe('Minor units'),
    currency: z.string().nullable(),
    metadata: metadataSchema,
    created_at: timestampSchema,
    rolled_back_at: timestampSchema.nullable(),
    rollback_reason: z.string().nullable(),
  })
  .meta({
    id: 'Redemption',
    examples: [
      {
        id: '7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
        status: 'succeeded',
        code: 'SPRING-7KQ2-M9XD',
        campaign_id: '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11',
        customer: { id: 'cust_42' },
        order: { amount: 5000, currency: 'EUR' },
        discount: { type: 'percent', value: 15, amount: 750, currency: 'EUR' },
        discount_amount: 750,
        currency: 'EUR',
        metadata: {},
        created_at: '2026-03-01T09:30:00.000Z',
        rolled_back_at: null,
        rollback_reason: null,
      },
    ],
  });

export type RedemptionView = z.output<typeof redemptionViewSchema>;

/** A refused redemption, as stored with its idempotency key and answered as a 422 problem. */
export const redemptionRefusalSchema = z.object({ reason: z.enum(REFUSAL_REASONS), detail: z.string() });
