import type { Queryable } from '../db/sql.ts';
import { TOTALS_WITH_PENDING } from '../stats/rollup.ts';

/** What an operator calls a campaign's state: expired wins, then disabled, then not started yet, else active. */
export const CAMPAIGN_STATES = ['active', 'scheduled', 'disabled', 'expired'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

export function campaignState(
  c: { status: string; active: boolean; start_date: string | Date | null; expiration_date: string | Date | null },
  now: Date,
): CampaignState {
  if (c.status === 'expired' || (c.expiration_date && new Date(c.expiration_date) <= now)) return 'expired';
  if (!c.active) return 'disabled';
  if (c.start_date && new Date(c.start_date) > now) return 'scheduled';
  return 'active';
}

/** The same states as SQL conditions on `campaigns c` ($1 = now), for the list's filter. */
const STATE_SQL: Record<CampaignState, string> = {
  expired: `(c.status = 'expired' or c.expiration_date <= $1)`,
  disabled: `(c.status <> 'expired' and (c.expiration_date is null or c.expiration_date > $1) and not c.active)`,
  scheduled: `(c.status <> 'expired' and (c.expiration_date is null or c.expiration_date > $1) and c.active and c.start_date > $1)`,
  active: `(c.status <> 'expired' and (c.expiration_date is null or c.expiration_date > $1) and c.active and (c.start_date is null or c.start_date <= $1))`,
};

export interface CampaignSummary {
  id: string;
  name: string;
  status: string;
  active: boolean;
  start_date: Date | null;
  expiration_date: Date | null;
  created_at: Date;
  issued_count: string;
  published: string;
  redeemed: string;
  redeemed_codes: string;
}

/**
 * Campaigns newest first, optionally by name (case-insensitive, anywhere in it) and state, a page at a time, each
 * with its lifetime counters (one totals row plus its pending deltas, by index: the cost follows neither the
 * campaigns' age nor their number of codes).
 */
export async function listCampaignSummaries(
  db: Queryable,
  now: Date,
  filter: { name?: string; state?: CampaignState; limit: number; before?: { createdAt: string; id: string } },
): Promise<CampaignSummary[]> {
  const where: string[] = [];
  const params: unknown[] = [now];
  if (filter.name) {
    params.push(`%${filter.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`c.name ilike $${params.length}`);
  }
  if (filter.state) where.push(STATE_SQL[filter.state]);
  if (filter.before) {
    params.push(filter.before.createdAt, filter.before.id);
    where.push(`(c.created_at, c.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(filter.limit);
  const { rows } = await db.query<CampaignSummary>(
    `select c.id, c.name, c.status, c.active, c.start_date, c.expiration_date, c.created_at, c.issued_count,
            coalesce(s.published, 0) as published, coalesce(s.redeemed, 0) as redeemed, coalesce(s.redeemed_codes, 0) as redeemed_codes
       from (select * from campaigns c
              where $1::timestamptz is not null ${where.map((w) => `and ${w}`).join(' ')}
              order by c.created_at desc, c.id desc limit $${params.length}) c
       left join lateral (
         select sum(t.published) as published, sum(t.redeemed) as redeemed, sum(t.redeemed_codes) as redeemed_codes
           from ${TOTALS_WITH_PENDING} t where t.campaign_id = c.id
       ) s on true
      order by c.created_at desc, c.id desc`,
    params,
  );
  return rows;
}
