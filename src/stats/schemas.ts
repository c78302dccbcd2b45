import { z } from 'zod';
import { budgetUsageSchema } from '../campaigns/schemas.ts';
import { counts, idSchema } from '../shared/fields.ts';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');

/** `GET /v1/campaigns/{id}/stats` query: an inclusive date range (default the last 30 days) in a time zone. */
export const statsQuerySchema = z.strictObject({
  from: day.optional(),
  to: day.optional(),
  timezone: z.string().min(1).max(64).optional(),
});

export type StatsQuery = z.infer<typeof statsQuerySchema>;

const perCurrency = z.record(z.string(), z.number()).describe('Minor units by currency');

export const dayStatsSchema = z.object({
  date: day,
  ...counts('redemptions', 'rolled_back', 'expired'),
  discount: perCurrency,
});

export const campaignStatsSchema = z
  .object({
    campaign_id: idSchema,
    ...counts('generated', 'published', 'redeemed_uses', 'redeemed_codes', 'rolled_back', 'expired', 'active'),
    redemption_rate: z.number().describe('Redeemed codes per generated code'),
    discount_total: perCurrency,
    refusals: z.record(z.string(), z.number().int()).describe('Refused redemptions and reservations of its codes, by reason'),
    budget: budgetUsageSchema.nullable().describe("The campaign budget's use (null: no budget)"),
    range: z.object({ from: day, to: day, timezone: z.string() }),
    redemptions_per_day: z.array(dayStatsSchema),
  })
  .meta({ id: 'CampaignStats' });

export type CampaignStats = z.output<typeof campaignStatsSchema>;
export type DayStats = z.output<typeof dayStatsSchema>;
