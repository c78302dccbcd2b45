import { budgetUsage } from '../campaigns/budgets.ts';
import type { Queryable } from '../db/sql.ts';
import { isTimeZone } from '../rules/index.ts';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import { refusalsByReason } from './refusals.ts';
import { HOURLY_WITH_PENDING } from './rollup.ts';
import type { CampaignStats, DayStats } from './schemas.ts';

export type { CampaignStats, DayStats };

export interface StatsRange {
  from?: string;
  to?: string;
  timezone?: string;
}

const MAX_RANGE_DAYS = 366;

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(at: Date, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/**
 * A campaign's counters, read from the hourly rollup plus its pending deltas (both indexed by campaign): the cost
 * depends on the campaign's age in hours, never on its number of codes or redemptions.
 */
export async function getCampaignStats(db: Queryable, campaignId: string, now: Date, range: StatsRange = {}): Promise<CampaignStats> {
  const campaign = (
    await db.query<{ id: string; issued_count: string; timezone: string }>(
      'select id, issued_count, timezone from campaigns where id = $1',
      [campaignId],
    )
  ).rows[0];
  if (!campaign) throw new NotFoundError('campaign', campaignId);
  const timezone = range.timezone ?? campaign.timezone ?? 'UTC';
  if (!isTimeZone(timezone)) throw new ValidationError([{ field: 'timezone', message: 'is not an IANA time zone' }]);
  const to = range.to ?? localDate(now, timezone);
  const from = range.from ?? addDays(to, -29);
  const span = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  if (span < 0) throw new ValidationError([{ field: 'from', message: 'must not be after to' }]);
  if (span >= MAX_RANGE_DAYS) throw new ValidationError([{ field: 'from', message: `the range is at most ${MAX_RANGE_DAYS} days` }]);

  const { rows: totals } = await db.query<{
    currency: string;
    published: string;
    redeemed: string;
    redeemed_codes: string;
    rolled_back: string;
    expired: string;
    discount: string;
  }>(
    `select currency, sum(published) as published, sum(redeemed) as redeemed, sum(redeemed_codes) as redeemed_codes,
            sum(rolled_back) as rolled_back, sum(expired) as expired, sum(discount) as discount
     from ${HOURLY_WITH_PENDING} s where campaign_id = $1 group by currency`,
    [campaignId],
  );
  const sum = (field: keyof (typeof totals)[number]) => totals.reduce((acc, row) => acc + Number(row[field]), 0);
  const discountTotal: Record<string, number> = {};
  for (const row of totals) if (row.currency && Number(row.discount) !== 0) discountTotal[row.currency] = Number(row.discount);

  const { rows: days } = await db.query<{
    day: string;
    currency: string;
    redeemed: string;
    rolled_back: string;
    expired: string;
    discount: string;
  }>(
    `select to_char((hour at time zone $2)::date, 'YYYY-MM-DD') as day, currency, sum(redeemed) as redeemed,
            sum(rolled_back) as rolled_back, sum(expired) as expired, sum(discount) as discount
     from ${HOURLY_WITH_PENDING} s
     where campaign_id = $1 and hour >= ($3::date)::timestamp at time zone $2 and hour < ($4::date + 1)::timestamp at time zone $2
     group by 1, 2`,
    [campaignId, timezone, from, to],
  );
  const byDay = new Map<string, DayStats>();
  for (let d = from; d <= to; d = addDays(d, 1)) byDay.set(d, { date: d, redemptions: 0, rolled_back: 0, expired: 0, discount: {} });
  for (const row of days) {
    const day = byDay.get(row.day);
    if (!day) continue;
    day.redemptions += Number(row.redeemed);
    day.rolled_back += Number(row.rolled_back);
    day.expired += Number(row.expired);
    if (row.currency && Number(row.discount) !== 0) day.discount[row.currency] = (day.discount[row.currency] ?? 0) + Number(row.discount);
  }

  const budget = (await budgetUsage(db, [campaign.id])).get(campaign.id) ?? null;
  const refusals = await refusalsByReason(db, campaign.id);
  const generated = Number(campaign.issued_count);
  const expired = sum('expired');
  const redeemedCodes = sum('redeemed_codes');
  return {
    campaign_id: campaign.id,
    generated,
    published: sum('published'),
    redeemed_uses: sum('redeemed'),
    redeemed_codes: redeemedCodes,
    rolled_back: sum('rolled_back'),
    expired,
    active: Math.max(0, generated - expired),
    redemption_rate: generated > 0 ? Math.round((redeemedCodes / generated) * 1e6) / 1e6 : 0,
    discount_total: discountTotal,
    budget,
    refusals,
    range: { from, to, timezone },
    redemptions_per_day: [...byDay.values()],
  };
}
