import { z } from 'zod';

export const createGenerationSchema = z.strictObject({
  count: z.number().int().positive().max(50_000_000),
});
