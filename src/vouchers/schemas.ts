import { z } from 'zod';
import { CHECKOUT_REASONS, failedRuleSchema } from '../rules/checkout.ts';
import { appliedDiscountSchema, voucherRulesSchema } from '../rules/index.ts';
import { pricedOrderSchema } from '../rules/order-discount.ts';
import { idSchema, metadataInputSchema, metadataSchema, timestampSchema } from '../shared/fields.ts';
import { cursorParam, pageLimit, serialKey } from '../shared/paging.ts';

const customCode = z
  .string()
  .trim()
  .min(1)
  .max(96)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII only, no spaces');

/** POST /v1/vouchers: a standalone voucher with a custom code, or one drawn from the campaign's code config. */
export const createVoucherSchema = z.strictObject({
  campaign_id: z.uuid(),
  code: customCode.optional(),
  active: z.boolean().default(true),
  start_date: z.coerce.date().nullable().optional(),
  expiration_date: z.coerce.date().nullable().optional(),
  rules: voucherRulesSchema.default({}),
  metadata: metadataInputSchema.default({}),
});

/** PATCH /v1/vouchers/{code}: fields given replace the stored ones; `rules` are the voucher's overrides as a whole. */
export const updateVoucherSchema = z
  .strictObject({
    start_date: z.coerce.date().nullable().optional(),
    expiration_date: z.coerce.date().nullable().optional(),
    rules: voucherRulesSchema.optional(),
    metadata: metadataInputSchema.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'give at least one field to change', path: ['(body)'] });

export const listVouchersQuery = z.object({
  campaign_id: z.uuid().optional(),
  /** A JSON object the voucher metadata must contain (jsonb @>), e.g. {"channel":"partner"}. */
  metadata: z
    .string()
    .max(2000)
    .transform((s, ctx) => {
      try {
        const value = JSON.parse(s);
        if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
      } catch {}
      ctx.addIssue({ code: 'custom', message: 'a JSON object' });
      return z.NEVER;
    })
    .optional(),
  active: z.enum(['true', 'false']).optional(),
  status: z.enum(['active', 'expired']).optional(),
  limit: pageLimit(),
  cursor: cursorParam(serialKey).optional(),
});

export const eventsQuery = z.object({
  limit: pageLimit(),
  cursor: cursorParam(serialKey).optional(),
});

export const setActiveSchema = z.strictObject({ reason: z.string().trim().max(500).optional() });

export type CreateVoucherInput = z.infer<typeof createVoucherSchema>;
export type UpdateVoucherInput = z.infer<typeof updateVoucherSchema>;

const voucherExample = {
  code: 'SPRING-7KQ2-M9XD',
  campaign_id: '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11',
  generation_id: '9a1d2c3b-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
  import_id: null,
  status: 'active',
  active: true,
  redemption_count: 0,
  start_date: null,
  expiration_date: '2026-06-30T23:59:59.000Z',
  rules: {},
  holder_customer_id: null,
  metadata: {},
  created_at: '2026-03-01T09:30:00.000Z',
  updated_at: '2026-03-01T09:30:00.000Z',
};

export const voucherViewSchema = z
  .object({
    code: z.string(),
    campaign_id: idSchema,
    generation_id: idSchema.nullable().describe('The bulk generation that made it; null for a standalone voucher'),
    import_id: idSchema.nullable().describe('The import that brought it from elsewhere (POST /v1/campaigns/{id}/imports)'),
    status: z.enum(['active', 'expired']),
    active: z.boolean().describe('false when disabled'),
    redemption_count: z.number().int(),
    start_date: timestampSchema.nullable(),
    expiration_date: timestampSchema.nullable(),
    rules: z.record(z.string(), z.unknown()).describe("Overrides of the campaign's rules"),
    holder_customer_id: z.string().nullable().describe('The customer it was published to'),
    metadata: metadataSchema,
    created_at: timestampSchema,
    updated_at: timestampSchema.nullable().describe('null until first changed (bulk-generated codes)'),
  })
  .meta({ id: 'Voucher', examples: [voucherExample] });

export type VoucherView = z.output<typeof voucherViewSchema>;
export type VoucherEventView = z.output<typeof voucherEventViewSchema>;
export type ValidationView = z.output<typeof validationViewSchema>;

export const VOUCHER_EVENT_TYPES = [
  'created',
  'published',
  'redeemed',
  'rolled_back',
  'disabled',
  'enabled',
  'rules_changed',
  'metadata_changed',
  'expired',
  'imported',
  'deleted',
  'reserved',
  'reservation_released',
  'reservation_expired',
] as const;

export const voucherEventViewSchema = z
  .object({
    id: z.string(),
    type: z.enum(VOUCHER_EVENT_TYPES),
    actor: z.string().nullable().describe('The API key id, or the system job, that caused it'),
    details: z.record(z.string(), z.unknown()),
    created_at: timestampSchema,
  })
  .meta({
    id: 'VoucherEvent',
    examples: [
      {
        id: '812',
        type: 'redeemed',
        actor: '5d0b8c1e-2f3a-4b5c-9d6e-7f8a9b0c1d2e',
        details: { redemption_id: '7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', customer_id: 'cust_42', redemption_count: 1 },
        created_at: '2026-03-01T09:30:00.000Z',
      },
    ],
  });

/**
 * `POST /v1/validations`: valid with the voucher and its redemption state, or not with a reason. Here rather than
 * in redemptions/schemas.ts, which this module imports (the rule schemas) and so cannot import back.
 */
export const validationViewSchema = z
  .discriminatedUnion('valid', [
    z.object({
      valid: z.literal(true),
      code: z.string(),
      discount: appliedDiscountSchema.nullable(),
      order: pricedOrderSchema.optional().describe('The order line by line, when it was given with items'),
      reservation_id: z.string().optional().describe("The customer's own reservation holding this code"),
      voucher: voucherViewSchema.extend({
        redemption: z.object({
          per_code_limit: z.number().int().nullable(),
          redeemed: z.number().int(),
          remaining: z.number().int().nullable(),
        }),
      }),
    }),
    z.object({
      valid: z.literal(false),
      code: z.string(),
      reason: z.enum(CHECKOUT_REASONS),
      rule: failedRuleSchema.optional().describe('The check that failed, for rule_not_met'),
    }),
  ])
  .meta({ id: 'Validation', examples: [{ valid: false, code: 'SPRING-7KQ2-M9XD', reason: 'expired' }] });
