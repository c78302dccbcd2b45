import type { Queryable } from '../db/sql.ts';
import { NotFoundError } from '../shared/errors.ts';

export interface ReminderSetting {
  campaign_id: string;
  days_before: number;
  channel: 'email' | 'sms';
}

export async function setReminder(
  db: Queryable,
  campaignId: string,
  daysBefore: number,
  channel: 'email' | 'sms',
): Promise<ReminderSetting> {
  const exists = await db.query('select 1 from campaigns where id = $1', [campaignId]);
  if (exists.rowCount === 0) throw new NotFoundError('campaign', campaignId);
  const { rows } = await db.query<ReminderSetting>(
    `insert into campaign_expiry_reminders (campaign_id, days_before, channel) values ($1, $2, $3)
     on conflict (campaign_id) do update set days_before = excluded.days_before, channel = excluded.channel, updated_at = now()
     returning campaign_id, days_before, channel`,
    [campaignId, daysBefore, channel],
  );
  return rows[0] as ReminderSetting;
}

export async function getReminder(db: Queryable, campaignId: string): Promise<ReminderSetting | null> {
  const { rows } = await db.query<ReminderSetting>(
    'select campaign_id, days_before, channel from campaign_expiry_reminders where campaign_id = $1',
    [campaignId],
  );
  return rows[0] ?? null;
}

export async function removeReminder(db: Queryable, campaignId: string): Promise<void> {
  await db.query('delete from campaign_expiry_reminders where campaign_id = $1', [campaignId]);
}

/**
 * Expiring-soon reminders for published codes (a holder to remind) of campaigns that ask for them: one
 * `voucher.expiring_soon` event per voucher, ever. The reminder row and the event are written in one statement,
 * so a crash never loses or repeats one. Delivery subscribes to the event (it knows the holder's channels).
 */
export async function queueExpiryReminders(db: Queryable, now: Date, limit: number): Promise<number> {
  let total = 0;
  for (;;) {
    const { rows } = await db.query<{ reminded: number }>(
      `with due as (
         select v.id, v.code, v.campaign_id, coalesce(v.expiration_date, c.expiration_date) as expiration_date,
                p.customer_id, p.id as publication_id, r.channel, r.days_before
         from campaign_expiry_reminders r
         join campaigns c on c.id = r.campaign_id and c.status <> 'expired'
         join publications p on p.campaign_id = r.campaign_id
         join vouchers v on v.id = p.voucher_id
         where v.status = 'active'
           and coalesce(v.expiration_date, c.expiration_date) > $1
           and coalesce(v.expiration_date, c.expiration_date) <= $1::timestamptz + make_interval(days => r.days_before)
           and not exists (select 1 from expiry_reminders e where e.voucher_id = v.id)
         limit $2
       ), reminded as (
         insert into expiry_reminders (voucher_id, campaign_id, expiration_date)
         select id, campaign_id, expiration_date from due on conflict (voucher_id) do nothing
         returning voucher_id
       ), outbox as (
         insert into outbox_events (type, data)
         select 'voucher.expiring_soon', jsonb_build_object('code', d.code, 'campaign_id', d.campaign_id,
                'expiration_date', d.expiration_date, 'customer_id', d.customer_id, 'publication_id', d.publication_id,
                'channel', d.channel, 'days_before', d.days_before)
         from due d join reminded x on x.voucher_id = d.id
       )
       select count(*)::int as reminded from reminded`,
      [now, limit],
    );
    const reminded = rows[0]?.reminded ?? 0;
    total += reminded;
    if (reminded < limit) return total;
  }
}
