import { z } from 'zod';

/** `POST /v1/campaigns/{id}/exports`: which codes to write, and in which format (CSV for now). */
export const createExportSchema = z.strictObject({
  format: z.literal('csv').default('csv'),
  filter: z
    .strictObject({
      status: z.enum(['active', 'expired']).optional(),
      metadata: z.record(z.string(), z.unknown()).optional(),
    })
    .default({}),
});

export type CreateExportInput = z.infer<typeof createExportSchema>;
