import { z } from 'zod';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');

/** `GET /v1/campaigns/{id}/stats` query: an inclusive date range (default the last 30 days) in a time zone. */
export const statsQuerySchema = z.strictObject({
  from: day.optional(),
  to: day.optional(),
  timezone: z.string().min(1).max(64).optional(),
});

export type StatsQuery = z.infer<typeof statsQuerySchema>;
