import type { Queryable } from '../db/sql.ts';
import { foldRefusalDeltas } from './refusals.ts';

/**
 * Folds pending stat deltas into the hourly rollup (and each campaign's lifetime totals) in one statement: the
 * deltas deleted are exactly the ones added,
 * so a concurrent fold or a crash can neither lose nor double-count one. Readers add the (few) pending deltas
 * of a campaign to its rollup, so stats are exact whether or not a fold has run.
 */
export async function foldStatDeltas(db: Queryable, limit = 100_000): Promise<number> {
  const { rows } = await db.query<{ folded: number }>(
    `with picked as (
       select id from campaign_stat_deltas order by id limit $1 for update skip locked
     ), moved as (
       delete from campaign_stat_deltas d using picked where d.id = picked.id
       returning d.campaign_id, d.hour, d.currency, d.published, d.redeemed, d.redeemed_codes, d.rolled_back, d.expired, d.discount
     ), merged as (
       insert into campaign_stats_hourly as h (campaign_id, hour, currency, published, redeemed, redeemed_codes, rolled_back, expired, discount)
       select campaign_id, hour, currency, sum(published), sum(redeemed), sum(redeemed_codes), sum(rolled_back), sum(expired), sum(discount)
       from moved group by campaign_id, hour, currency
       on conflict (campaign_id, hour, currency) do update set
         published = h.published + excluded.published,
         redeemed = h.redeemed + excluded.redeemed,
         redeemed_codes = h.redeemed_codes + excluded.redeemed_codes,
         rolled_back = h.rolled_back + excluded.rolled_back,
         expired = h.expired + excluded.expired,
         discount = h.discount + excluded.discount
     ), totals as (
       insert into campaign_stats_totals as t (campaign_id, published, redeemed, redeemed_codes, rolled_back, expired)
       select campaign_id, sum(published), sum(redeemed), sum(redeemed_codes), sum(rolled_back), sum(expired)
       from moved group by campaign_id
       on conflict (campaign_id) do update set
         published = t.published + excluded.published,
         redeemed = t.redeemed + excluded.redeemed,
         redeemed_codes = t.redeemed_codes + excluded.redeemed_codes,
         rolled_back = t.rolled_back + excluded.rolled_back,
         expired = t.expired + excluded.expired
     )
     select count(*)::int as folded from moved`,
    [limit],
  );
  return rows[0]?.folded ?? 0;
}

/**
 * Counts what imported codes brought along, in the importing transaction: the uses they already had (as redeemed
 * uses, and as redeemed codes for each code with any) and the codes that arrived expired, at the import's hour.
 */
export async function recordImportedStats(
  tx: Queryable,
  campaignId: string,
  at: Date,
  counts: { redeemed: number; redeemedCodes: number; expired: number },
): Promise<void> {
  if (counts.redeemed === 0 && counts.redeemedCodes === 0 && counts.expired === 0) return;
  await tx.query(
    `insert into campaign_stat_deltas (campaign_id, hour, redeemed, redeemed_codes, expired)
     values ($1, date_trunc('hour', $2::timestamptz, 'UTC'), $3, $4, $5)`,
    [campaignId, at, counts.redeemed, counts.redeemedCodes, counts.expired],
  );
}

/** Folds campaign stats and refusals until nothing is pending (bounded per statement so no transaction grows large). */
export async function foldAllStatDeltas(db: Queryable): Promise<number> {
  let total = 0;
  for (const fold of [foldStatDeltas, foldRefusalDeltas]) {
    for (;;) {
      const folded = await fold(db);
      total += folded;
      if (folded === 0) break;
    }
  }
  return total;
}

/** Each campaign's lifetime counters: totals plus pending deltas, one row per campaign that has any. */
export const TOTALS_WITH_PENDING = `(
  select campaign_id, published, redeemed, redeemed_codes, rolled_back, expired from campaign_stats_totals
  union all
  select campaign_id, published, redeemed, redeemed_codes, rolled_back, expired from campaign_stat_deltas
)`;

/** Rollup plus pending deltas of some campaigns, as one relation with the rollup's columns. */
export const HOURLY_WITH_PENDING = `(
  select campaign_id, hour, currency, published, redeemed, redeemed_codes, rolled_back, expired, discount from campaign_stats_hourly
  union all
  select campaign_id, hour, currency, published, redeemed, redeemed_codes, rolled_back, expired, discount from campaign_stat_deltas
)`;
