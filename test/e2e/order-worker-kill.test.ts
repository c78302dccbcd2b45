import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useTestPlatform, useWorkerProcesses, waitFor } from '../support/platform.ts';
import { createCampaign, seedCodes, uniqueCode } from '../support/vouchers.ts';

/**
 * issue 14: an `order.cancelled` event whose worker is SIGKILLed in the middle of the cancellation's transaction.
 * The test holds the campaign's budget counter row (the last row the cancellation updates), so the worker's
 * transaction has rolled back the group and released the hold, uncommitted, and waits; then the worker is killed,
 * the row let go, and a second worker finishes the job.
 */
describe('an order event whose worker is killed mid-transaction', { timeout: 120_000 }, () => {
  const workerEnv = { WORKER_LOCK_DURATION_MS: '1500', WORKER_QUEUES: 'business-events', LOG_LEVEL: 'warn' };
  // API only in this process: the event is processed by the spawned worker processes.
  const p = useTestPlatform({ workers: false, env: workerEnv });
  const workers = useWorkerProcesses(p, workerEnv);

  const q = async <T extends pg.QueryResultRow>(sql: string, params: unknown[]) => (await p.platform.db.query<T>(sql, params)).rows;
  const n = async (sql: string, params: unknown[]) => Number((await q<{ n: number }>(sql, params))[0]?.n);

  it('rolls back every redemption and releases the hold exactly once, and a repeat of the event changes nothing', async () => {
    const campaign = await createCampaign(p, {
      rules: { discount: { type: 'amount', value: 100, currency: 'EUR' } },
      budget: { max_redemptions: 10, max_discount_amount: 5000, currency: 'EUR' },
    });
    const codes = await seedCodes(p, campaign, 4, uniqueCode('K'));
    const orderId = 'ord-killed';
    const order = { id: orderId, amount: 5000, currency: 'EUR' };
    const customer = { id: 'cust-killed' };
    const group = await p.call('/v1/redemptions', { method: 'POST', json: { codes: codes.slice(0, 3), order, customer } });
    expect(group.status).toBe(201);
    const held = await p.call('/v1/reservations', { method: 'POST', json: { code: codes[3], order, customer } });
    expect(held.status).toBe(201);
    const reservationId = held.body.id as string;

    const counts = async () =>
      (
        await q<{ redemption_count: number; held_count: number }>(
          'select redemption_count, held_count from vouchers where code = any($1) order by code',
          [codes],
        )
      ).map((r) => [r.redemption_count, r.held_count]);
    const usage = async () => (await p.call(`/v1/campaigns/${campaign}`)).body.budget_usage;
    const lifecycle = async () =>
      Object.fromEntries(
        (
          await q<{ code: string; types: string[] }>(
            `select v.code, array_agg(e.type order by e.id) filter (where e.type in ('rolled_back', 'reservation_released')) as types
             from vouchers v left join voucher_events e on e.voucher_id = v.id where v.code = any($1) group by v.code`,
            [codes],
          )
        ).map((r) => [r.code, r.types ?? []]),
      );
    const outbox = async () => ({
      rolled_back: await n(
        `select count(*)::int as n from outbox_events where type = 'voucher.redemption.rolled_back' and data->'order'->>'id' = $1`,
        [orderId],
      ),
      released: await n(`select count(*)::int as n from outbox_events where type = 'voucher.reservation.released' and data->>'id' = $1`, [
        reservationId,
      ]),
    });
    const eventStatus = async (id: string) =>
      (await q<{ status: string }>('select status from business_events where id = $1', [id]))[0]?.status;
    const snapshot = async () => ({ counts: await counts(), usage: await usage(), lifecycle: await lifecycle(), outbox: await outbox() });

    const before = await snapshot();
    expect(before.counts).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
      [1, 1],
    ]);
    expect(before.usage).toMatchObject({ used_redemptions: 4, used_discount_amount: 400 });
    expect(before.outbox).toEqual({ rolled_back: 0, released: 0 });

    // The budget counter row is the cancellation's last update (refunds after every redemption and hold): hold it.
    const locker = new pg.Client({ connectionString: p.isolation.env.DATABASE_URL as string });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('select 1 from campaign_budgets where campaign_id = $1 for update', [campaign]);
      const lockerPid = (await locker.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;

      const event = { type: 'order.cancelled', source_id: 'cancel-ord-killed', customer, data: { order_id: orderId, reason: 'fraud' } };
      const posted = await p.call('/v1/events', { method: 'POST', json: event });
      expect(posted.status).toBe(202);
      const eventId = posted.body.id as string;

      const victim = workers.start();
      // The worker's backend, inside the cancellation's transaction, waiting for the row the test holds.
      const blockedPid = await waitFor(
        async () =>
          (
            await q<{ pid: number }>(
              `select pid from pg_stat_activity
               where datname = current_database() and wait_event_type = 'Lock' and $1::int = any(pg_blocking_pids(pid))
                 and query ilike '%campaign_budgets%'`,
              [lockerPid],
            )
          )[0]?.pid,
        30_000,
        20,
      );
      expect(await n('select count(*)::int as n from pg_locks where pid = $1 and not granted', [blockedPid])).toBe(1);
      // Its rollbacks so far are uncommitted: nothing is visible yet.
      expect(await counts()).toEqual(before.counts);

      const killed = new Promise((resolve) => victim.once('exit', resolve));
      victim.kill('SIGKILL');
      await killed;
      await locker.query('rollback');
      // The orphaned backend gets its row, then finds its client gone and aborts: its transaction never commits.
      await waitFor(
        async () => (await n('select count(*)::int as n from pg_stat_activity where pid = $1', [blockedPid])) === 0,
        30_000,
        20,
      );
      expect(await snapshot()).toEqual(before);
      expect(await eventStatus(eventId)).toBe('received');

      const rescuer = workers.start();
      await waitFor(async () => (await eventStatus(eventId)) === 'processed', 60_000);
      const after = await snapshot();
      // Every use given back: no code is redeemed or held any more.
      expect(after.counts).toEqual(codes.map(() => [0, 0]));
      expect(after.usage).toMatchObject({ used_redemptions: 0, used_discount_amount: 0 });
      expect(after.lifecycle).toEqual({
        [codes[0] as string]: ['rolled_back'],
        [codes[1] as string]: ['rolled_back'],
        [codes[2] as string]: ['rolled_back'],
        [codes[3] as string]: ['reservation_released'],
      });
      expect(after.outbox).toEqual({ rolled_back: 3, released: 1 });
      const view = (await p.call(`/v1/orders/${orderId}`)).body;
      expect(view.status).toBe('cancelled');
      expect(view.redemptions.map((r: { status: string }) => r.status)).toEqual(['rolled_back', 'rolled_back', 'rolled_back']);
      expect(view.reservations.map((r: { status: string }) => r.status)).toEqual(['released']);

      // The same event again is deduplicated by source_id; another cancellation of the order finds nothing to do.
      const again = await p.call('/v1/events', { method: 'POST', json: event });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(eventId);
      const other = await p.call('/v1/events', { method: 'POST', json: { ...event, source_id: 'cancel-ord-killed-2' } });
      expect(other.status).toBe(202);
      await waitFor(async () => (await eventStatus(other.body.id)) === 'processed', 60_000);
      expect(await snapshot()).toEqual(after);
      await workers.stop();
      expect(rescuer.exitCode).toBe(0);
    } finally {
      await locker.end();
    }
  });
});
