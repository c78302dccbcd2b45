import type { Database, Queryable } from '../db/sql.ts';
import { dispatchDeliveries, queueMessage } from '../delivery/deliveries.ts';
import { outboxInsertSql } from '../events/outbox.ts';
import type { QueueSet } from '../queues/queues.ts';
import { NotFoundError } from '../shared/errors.ts';
import type { ExpiryReminderInput, ReminderSetting } from './schemas.ts';

const COLUMNS = 'campaign_id, days_before, channel, template_id';

export async function setReminder(db: Queryable, campaignId: string, input: ExpiryReminderInput): Promise<ReminderSetting> {
  const exists = await db.query('select 1 from campaigns where id = $1', [campaignId]);
  if (exists.rowCount === 0) throw new NotFoundError('campaign', campaignId);
  if (input.template_id) {
    const template = await db.query('select channel from message_templates where id = $1', [input.template_id]);
    if (template.rowCount === 0) throw new NotFoundError('template', input.template_id);
  }
  const { rows } = await db.query<ReminderSetting>(
    `insert into campaign_expiry_reminders (campaign_id, days_before, channel, template_id) values ($1, $2, $3, $4)
     on conflict (campaign_id) do update set days_before = excluded.days_before, channel = excluded.channel,
       template_id = excluded.template_id, updated_at = now()
     returning ${COLUMNS}`,
    [campaignId, input.days_before, input.channel, input.template_id ?? null],
  );
  return rows[0] as ReminderSetting;
}

export async function getReminder(db: Queryable, campaignId: string): Promise<ReminderSetting | null> {
  const { rows } = await db.query<ReminderSetting>(`select ${COLUMNS} from campaign_expiry_reminders where campaign_id = $1`, [campaignId]);
  return rows[0] ?? null;
}

export async function removeReminder(db: Queryable, campaignId: string): Promise<void> {
  await db.query('delete from campaign_expiry_reminders where campaign_id = $1', [campaignId]);
}

interface ClaimedReminder {
  voucher_id: string;
  customer_id: string;
  publication_id: string;
  channel: 'email' | 'sms';
  template_id: string | null;
  recipient: string | null;
}

/**
 * Expiring-soon reminders for published codes (they have a holder) of campaigns that ask for them, once per voucher:
 * the reminder row, the `voucher.expiring_soon` event and, when the campaign names a template and the holder has an
 * address for the channel, the message (the delivery capability's `queueMessage`) are written in one transaction.
 * Messages are dispatched after commit; a crash in between leaves them to the delivery capability's stranded sweep.
 */
export async function queueExpiryReminders(db: Database, queues: QueueSet, now: Date, limit: number): Promise<number> {
  let total = 0;
  for (;;) {
    const { claimed, messages } = await db.transaction(async (tx) => {
      const { rows } = await tx.query<ClaimedReminder>(
        `with due as (
           select v.id, v.code, v.campaign_id, coalesce(v.expiration_date, c.expiration_date) as expiration_date,
                  p.customer_id, p.id as publication_id, r.channel, r.template_id, r.days_before,
                  case when r.channel = 'email' then cu.email else cu.phone end as recipient
           from campaign_expiry_reminders r
           join campaigns c on c.id = r.campaign_id and c.status <> 'expired'
           join publications p on p.campaign_id = r.campaign_id
           join vouchers v on v.id = p.voucher_id
           left join customers cu on cu.id = p.customer_id
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
           ${outboxInsertSql(
             'voucher.expiring_soon',
             {
               code: 'd.code',
               campaign_id: 'd.campaign_id',
               expiration_date: 'd.expiration_date',
               customer_id: 'd.customer_id',
               publication_id: 'd.publication_id',
               channel: 'd.channel',
               days_before: 'd.days_before',
             },
             'due d join reminded x on x.voucher_id = d.id',
           )}
         ), notified as (
           select pg_notify('promo_outbox', '') from (select 1 from reminded limit 1) any_row
         )
         select d.id as voucher_id, d.customer_id, d.publication_id, d.channel, d.template_id, d.recipient
         from due d join reminded x on x.voucher_id = d.id
         where (select count(*) from notified) >= 0`,
        [now, limit],
      );
      const queued: { id: string; channel: 'email' | 'sms' }[] = [];
      for (const r of rows) {
        if (!r.template_id || !r.recipient) continue;
        queued.push(
          await queueMessage(tx, {
            channel: r.channel,
            templateId: r.template_id,
            voucherId: r.voucher_id,
            recipient: r.recipient,
            customerId: r.customer_id,
            publicationId: r.publication_id,
            purpose: 'expiry_reminder',
          }),
        );
      }
      return { claimed: rows.length, messages: queued };
    });
    if (messages.length > 0) await dispatchDeliveries(db, queues, messages);
    total += claimed;
    if (claimed < limit) return total;
  }
}
