import { z } from 'zod';
import { customerSchema, publicationChannelSchema } from '../delivery/schemas.ts';
import { idSchema, timestampSchema } from '../shared/fields.ts';

export const createPublicationSchema = z.strictObject({
  campaign_id: z.string().min(1).max(100),
  customer: customerSchema,
  source_id: z.string().trim().min(1).max(255).optional(),
  channel: publicationChannelSchema.default('none'),
  template_id: z.uuid().optional(),
});
export type CreatePublicationInput = z.infer<typeof createPublicationSchema>;

export const publishingSettingsSchema = z.strictObject({
  join_once: z.boolean().optional(),
  generate_on_demand: z.boolean().optional(),
});

export const publicationViewSchema = z
  .object({
    id: idSchema,
    campaign_id: idSchema,
    code: z.string(),
    voucher: z.object({ code: z.string() }),
    customer_id: z.string(),
    source_id: z.string().nullable(),
    channel: publicationChannelSchema,
    template_id: idSchema.nullable(),
    distribution_id: idSchema.nullable(),
    delivery: z.object({ id: idSchema, status: z.string() }).nullable().describe('The message sending the code, if any'),
    created_at: timestampSchema,
  })
  .meta({
    id: 'Publication',
    examples: [
      {
        id: '4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a',
        campaign_id: '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11',
        code: 'SPRING-7KQ2-M9XD',
        voucher: { code: 'SPRING-7KQ2-M9XD' },
        customer_id: 'cust_42',
        source_id: 'signup-42',
        channel: 'email',
        template_id: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
        distribution_id: null,
        delivery: { id: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b', status: 'queued' },
        created_at: '2026-03-01T09:30:00.000Z',
      },
    ],
  });

export const publishingSettingsViewSchema = z.object({
  campaign_id: idSchema,
  join_once: z.boolean().describe('A customer gets one code of this campaign, however often asked'),
  generate_on_demand: z.boolean().describe('Draw a new code when no unassigned one is left'),
});

export type PublicationView = z.output<typeof publicationViewSchema>;
