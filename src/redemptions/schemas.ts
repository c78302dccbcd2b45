import { z } from 'zod';
import { currencySchema, minorUnitsSchema } from '../rules/index.ts';

/** Request schemas for validation and redemption (the rules they are judged by live in src/rules/); exported for the OpenAPI document. */

export const customerSchema = z.strictObject({
  id: z.string().trim().min(1).max(255),
  email: z.email().max(320).optional(),
});

export const orderSchema = z.strictObject({
  amount: minorUnitsSchema,
  currency: currencySchema,
});

const codeInput = z.string().trim().min(1).max(128);
const metadataSchema = z.record(z.string(), z.unknown());

export const validationRequestSchema = z.strictObject({
  code: codeInput,
  customer: customerSchema.optional(),
  order: orderSchema.optional(),
  metadata: metadataSchema.optional(),
});

export const redemptionRequestSchema = z.strictObject({
  code: codeInput,
  customer: customerSchema.optional(),
  order: orderSchema.optional(),
  metadata: metadataSchema.default({}),
});

export const rollbackRequestSchema = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
});

export const listRedemptionsQuery = z.object({
  code: z.string().trim().min(1).max(128).optional(),
  customer_id: z.string().trim().min(1).max(255).optional(),
  campaign_id: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(200).optional(),
});

export type ValidationRequest = z.infer<typeof validationRequestSchema>;
export type RedemptionRequest = z.infer<typeof redemptionRequestSchema>;
