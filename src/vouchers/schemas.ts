import { z } from 'zod';
import { rulesSchema } from '../rules/index.ts';

const metadataSchema = z.record(z.string(), z.unknown());
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
  rules: rulesSchema.default({}),
  metadata: metadataSchema.default({}),
});

/** PATCH /v1/vouchers/{code}: fields given replace the stored ones; `rules` are the voucher's overrides as a whole. */
export const updateVoucherSchema = z
  .strictObject({
    start_date: z.coerce.date().nullable().optional(),
    expiration_date: z.coerce.date().nullable().optional(),
    rules: rulesSchema.optional(),
    metadata: metadataSchema.optional(),
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
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(200).optional(),
});

export const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(200).optional(),
});

export const setActiveSchema = z.strictObject({ reason: z.string().trim().max(500).optional() });

export type CreateVoucherInput = z.infer<typeof createVoucherSchema>;
export type UpdateVoucherInput = z.infer<typeof updateVoucherSchema>;
