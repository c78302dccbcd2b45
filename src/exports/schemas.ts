import { z } from 'zod';
import { idSchema, metadataInputSchema, timestampSchema } from '../shared/fields.ts';

/** `POST /v1/campaigns/{id}/exports`: which codes to write, and in which format (CSV for now). */
export const createExportSchema = z.strictObject({
  format: z.literal('csv').default('csv'),
  filter: z
    .strictObject({
      status: z.enum(['active', 'expired']).optional(),
      metadata: metadataInputSchema.optional(),
    })
    .default({}),
});

export type CreateExportInput = z.infer<typeof createExportSchema>;

export const exportViewSchema = z
  .object({
    id: idSchema,
    campaign_id: idSchema,
    format: z.literal('csv'),
    filter: z.object({ status: z.enum(['active', 'expired']).optional(), metadata: z.record(z.string(), z.unknown()).optional() }),
    status: z.enum(['queued', 'running', 'completed', 'failed', 'expired']),
    progress: z.object({ exported_rows: z.number().int(), total_rows: z.number().int().nullable(), percent: z.number().int() }),
    file_size: z.number().int().nullable(),
    download_url: z.string().nullable(),
    error: z.string().nullable(),
    created_at: timestampSchema,
    started_at: timestampSchema.nullable(),
    finished_at: timestampSchema.nullable(),
    expires_at: timestampSchema.nullable(),
  })
  .meta({
    id: 'Export',
    examples: [
      {
        id: '3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b',
        campaign_id: '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11',
        format: 'csv',
        filter: { status: 'active' },
        status: 'completed',
        progress: { exported_rows: 1000000, total_rows: 1000000, percent: 100 },
        file_size: 61000000,
        download_url: '/v1/exports/3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b/download',
        error: null,
        created_at: '2026-03-01T09:30:00.000Z',
        started_at: '2026-03-01T09:30:00.000Z',
        finished_at: '2026-03-01T09:31:00.000Z',
        expires_at: '2026-03-08T09:30:00.000Z',
      },
    ],
  });
