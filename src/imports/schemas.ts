import { z } from 'zod';
import { customerSchema } from '../delivery/schemas.ts';
import { idSchema, metadataInputSchema, timestampSchema } from '../shared/fields.ts';

/** The largest per-code limit and use count a row may carry (the rule language's own bound). */
export const MAX_QUANTITY = 1_000_000_000;

/**
 * One code to import, as a JSON array element (a CSV row is converted to this shape first). Checked row by row: a
 * row that does not fit is rejected with a reason in the error report, the others are imported.
 */
export const importRecordSchema = z.strictObject({
  code: z.string(),
  active: z.boolean().optional(),
  redemption: z
    .strictObject({
      /** The code's own per-code limit (overrides the campaign's); null: unlimited; absent: the campaign's limit. */
      quantity: z.number().int().min(1).max(MAX_QUANTITY).nullable().optional(),
      /** Uses the code already had elsewhere: its redemption_count here. */
      redeemed_quantity: z.number().int().min(0).max(MAX_QUANTITY).optional(),
    })
    .optional(),
  start_date: z.iso.datetime({ offset: true }).nullable().optional(),
  expiration_date: z.iso.datetime({ offset: true }).nullable().optional(),
  metadata: metadataInputSchema.nullable().optional(),
  /** The customer the code was published to: a customer id, or a customer object. */
  holder: z
    .union([z.string().trim().min(1).max(200), customerSchema])
    .nullable()
    .optional(),
});
export type ImportRecord = z.infer<typeof importRecordSchema>;

/** The request body of a JSON import: the codes, one element each (documentation: elements are checked one by one). */
export const importJsonBodySchema = z.array(importRecordSchema);

/** Options of both forms of `POST /v1/campaigns/{id}/imports`, in the query string. */
export const importQuerySchema = z.strictObject({
  /**
   * `campaign` (default): each code must fit the campaign's code_config (charset, length or pattern, prefix,
   * postfix). `any`: codes of any shape (moved from another platform), within the platform's own code rules.
   */
  code_shape: z.enum(['campaign', 'any']).default('campaign'),
});
export type ImportQuery = z.infer<typeof importQuerySchema>;

/** `GET /v1/imports/{id}` and the 202 of `POST /v1/campaigns/{id}/imports`. */
export const importViewSchema = z
  .object({
    id: idSchema,
    campaign_id: idSchema,
    status: z.enum(['queued', 'running', 'completed', 'failed']),
    source: z.enum(['csv', 'json']),
    code_shape: z.enum(['campaign', 'any']),
    progress: z.object({
      received: z.number().int().describe('Rows in the upload (after the CSV header)'),
      imported: z.number().int().describe('Codes written so far'),
      rejected: z.number().int().describe('Rows refused so far (each with its reason in the error report)'),
      percent: z.number().int().describe('Share of the rows processed; 100 once the import has finished'),
    }),
    chunk_size: z.number().int(),
    chunk_count: z.number().int(),
    errors_url: z.string().describe('The per-row error report (CSV), available at any time'),
    error: z.string().nullable().describe('Why it failed'),
    created_at: timestampSchema,
    started_at: timestampSchema.nullable(),
    finished_at: timestampSchema.nullable(),
  })
  .meta({
    id: 'Import',
    examples: [
      {
        id: '6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c',
        campaign_id: '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11',
        status: 'running',
        source: 'csv',
        code_shape: 'any',
        progress: { received: 1000000, imported: 450000, rejected: 12, percent: 45 },
        chunk_size: 50000,
        chunk_count: 20,
        errors_url: '/v1/imports/6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c/errors',
        error: null,
        created_at: '2026-03-01T09:30:00.000Z',
        started_at: '2026-03-01T09:30:01.000Z',
        finished_at: null,
      },
    ],
  });

export type ImportView = z.output<typeof importViewSchema>;
