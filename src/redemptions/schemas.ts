import { z } from 'zod';
import { CHECKOUT_REASONS, codeListSchema, codeResultSchema, failedRuleSchema } from '../rules/checkout.ts';
import { appliedDiscountSchema } from '../rules/index.ts';
import { orderInputSchema } from '../rules/order.ts';
import { pricedOrderSchema } from '../rules/order-discount.ts';
import { idSchema, metadataInputSchema, metadataSchema, timestampSchema } from '../shared/fields.ts';
import { cursorParam, pageLimit, serialKey } from '../shared/paging.ts';

/** Request schemas for validation and redemption (the rules they are judged by live in src/rules/); exported for the OpenAPI document. */

/** The shopper: conditions see the stored customer's metadata (PUT /v1/customers/{id}) with this `metadata` laid over it. */
export const customerSchema = z.strictObject({
  id: z.string().trim().min(1).max(255),
  email: z.email().max(320).optional(),
  metadata: metadataInputSchema.optional(),
});

const codeInput = z.string().trim().min(1).max(128);

/** One code (`code`, answered in the single-code shape) or 1 to 5 (`codes`, answered in the checkout shape): exactly one of them. */
function oneCodeForm<T extends { code?: string; codes?: string[] }>(request: T, ctx: z.RefinementCtx): void {
  if ((request.code === undefined) === (request.codes === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: 'give either code or codes (1 to 5), not both',
      path: [request.code === undefined ? 'code' : 'codes'],
    });
  }
}

const checkoutFields = {
  code: codeInput.optional().describe('One code; the answer has the single-code shape'),
  codes: codeListSchema.optional().describe('1 to 5 codes for one order, distinct once normalized; the answer has the checkout shape'),
  customer: customerSchema.optional(),
  order: orderInputSchema.optional(),
};

export const validationRequestSchema = z
  .strictObject({ ...checkoutFields, metadata: metadataInputSchema.optional() })
  .superRefine(oneCodeForm)
  .meta({ id: 'ValidationRequest' });

export const redemptionRequestSchema = z
  .strictObject({
    ...checkoutFields,
    /** With several codes: `all` redeems every code or none (422 with each code's reason); `partial` the valid ones. */
    mode: z.enum(['all', 'partial']).optional(),
    metadata: metadataInputSchema.default({}),
  })
  .superRefine((request, ctx) => {
    oneCodeForm(request, ctx);
    if (request.mode !== undefined && request.codes === undefined) {
      ctx.addIssue({ code: 'custom', message: 'mode goes with codes', path: ['mode'] });
    }
  })
  .meta({ id: 'RedemptionRequest' });

export const rollbackRequestSchema = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
});

export const listRedemptionsQuery = z.object({
  code: z.string().trim().min(1).max(128).optional(),
  customer_id: z.string().trim().min(1).max(255).optional(),
  campaign_id: z.uuid().optional(),
  /** `failed`: the refused redemptions and reservations, code by code (FailedRedemption), filterable by `reason`. */
  status: z.enum(['succeeded', 'rolled_back', 'failed']).optional(),
  reason: z.enum(CHECKOUT_REASONS).optional().describe('With status=failed'),
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
    order: z.object({ id: z.string().optional(), amount: z.number().int(), currency: z.string().nullable() }).nullable(),
    group_id: idSchema.optional().describe('The redemption group, when the code was redeemed with `codes`'),
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

/**
 * A refused redemption, as stored with its idempotency key and answered as a 422 problem: the (first) reason, the
 * failed check for rule_not_met, and with `codes`, each code's own answer.
 */
export const redemptionRefusalSchema = z.object({
  reason: z.enum(CHECKOUT_REASONS),
  detail: z.string(),
  rule: failedRuleSchema.optional(),
  codes: z.array(codeResultSchema).optional(),
});

export type RedemptionRefusal = z.output<typeof redemptionRefusalSchema>;

/** Several codes redeemed in one transaction (`codes` in POST /v1/redemptions); rolled back together, once. */
export const redemptionGroupViewSchema = z
  .object({
    id: idSchema,
    status: z.enum(['succeeded', 'rolled_back']),
    mode: z.enum(['all', 'partial']),
    valid: z.boolean().describe('Every code was redeemed'),
    codes: z.array(codeResultSchema).describe('Each code of the request, in request order'),
    redemptions: z.array(redemptionViewSchema).describe('One per redeemed code, in request order'),
    order: pricedOrderSchema.nullable(),
    customer: z.object({ id: z.string(), email: z.string().optional() }).nullable(),
    metadata: metadataSchema,
    created_at: timestampSchema,
    rolled_back_at: timestampSchema.nullable(),
    rollback_reason: z.string().nullable(),
  })
  .meta({
    id: 'RedemptionGroup',
    examples: [
      {
        id: '3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a',
        status: 'succeeded',
        mode: 'all',
        valid: true,
        codes: [
          { code: 'WELCOME10', valid: true, discount_amount: 790 },
          { code: 'SHIPFREE', valid: true, discount_amount: 490 },
        ],
        redemptions: [],
        order: { id: 'order-2002', currency: 'EUR', amount: 8390, discount_amount: 1280, total_amount: 7110 },
        customer: { id: 'cust-77' },
        metadata: {},
        created_at: '2026-03-01T09:30:00.000Z',
        rolled_back_at: null,
        rollback_reason: null,
      },
    ],
  });

export type RedemptionGroupView = z.output<typeof redemptionGroupViewSchema>;

/** What redeeming (or rolling back) answers: one redemption (`code`), or the group (`codes`, or a group id). */
export const redemptionOrGroupSchema = z.union([redemptionViewSchema, redemptionGroupViewSchema]);
