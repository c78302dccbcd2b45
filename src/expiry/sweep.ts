import type { Database, Queryable } from '../db/sql.ts';
import { emitEvent, outboxInsertSql } from '../events/outbox.ts';
import { voucherEventsFromRows } from '../vouchers/voucher-events.ts';

export const SWEEP_ACTOR = 'system:expiry-sweep';
/** Advisory lock key: one sweep at a time across all workers (overlapping runs would only compete). */
const SWEEP_LOCK = [0x70726f6d, 0x65787069] as const;

export interface SweepOptions {
  /** The sweep's notion of "now", from platform.clock: every time decision is a SQL parameter. */
  now: Date;
  batchSize: number;
  /** Pause between batches, to leave room for redemptions on a busy database. */
  pauseMs?: number;
  /** Stop after this many batches (the next run goes on); undefined sweeps until nothing is due. */
  maxBatches?: number;
  onBatch?: (expired: number) => void | Promise<void>;
}

export interface SweepResult {
  status: 'swept' | 'already_running';
  vouchersExpired: number;
  campaignsExpired: number;
  batches: number;
  /** The longest batch (one transaction, holding its rows' locks), in ms: how long a redemption of one may wait. */
  longestBatchMs: number;
  complete: boolean;
}

/**
 * Moves vouchers past their expiration date (their own, or their campaign's when they have none) and campaigns past
 * theirs, with all their codes, to `expired`. Each batch is one statement in one transaction: claim with FOR UPDATE
 * SKIP LOCKED, update, and write the lifecycle events, outbox events and stat deltas of exactly the rows updated.
 * A sweep killed anywhere leaves every voucher either expired with its events or untouched; the next run picks up
 * the rest.
 */
export async function runExpirySweep(db: Database, options: SweepOptions): Promise<SweepResult> {
  // A sweep whose lock connection is cut stops at its next batch (another worker may now hold the lock); the job's
  // retry, or the next run, goes on from where it stopped.
  const outcome = await db.withAdvisoryLock(SWEEP_LOCK, { wait: false }, (_session, lost) => sweep(db, options, lost));
  if (!outcome.locked) {
    return { status: 'already_running', vouchersExpired: 0, campaignsExpired: 0, batches: 0, longestBatchMs: 0, complete: false };
  }
  return outcome.result;
}

async function sweep(db: Database, options: SweepOptions, lockLost: AbortSignal): Promise<SweepResult> {
  const { now, batchSize } = options;
  const result: SweepResult = { status: 'swept', vouchersExpired: 0, campaignsExpired: 0, batches: 0, longestBatchMs: 0, complete: true };
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      result.longestBatchMs = Math.max(result.longestBatchMs, Math.round(performance.now() - started));
    }
  };
  const budgetLeft = () => {
    lockLost.throwIfAborted();
    return options.maxBatches === undefined || result.batches < options.maxBatches;
  };
  const afterBatch = async (expired: number) => {
    result.batches += 1;
    result.vouchersExpired += expired;
    await options.onBatch?.(expired);
    if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
  };

  // (Statements below reach rows by `id = any(array(...))` so the planner always takes the primary key, never a
  // hash join over the whole table.)
  // Vouchers with a date of their own, in (expiration_date, id) order along the partial index. A keyset cursor keeps
  // every batch's scan short; rows skipped because a redemption holds them stay due for the next run.
  let cursor: DueCursor | null = null;
  for (;;) {
    if (!budgetLeft()) return { ...result, complete: false };
    const batch = await timed(() => expireDueVouchers(db, now, batchSize, cursor));
    if (batch.claimed === 0) break;
    cursor = batch.cursor;
    if (batch.expired > 0) await afterBatch(batch.expired);
    if (batch.claimed < batchSize) break;
  }

  // Campaigns past their date: the end of a campaign ends all its codes (a code's own date can only end it earlier),
  // so first every still-active voucher of it, then the campaign itself.
  const { rows: campaigns } = await db.query<{ id: string }>(
    `select id from campaigns where status <> 'expired' and expiration_date <= $1 order by expiration_date, id`,
    [now],
  );
  for (const campaign of campaigns) {
    let after = '0';
    for (;;) {
      if (!budgetLeft()) return { ...result, complete: false };
      const batch = await timed(() => expireCampaignVouchers(db, campaign.id, now, after, batchSize));
      if (batch.scanned === 0) break;
      after = batch.lastId;
      if (batch.expired > 0) await afterBatch(batch.expired);
    }
    if (await finishCampaign(db, campaign.id, now)) result.campaignsExpired += 1;
    else result.complete = false;
  }
  return result;
}

export interface DueCursor {
  expirationDate: string;
  id: string;
}

/** One batch of vouchers past their own expiration date, after `cursor`; returns how many were claimed and expired. */
export async function expireDueVouchers(
  db: Queryable,
  now: Date,
  limit: number,
  cursor: DueCursor | null = null,
): Promise<{ claimed: number; expired: number; cursor: DueCursor | null }> {
  const { rows } = await db.query<{ claimed: number; expired: number; last_exp: string | null; last_id: string | null }>(
    `with due as (
       select id, expiration_date from vouchers
       where status = 'active' and expiration_date is not null and expiration_date <= $1
         and ($4::timestamptz is null or (expiration_date, id) > ($4::timestamptz, $5::bigint))
       order by expiration_date, id
       limit $2
       for update skip locked
     ), expired as (
       update vouchers v set status = 'expired', updated_at = $1
       where v.id = any(array(select id from due)) and v.status = 'active'
       returning v.id, v.code, v.campaign_id, v.expiration_date
     ), last as (
       select expiration_date, id from due order by expiration_date desc, id desc limit 1
     )${expiryRecordsSql('expired')}
     select (select count(*)::int from due) as claimed, (select count(*)::int from expired) as expired,
            (select count(*) from notified) as notified,
            (select to_json(expiration_date) #>> '{}' from last) as last_exp, (select id::text from last) as last_id`,
    [now, limit, SWEEP_ACTOR, cursor?.expirationDate ?? null, cursor?.id ?? null],
  );
  const row = rows[0];
  const next = row?.last_exp && row.last_id ? { expirationDate: row.last_exp, id: row.last_id } : cursor;
  return { claimed: row?.claimed ?? 0, expired: row?.expired ?? 0, cursor: next };
}

/**
 * One batch along an ended campaign's vouchers (keyset on id) that are still active. Rows locked by a redemption
 * are skipped here and caught by the check in finishCampaign (the campaign stays due until none is left).
 */
async function expireCampaignVouchers(
  db: Queryable,
  campaignId: string,
  now: Date,
  after: string,
  limit: number,
): Promise<{ scanned: number; expired: number; lastId: string }> {
  const { rows } = await db.query<{ scanned: number; expired: number; last_id: string | null }>(
    `with window_ as (
       select id from vouchers where campaign_id = $4 and id > $5 order by id limit $2
     ), due as (
       select id from vouchers
       where id = any(array(select id from window_)) and status = 'active'
       for update skip locked
     ), expired as (
       update vouchers v set status = 'expired', updated_at = $1
       where v.id = any(array(select id from due)) and v.status = 'active'
       returning v.id, v.code, v.campaign_id, v.expiration_date
     )${expiryRecordsSql('expired')}
     select (select count(*)::int from window_) as scanned, (select count(*)::int from expired) as expired,
            (select count(*) from notified) as notified,
            (select max(id)::text from window_) as last_id`,
    [now, limit, SWEEP_ACTOR, campaignId, after],
  );
  const row = rows[0];
  return { scanned: row?.scanned ?? 0, expired: row?.expired ?? 0, lastId: row?.last_id ?? after };
}

/**
 * The lifecycle event, the outbox event and the stat delta of each row in CTE `source`, in the same statement
 * (so the same transaction) as the update that produced them. Parameters: $1 now, $3 actor. (bench:sweep's fair
 * baseline writes the same records in one statement over every due voucher.)
 */
export function expiryRecordsSql(source: string): string {
  const events = voucherEventsFromRows(source, {
    type: `'expired'`,
    actor: '$3',
    details: `jsonb_build_object('expiration_date', expiration_date, 'expired_at', $1::timestamptz)`,
  });
  return `, events as (
       ${events}
     ), outbox as (
       ${outboxInsertSql(
         'voucher.expired',
         { code: 'code', campaign_id: 'campaign_id', expiration_date: 'expiration_date', expired_at: '$1::timestamptz' },
         source,
       )}
     ), deltas as (
       insert into campaign_stat_deltas (campaign_id, hour, expired)
       select campaign_id, date_trunc('hour', $1::timestamptz, 'UTC'), count(*) from ${source} group by campaign_id
     ), notified as (
       -- Wakes the outbox relay at commit, once per batch.
       select pg_notify('promo_outbox', '') from (select 1 from ${source} limit 1) any_row
     )`;
}

/** Marks a campaign expired once none of its vouchers is still active; false when some remain (retry later). */
async function finishCampaign(db: Database, campaignId: string, now: Date): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; name: string; expiration_date: Date }>(
      `select id, name, expiration_date from campaigns where id = $1 and status <> 'expired' for update`,
      [campaignId],
    );
    const campaign = rows[0];
    if (!campaign) return false;
    const left = await tx.query(`select 1 from vouchers where campaign_id = $1 and status = 'active' limit 1`, [campaignId]);
    if ((left.rowCount ?? 0) > 0) return false;
    await tx.query(`update campaigns set status = 'expired', updated_at = $2 where id = $1`, [campaignId, now]);
    await emitEvent(tx, 'campaign.expired', {
      campaign_id: campaignId,
      name: campaign.name,
      expiration_date: campaign.expiration_date.toISOString(),
      expired_at: now.toISOString(),
    });
    return true;
  });
}
