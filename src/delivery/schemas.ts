import { z } from 'zod';
import { idSchema, metadataInputSchema, timestampSchema } from '../shared/fields.ts';

export const channelSchema = z.enum(['email', 'sms']);
export const publicationChannelSchema = z.enum(['email', 'sms', 'none']);

export const createTemplateSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  channel: channelSchema,
  subject: z.string().min(1).max(998).optional(),
  html: z.string().min(1).max(500_000).optional(),
  text: z.string().min(1).max(100_000),
});
export type CreateTemplateInput = z.infer<typeof createTemplateSchema>;

/** How a customer is reached and addressed: a customer's fields besides its id, and a recipient's. */
export const contactShape = {
  email: z.email().max(320).optional(),
  phone: z.string().trim().min(3).max(32).optional(),
  name: z.string().trim().max(200).optional(),
  metadata: metadataInputSchema.optional(),
};

export const customerSchema = z.strictObject({ id: z.string().trim().min(1).max(200), ...contactShape });
export type CustomerInput = z.infer<typeof customerSchema>;

export const previewTemplateSchema = z.strictObject({
  customer: customerSchema.partial().optional(),
  voucher: z.strictObject({ code: z.string().trim().min(1).max(96) }).optional(),
});

export const templateViewSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    channel: channelSchema,
    subject: z.string().nullable(),
    html: z.string().nullable(),
    text: z.string(),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  })
  .meta({
    id: 'Template',
    examples: [
      {
        id: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
        name: 'Welcome code',
        channel: 'email',
        subject: 'Your code {{ voucher.code }}',
        html: '<p>Hi {{ customer.name }}, your code is <b>{{ voucher.code }}</b></p>',
        text: 'Hi {{ customer.name }}, your code is {{ voucher.code }}',
        created_at: '2026-03-01T09:30:00.000Z',
        updated_at: '2026-03-01T09:30:00.000Z',
      },
    ],
  });

export const templatePreviewSchema = z.object({
  template_id: idSchema,
  channel: channelSchema,
  subject: z.string().nullable(),
  html: z.string().nullable(),
  text: z.string(),
});

export const deliveryViewSchema = z
  .object({
    id: idSchema,
    channel: channelSchema,
    status: z.enum(['queued', 'sent', 'failed', 'bounced']),
    recipient: z.string(),
    customer_id: z.string().nullable(),
    publication_id: idSchema.nullable(),
    distribution_id: idSchema.nullable(),
    template_id: idSchema,
    provider: z.string().nullable(),
    provider_message_id: z.string().nullable(),
    error: z.string().nullable(),
    attempts: z.number().int(),
    created_at: timestampSchema,
    sent_at: timestampSchema.nullable(),
  })
  .meta({ id: 'Delivery' });
