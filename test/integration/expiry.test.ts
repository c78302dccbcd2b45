import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExpirySweep } from '../../src/expiry/sweep.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { expiryConsistency, seedVouchers } from './expiry-fixtures.ts';

const T0 = new Date('2031-03-01T00:00:00Z');
const hours = (n: number) => new Date(T0.getTime() + n * 3_600_000);

describe('expiry sweep', () => {
  let p: TestPlatform;
  const clock = new ManualClock(T0);
  beforeAll(async () => {
    // A sweep schedule that never fires on its own: these tests run sweeps when they decide.
    p = await startTestPlatform({ clock, env: { EXPIRY_SWEEP_CRON: '0 0 0 1 1 *', EXPIRY_SWEEP_BATCH_SIZE: '700' } });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  async function campaign(name: string, expirationDate?: Date): Promise<string> {
    const created = await p.call('/v1/campaigns', { method: 'POST', json: { name, code_config: { length: 10 } } });
    expect(created.status).toBe(201);
    if (expirationDate)
      await p.platform.db.query('update campaigns set expiration_date = $2 where id = $1', [created.body.id, expirationDate]);
    return created.body.id;
  }

  const sweep = (batchSize = 700) => runExpirySweep(p.platform.db, { now: clock.now(), batchSize });

  it('expires vouchers when the (manual) clock passes their date, in batches, with one event each', async () => {
    const c = await campaign('dated');
    await seedVouchers(p.platform.db, c, 2_000, { prefix: 'DA', expirationDate: hours(1) });
    await seedVouchers(p.platform.db, c, 300, { prefix: 'DB', expirationDate: hours(48) });
    await seedVouchers(p.platform.db, c, 50, { prefix: 'DC', expirationDate: null });

    expect((await sweep()).vouchersExpired).toBe(0);
    clock.set(hours(1)); // expiration_date <= now: the instant itself is expired
    const first = await sweep();
    expect(first).toMatchObject({ status: 'swept', vouchersExpired: 2_000, batches: 3, complete: true });
    expect(await expiryConsistency(p.platform.db, c)).toMatchObject({ expired: 2_000, active: 350, bad: 0 });
    // A second run finds nothing: no duplicate events.
    expect((await sweep()).vouchersExpired).toBe(0);
    const { rows } = await p.platform.db.query(
      `select e.actor, e.details->>'expiration_date' as exp from voucher_events e join vouchers v on v.id = e.voucher_id
       where v.code = 'DA00000001' and e.type = 'expired'`,
    );
    expect(rows).toEqual([{ actor: 'system:expiry-sweep', exp: expect.any(String) }]);
    const outbox = await p.platform.db.query(
      `select data from outbox_events where type = 'voucher.expired' and data->>'code' = 'DA00000001'`,
    );
    expect(outbox.rows[0]?.data).toMatchObject({ code: 'DA00000001', campaign_id: c });

    // A redemption of a swept code is refused as expired.
    const refused = await p.call('/v1/redemptions', { method: 'POST', json: { code: 'da00000002' } });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('expired');

    clock.set(hours(49));
    expect((await sweep()).vouchersExpired).toBe(300);
    expect(await expiryConsistency(p.platform.db, c)).toMatchObject({ expired: 2_300, active: 50, bad: 0 });
  });

  it("expires a campaign past its date with all its codes; a code's own date only ends it earlier", async () => {
    clock.set(T0);
    const c = await campaign('ends', hours(100));
    await seedVouchers(p.platform.db, c, 1_500, { prefix: 'CA', expirationDate: null });
    await seedVouchers(p.platform.db, c, 20, { prefix: 'CB', expirationDate: hours(500) });
    await seedVouchers(p.platform.db, c, 30, { prefix: 'CC', expirationDate: hours(50) });
    expect((await sweep()).campaignsExpired).toBe(0);
    clock.set(hours(50));
    expect(await sweep()).toMatchObject({ vouchersExpired: 30, campaignsExpired: 0 });
    clock.set(hours(100));
    const result = await sweep();
    expect(result).toMatchObject({ vouchersExpired: 1_520, campaignsExpired: 1, complete: true });
    expect(await expiryConsistency(p.platform.db, c)).toMatchObject({ expired: 1_550, active: 0, bad: 0 });
    const { rows } = await p.platform.db.query('select status from campaigns where id = $1', [c]);
    expect(rows[0]?.status).toBe('expired');
    const events = await p.platform.db.query(
      `select count(*)::int as n from outbox_events where type = 'campaign.expired' and data->>'campaign_id' = $1`,
      [c],
    );
    expect(events.rows[0]?.n).toBe(1);
    expect((await sweep()).campaignsExpired).toBe(0);
  });

  it('runs as the scheduled job on the maintenance queue, with the platform clock', async () => {
    clock.set(T0);
    const c = await campaign('job');
    await seedVouchers(p.platform.db, c, 100, { prefix: 'JB', expirationDate: hours(2) });
    clock.set(hours(3));
    const job = await p.platform.queues.get('maintenance').add('expiry.sweep', {});
    const done = await waitFor(async () =>
      (await job.isCompleted()) ? (await p.platform.queues.get('maintenance').getJob(job.id as string))?.returnvalue : undefined,
    );
    expect(done).toMatchObject({ vouchersExpired: 100 });
    expect(await expiryConsistency(p.platform.db, c)).toMatchObject({ expired: 100, bad: 0 });
  });

  it('the redemption/expiry race: each code is redeemed before expiry or refused as expired, never both, never an error', async () => {
    clock.set(T0);
    const c = await campaign('race');
    const n = 400;
    await seedVouchers(p.platform.db, c, n, { prefix: 'RC', expirationDate: hours(10) });
    // Redemptions decide with a time before the expiry; the sweep runs with one after it, at the same moment.
    clock.set(hours(9));
    const codes = Array.from({ length: n }, (_, i) => `RC${String(i + 1).padStart(8, '0')}`);
    const results: { status: number; code?: string }[] = [];
    // The sweep starts once some redemptions went through, then races the rest batch by batch.
    const sweeping = (async () => {
      await waitFor(async () => results.filter((r) => r.status === 201).length >= 10, 30_000, 5);
      return runExpirySweep(p.platform.db, { now: hours(11), batchSize: 25, pauseMs: 5 });
    })();
    const queue = [...codes];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let code = queue.shift(); code; code = queue.shift()) {
          const r = await p.call('/v1/redemptions', { method: 'POST', json: { code } });
          results.push({ status: r.status, code: r.body?.code });
        }
      }),
    );
    const swept = await sweeping;
    expect(swept.vouchersExpired).toBeGreaterThan(0);
    expect(results.filter((r) => !(r.status === 201 || (r.status === 422 && r.code === 'expired')))).toEqual([]);
    const succeeded = results.filter((r) => r.status === 201).length;
    const refused = results.length - succeeded;
    expect(succeeded + refused).toBe(n);
    expect(succeeded).toBeGreaterThanOrEqual(10);
    expect(refused).toBeGreaterThan(0);
    // Finish the sweep (rows a redemption held were skipped, not waited for): every code ends expired, each with exactly one expiry record.
    await runExpirySweep(p.platform.db, { now: hours(11), batchSize: 25 });
    expect(await expiryConsistency(p.platform.db, c)).toMatchObject({ expired: n, active: 0, bad: 0 });
    // Never both: no redemption was committed after its voucher's expiry (lifecycle log order per voucher).
    const { rows } = await p.platform.db.query<{ after_expiry: number; redeemed: number }>(
      `select count(*) filter (where r.id > x.id)::int as after_expiry, count(r.id)::int as redeemed
       from vouchers v
       join voucher_events x on x.voucher_id = v.id and x.type = 'expired'
       left join voucher_events r on r.voucher_id = v.id and r.type = 'redeemed'
       where v.campaign_id = $1`,
      [c],
    );
    expect(rows[0]?.after_expiry).toBe(0);
    expect(rows[0]?.redeemed).toBe(succeeded);
    const red = await p.platform.db.query(`select count(*)::int as n from redemptions where campaign_id = $1`, [c]);
    expect(red.rows[0]?.n).toBe(succeeded);
  });
});
