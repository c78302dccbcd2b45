import { z } from 'zod';
import { rulesSchema, timeZoneSchema } from '../rules/index.ts';

export const metadataSchema = z.record(z.string(), z.unknown());

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

export const createCampaignSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  code_config: codeConfigSchema.default({}),
  allow_guessable: z.boolean().default(false),
  metadata: metadataSchema.default({}),
  active: z.boolean().default(true),
  start_date: z.coerce.date().nullable().default(null),
  expiration_date: z.coerce.date().nullable().default(null),
  timezone: timeZoneSchema.default('UTC'),
  rules: rulesSchema.default({}),
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
    metadata: metadataSchema.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'give at least one field to change', path: ['(body)'] });

export type UpdateCampaignInput = z.infer<typeof updateCampaignSchema>;
