import { z } from 'zod';
import { channelSchema, contactShape } from '../delivery/schemas.ts';
import { counts, idSchema, timestampSchema } from '../shared/fields.ts';

export const MAX_INLINE_RECIPIENTS = 10_000;

export const recipientSchema = z.strictObject({ customer_id: z.string().trim().min(1).max(200).optional(), ...contactShape });
export type RecipientInput = z.infer<typeof recipientSchema>;

export const createDistributionSchema = z.strictObject({
  channel: channelSchema,
  template_id: z.uuid(),
  recipients: z.array(recipientSchema).min(1).max(MAX_INLINE_RECIPIENTS),
});

/** For CSV uploads the channel and template come in the query string. */
export const csvDistributionQuerySchema = z.object({
  channel: channelSchema,
  template_id: z.uuid(),
});

const distributionCounts = z.object({
  ...counts('total', 'published', 'queued', 'sent', 'failed', 'bounced'),
  skipped: z.number().int().describe('Recipients who already had a code of this campaign'),
  invalid: z.number().int().describe('Recipients without a usable address'),
  exhausted: z.number().int().describe('Recipients left without a code: the campaign ran out'),
});

export const distributionViewSchema = z
  .object({
    id: idSchema,
    campaign_id: idSchema,
    channel: channelSchema,
    template_id: idSchema,
    source: z.string().describe('inline or csv'),
    status: z.enum(['receiving', 'queued', 'running', 'delivering', 'completed', 'failed']),
    job_id: z.string().nullable().describe('The BullMQ job that finishes it (see Bull Board)'),
    chunks: z.object({ total: z.number().int(), done: z.number().int() }),
    progress: z.number().min(0).max(1).describe('Share of recipients processed, 0 to 1'),
    counts: distributionCounts,
    ...distributionCounts.shape,
    error: z.string().nullable(),
    created_at: timestampSchema,
    started_at: timestampSchema.nullable(),
    published_at: timestampSchema.nullable(),
  })
  .meta({ id: 'Distribution' });

export type DistributionView = z.output<typeof distributionViewSchema>;
