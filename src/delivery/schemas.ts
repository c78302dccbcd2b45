import { z } from 'zod';

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

export const customerSchema = z.strictObject({
  id: z.string().trim().min(1).max(200),
  email: z.email().max(320).optional(),
  phone: z.string().trim().min(3).max(32).optional(),
  name: z.string().trim().max(200).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type CustomerInput = z.infer<typeof customerSchema>;

export const previewTemplateSchema = z.strictObject({
  customer: customerSchema.partial().optional(),
  voucher: z.strictObject({ code: z.string().trim().min(1).max(96) }).optional(),
});
