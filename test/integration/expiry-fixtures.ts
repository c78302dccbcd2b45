import type { Queryable } from '../../src/db/sql.ts';

/** Inserts `count` vouchers straight into the table (as bulk generation would) and counts them as issued. */
export async function seedVouchers(
  db: Queryable,
  campaignId: string,
  count: number,
  options: { prefix: string; expirationDate?: Date | null; metadata?: Record<string, unknown> | null } = { prefix: 'V' },
): Promise<void> {
  await db.query(
    `insert into vouchers (code, campaign_id, expiration_date, metadata)
     select $2 || lpad(g::text, 8, '0'), $1, $3, $5 from generate_series(1, $4) g`,
    [campaignId, options.prefix, options.expirationDate ?? null, count, options.metadata ?? null],
  );
  await db.query('update campaigns set issued_count = issued_count + $2 where id = $1', [campaignId, count]);
}

/** Every voucher's state against its expiry records: the invariant a sweep must keep whenever it stops. */
export async function expiryConsistency(db: Queryable, campaignId: string) {
  const { rows } = await db.query<{ expired: number; active: number; bad: number; events: number; outbox: number }>(
    `with ev as (select voucher_id, count(*) as n from voucher_events where type = 'expired' group by voucher_id),
     ob as (select data->>'code' as code, count(*) as n from outbox_events where type = 'voucher.expired' group by 1),
     v as (
       select v.status, coalesce(ev.n, 0) as events, coalesce(ob.n, 0) as outbox
       from vouchers v left join ev on ev.voucher_id = v.id left join ob on ob.code = v.code
       where v.campaign_id = $1
     )
     select count(*) filter (where status = 'expired')::int as expired,
            count(*) filter (where status = 'active')::int as active,
            count(*) filter (where (status = 'expired' and (events <> 1 or outbox <> 1))
                                or (status = 'active' and (events <> 0 or outbox <> 0)))::int as bad,
            sum(events)::int as events, sum(outbox)::int as outbox
     from v`,
    [campaignId],
  );
  return rows[0] as { expired: number; active: number; bad: number; events: number; outbox: number };
}
