import { z } from 'zod';

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
});

export type CreateCampaignInput = z.infer<typeof createCampaignSchema>;
