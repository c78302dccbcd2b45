import { z } from 'zod';
import { idSchema, metadataInputSchema, metadataSchema, timestampSchema } from '../shared/fields.ts';
import { cursorParam, pageLimit } from '../shared/paging.ts';

/** PUT /v1/customers/{id}: the customer as a whole (fields left out are cleared). */
export const putCustomerSchema = z
  .strictObject({
    email: z.email().max(320).nullable().optional(),
    phone: z.string().trim().min(3).max(32).nullable().optional(),
    name: z.string().trim().max(200).nullable().optional(),
    metadata: metadataInputSchema.default({}),
  })
  .meta({ id: 'CustomerRequest', examples: [{ email: 'ada@example.com', name: 'Ada', metadata: { tier: 'gold' } }] });

export type PutCustomerInput = z.output<typeof putCustomerSchema>;

export const listCustomersQuery = z.object({
  email: z.string().trim().min(1).max(320).optional().describe('Only the customers with this email (case-insensitive)'),
  limit: pageLimit(),
  cursor: cursorParam(z.tuple([z.string()])).optional(),
});

const customerFields = {
  id: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  name: z.string().nullable(),
  metadata: metadataSchema.describe('Conditions read it as customer.metadata.<key>, under what a request sends'),
  created_at: timestampSchema,
  updated_at: timestampSchema,
};

export const customerViewSchema = z.object(customerFields).meta({ id: 'Customer' });

export const customerDetailViewSchema = z
  .object({
    ...customerFields,
    publications: z
      .array(
        z.object({
          id: idSchema,
          campaign_id: idSchema,
          code: z.string(),
          channel: z.string(),
          created_at: timestampSchema,
        }),
      )
      .describe('The codes published to the customer, newest first (at most 100)'),
    redemptions: z.object({
      succeeded: z.number().int(),
      rolled_back: z.number().int(),
    }),
  })
  .meta({
    id: 'CustomerDetail',
    examples: [
      {
        id: 'cust-42',
        email: 'ada@example.com',
        phone: null,
        name: 'Ada',
        metadata: { tier: 'gold' },
        created_at: '2026-03-01T09:30:00.000Z',
        updated_at: '2026-03-01T09:30:00.000Z',
        publications: [],
        redemptions: { succeeded: 2, rolled_back: 0 },
      },
    ],
  });

export type CustomerView = z.output<typeof customerViewSchema>;
export type CustomerDetailView = z.output<typeof customerDetailViewSchema>;
