import { z } from 'zod';
import { customerSchema, publicationChannelSchema } from '../delivery/schemas.ts';

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
