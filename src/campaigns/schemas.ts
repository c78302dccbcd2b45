import { z } from 'zod';
import { customerIdentitySchema } from '../customers/identity.ts';
import { rulesSchema, timeZoneSchema } from '../rules/index.ts';
import { currencySchema, minorUnitsSchema } from '../rules/minor-units.ts';
import { idSchema, metadataInputSchema, metadataSchema, timestampSchema } from '../shared/fields.ts';
import { cursorParam, pageLimit, serialKey } from '../shared/paging.ts';

export const codeConfigSchema = z
  .strictObject({
    length: z.number().int().min(1).max(64).optional(),
    charset: z.string().min(1).max(256).optional(),
    prefix: z.string().max(32).optional(),
    postfix: z.string().max(32).optional(),
    pattern: z
      .string()
      .min(1)
      .max(64)
      .refine((p) => p.includes('#'), 'must contain at least one # (a random character)')
      .optional(),
  })
  .refine((c) => !(c.length !== undefined && c.pattern !== undefined), {
    message: 'give either length or pattern, not both',
    path: ['length'],
  });

/** Campaign budgets (src/campaigns/budgets.ts). */
const cap = minorUnitsSchema.refine((n) => n > 0, 'must be positive');

export const budgetSchema = z
  .strictObject({
    max_redemptions: z.number().int().positive().max(1_000_000_000).nullable().optional(),
    max_discount_amount: cap.nullable().optional().describe('Minor units of `currency`'),
    currency: currencySchema.nullable().optional(),
    max_discount_per_customer: cap.nullable().optional().describe('Minor units of `currency`, per customer id'),
    /** A redemption whose discount would cross the remaining budget gets exactly the remainder instead of a refusal. */
    allow_partial: z.boolean().optional(),
  })
  .superRefine((b, ctx) => {
    const amounts = b.max_discount_amount != null || b.max_discount_per_customer != null;
    if (amounts && !b.currency) ctx.addIssue({ code: 'custom', message: 'a discount budget needs its currency', path: ['currency'] });
    if (b.max_redemptions == null && !amounts) {
      ctx.addIssue({ code: 'custom', message: 'give max_redemptions, max_discount_amount or max_discount_per_customer', path: [] });
    }
  })
  .meta({ id: 'CampaignBudget' });

export type Budget = z.output<typeof budgetSchema>;

export const budgetUsageSchema = z
  .object({
    used_redemptions: z.number().int(),
    remaining_redemptions: z.number().int().nullable().describe('null: no cap on redemptions'),
    used_discount_amount: z.number().int().describe('Minor units'),
    remaining_discount_amount: z.number().int().nullable().describe('null: no cap on the discount'),
    currency: z.string().nullable(),
    exhausted: z.boolean(),
    exhausted_at: z.string().nullable(),
  })
  .meta({ id: 'CampaignBudgetUsage' });

export type BudgetUsage = z.output<typeof budgetUsageSchema>;

export const createCampaignSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  code_config: codeConfigSchema.default({}),
  allow_guessable: z.boolean().default(false),
  metadata: metadataInputSchema.default({}),
  active: z.boolean().default(true),
  start_date: z.coerce.date().nullable().default(null),
  expiration_date: z.coerce.date().nullable().default(null),
  timezone: timeZoneSchema.default('UTC'),
  rules: rulesSchema.default({}),
  budget: budgetSchema.nullable().optional(),
  customer_identity: customerIdentitySchema.default('id'),
});

export type CreateCampaignInput = z.infer<typeof createCampaignSchema>;

/** PATCH /v1/campaigns/{id}: fields given replace the stored ones (`rules` as a whole). */
export const updateCampaignSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    active: z.boolean().optional(),
    start_date: z.coerce.date().nullable().optional(),
    expiration_date: z.coerce.date().nullable().optional(),
    timezone: timeZoneSchema.optional(),
    rules: rulesSchema.optional(),
    /** The whole budget (null removes it); what it has used stays counted. */
    budget: budgetSchema.nullable().optional(),
    customer_identity: customerIdentitySchema.optional(),
    metadata: metadataInputSchema.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'give at least one field to change', path: ['(body)'] });

export type UpdateCampaignInput = z.infer<typeof updateCampaignSchema>;

export const campaignViewSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    code_config: z.record(z.string(), z.unknown()).describe('The code config as given'),
    code_template: z.string().describe('The resolved pattern, # = one random character'),
    charset: z.string().describe('The alphabet random characters are drawn from'),
    allow_guessable: z.boolean(),
    active: z.boolean(),
    status: z.enum(['active', 'expired']),
    start_date: timestampSchema.nullable(),
    expiration_date: timestampSchema.nullable(),
    timezone: z.string(),
    rules: z.record(z.string(), z.unknown()).describe('Redemption rules (see the create request)'),
    issued_count: z.number().int(),
    budget: budgetSchema.nullable().describe('Caps on redemptions and discount (null: none)'),
    budget_usage: budgetUsageSchema.nullable().describe('What the budget has used and has left'),
    customer_identity: customerIdentitySchema,
    metadata: metadataSchema,
    created_at: timestampSchema,
    updated_at: timestampSchema,
  })
  .meta({
    id: 'Campaign',
    examples: [
      {
        id: '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11',
        name: 'Spring sale',
        code_config: { pattern: 'SPRING-####-####' },
        code_template: 'SPRING-####-####',
        charset: 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789',
        allow_guessable: false,
        active: true,
        status: 'active',
        start_date: null,
        expiration_date: '2026-06-30T23:59:59.000Z',
        timezone: 'UTC',
        rules: { discount: { type: 'percent', value: 15 } },
        issued_count: 1000000,
        budget: { max_discount_amount: 1000000, currency: 'EUR' },
        budget_usage: {
          used_redemptions: 412,
          remaining_redemptions: null,
          used_discount_amount: 412000,
          remaining_discount_amount: 588000,
          currency: 'EUR',
          exhausted: false,
          exhausted_at: null,
        },
        customer_identity: 'id',
        metadata: { channel: 'newsletter' },
        created_at: '2026-03-01T09:30:00.000Z',
        updated_at: '2026-03-01T09:30:00.000Z',
      },
    ],
  });

export type CampaignView = z.output<typeof campaignViewSchema>;

/** `GET /v1/campaigns`: newest first. */
export const listCampaignsQuery = z.object({
  limit: pageLimit(),
  cursor: cursorParam(z.tuple([timestampSchema, idSchema])).optional(),
});

/** `GET /v1/campaigns/{id}/vouchers`: in insertion order. */
export const campaignVouchersQuery = z.object({ limit: pageLimit(), cursor: cursorParam(serialKey).optional() });
