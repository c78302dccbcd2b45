import { z } from 'zod';
import { idSchema, timestampSchema } from '../shared/fields.ts';

export const createGenerationSchema = z.strictObject({
  count: z.number().int().positive().max(50_000_000),
});

export const GENERATION_STATUSES = ['queued', 'running', 'completed', 'failed', 'exhausted'] as const;

export const generationViewSchema = z
  .object({
    id: idSchema,
    campaign_id: idSchema,
    status: z.enum(GENERATION_STATUSES),
    requested: z.number().int(),
    generated: z.number().int(),
    progress: z.number().int().min(0).max(100).describe('Percent of the requested codes written'),
    collisions: z.number().int().describe('Codes that collided with existing ones and were drawn again'),
    chunk_size: z.number().int(),
    chunk_count: z.number().int(),
    entropy_bits: z.number(),
    guess_probability: z.number().describe('Chance that one random guess hits an issued code'),
    created_at: timestampSchema,
    started_at: timestampSchema.nullable(),
    finished_at: timestampSchema.nullable(),
    error: z.string().optional().describe('Why it failed'),
  })
  .meta({
    id: 'Generation',
    examples: [
      {
        id: '9a1d2c3b-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
        campaign_id: '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11',
        status: 'running',
        requested: 1000000,
        generated: 350000,
        progress: 35,
        collisions: 0,
        chunk_size: 50000,
        chunk_count: 20,
        entropy_bits: 40,
        guess_probability: 9.1e-7,
        created_at: '2026-03-01T09:30:00.000Z',
        started_at: '2026-03-01T09:30:00.000Z',
        finished_at: null,
      },
    ],
  });

export type GenerationView = z.output<typeof generationViewSchema>;
