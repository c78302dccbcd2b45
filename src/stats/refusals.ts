import type { Queryable } from '../db/sql.ts';
import { dailySums } from './daily-series.ts';

/**
 * Redemption refusals of real codes per campaign, hour and reason. A trigger on the refusal's own outbox event
 * (`voucher.redemption.failed`, Migration1050Console) appends a delta in the refusal's transaction; this folds the
 * deltas into `campaign_refusals_hourly` the way rollup.ts folds campaign stats, and readers add what is pending.
 */
export async function foldRefusalDeltas(db: Queryable, limit = 100_000): Promise<number> {
  const { rows } = await db.query<{ folded: number }>(
    `with picked as (
       select id from campaign_refusal_deltas order by id limit $1 for update skip locked
     ), moved as (
       delete from campaign_refusal_deltas d using picked where d.id = picked.id returning d.campaign_id, d.hour, d.reason, d.refused
     ), merged as (
       insert into campaign_refusals_hourly as h (campaign_id, hour, reason, refused)
       select campaign_id, hour, reason, sum(refused) from moved group by campaign_id, hour, reason
       on conflict (campaign_id, hour, reason) do update set refused = h.refused + excluded.refused
     )
     select count(*)::int as folded from moved`,
    [limit],
  );
  return rows[0]?.folded ?? 0;
}

const REFUSALS_WITH_PENDING = `(
  select campaign_id, hour, reason, refused from campaign_refusals_hourly
  union all
  select campaign_id, hour, reason, refused from campaign_refusal_deltas
)`;

/** A campaign's refused redemptions per day, one series per reason (only reasons that occurred). */
export function refusalsPerDay(db: Queryable, campaignId: string, range: { from: string; to: string; timezone: string }) {
  return dailySums(
    db,
    { relation: REFUSALS_WITH_PENDING, value: 'refused', by: 'reason', where: 'campaign_id = $4', params: [campaignId] },
    range,
  );
}

/** A campaign's refused redemptions and reservations over its life, by reason (only reasons that occurred). */
export async function refusalsByReason(db: Queryable, campaignId: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ reason: string; refused: string }>(
    `select reason, sum(refused) as refused from ${REFUSALS_WITH_PENDING} r where campaign_id = $1 group by reason order by reason`,
    [campaignId],
  );
  return Object.fromEntries(rows.map((r) => [r.reason, Number(r.refused)]));
}
