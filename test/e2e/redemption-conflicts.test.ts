import { describe, expect, it } from 'vitest';
import { TransactionConflictError } from '../../src/shared/errors.ts';
import { useTestPlatform, waitFor } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

// A deadlock or serialization failure rolls the whole transaction back, so a redemption can simply run again.
describe('redemptions that meet a deadlock or a serialization failure', () => {
  const p = useTestPlatform({ workers: false });

  const deadlocks = async () =>
    Number(
      (await p.platform.db.query<{ n: string }>('select deadlocks::text as n from pg_stat_database where datname = current_database()'))
        .rows[0]?.n,
    );
  const waitingOnLocks = async () =>
    Number(
      (
        await p.platform.db.query<{ n: string }>(
          `select count(*)::text as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
        )
      ).rows[0]?.n,
    );

  it('a redemption chosen as a deadlock victim runs again and succeeds, counted once', async () => {
    const campaign = await createCampaign(p, {
      rules: { discount: { type: 'amount', value: 100, currency: 'EUR' } },
      budget: { max_discount_amount: 10_000, currency: 'EUR' },
    });
    const code = uniqueCode('DL');
    await createVoucher(p, campaign, code);
    const before = await deadlocks();

    // Another transaction takes the budget's counter row first, then (once the redemption, holding the voucher row,
    // waits for that counter row) the voucher row: a real lock cycle. This side waits long before looking for
    // deadlocks, so PostgreSQL picks the redemption (deadlock_timeout 1 s) as the victim.
    const other = await p.platform.db.pool.connect();
    try {
      await other.query('begin');
      await other.query("set local deadlock_timeout = '30s'");
      await other.query('select 1 from campaign_budgets where campaign_id = $1 for update', [campaign]);
      const redemption = p.call('/v1/redemptions', { method: 'POST', json: { code, order: { amount: 1000, currency: 'EUR' } } });
      await waitFor(async () => (await waitingOnLocks()) === 1, 10_000, 20);
      await other.query('update vouchers set updated_at = updated_at where code = $1', [code]);
      await other.query('commit');
      const answer = await redemption;
      expect(answer.status).toBe(201);
      expect(answer.body.discount_amount).toBe(100);
    } finally {
      other.release();
    }

    expect(await deadlocks()).toBe(before + 1);
    const counts = await p.platform.db.query<{ redemption_count: number; redemptions: number; used: number }>(
      `select v.redemption_count, (select count(*)::int from redemptions r where r.voucher_id = v.id) as redemptions,
              (select used_redemptions from campaign_budgets where campaign_id = v.campaign_id) as used
       from vouchers v where v.code = $1`,
      [code],
    );
    expect(counts.rows[0]).toEqual({ redemption_count: 1, redemptions: 1, used: 1 });
    const events = await p.platform.db.query(
      `select 1 from voucher_events where type = 'redeemed' and voucher_id = (select id from vouchers where code = $1)`,
      [code],
    );
    expect(events.rowCount).toBe(1);
  });

  it('a transaction that keeps failing to serialize is retried as often as allowed, then is TransactionConflictError (503)', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('SF');
    await createVoucher(p, campaign, code);
    let attempts = 0;
    // Each attempt reads the row in its snapshot, another transaction changes it, and its own update must fail: 40001.
    const conflicting = (options?: { conflictRetries: number }) =>
      p.platform.db.transaction(async (tx) => {
        attempts++;
        await tx.query('set transaction isolation level repeatable read');
        await tx.query('select redemption_count from vouchers where code = $1', [code]);
        await p.platform.db.query('update vouchers set updated_at = now() where code = $1', [code]);
        await tx.query('update vouchers set updated_at = now() where code = $1', [code]);
      }, options);

    const error = await conflicting({ conflictRetries: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionConflictError);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'transaction_conflict', retryAfterSeconds: 1 });
    expect((error as Error).cause).toMatchObject({ code: '40001' });
    expect(attempts).toBe(3);

    // Without retries the transaction's own error is left as it was.
    attempts = 0;
    await expect(conflicting()).rejects.toMatchObject({ code: '40001' });
    expect(attempts).toBe(1);
  });
});
