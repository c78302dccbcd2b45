import { z } from 'zod';
import { appliedDiscountSchema, currencySchema, minorUnitsSchema, REFUSAL_REASONS } from '../rules/index.ts';
import { idSchema, metadataInputSchema, metadataSchema, timestampSchema } from '../shared/fields.ts';
import { cursorParam, pageLimit, serialKey } from '../shared/paging.ts';

/** Request schemas for validation and redemption (the rules they are judged by live in src/rules/); exported for the OpenAPI document. */

export const customerSchema = z.strictObject({
  id: z.string().trim().min(1).max(255),
  email: z.email().max(320).optional(),
});

export const orderSchema = z.strictObject({
  amount: minorUnitsSchema,
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
