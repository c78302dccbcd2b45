import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

// Idempotency-Keys are remembered for IDEMPOTENCY_KEY_TTL_SECONDS (an hour here), then count as new and are deleted.
describe('Idempotency-Key retention', () => {
  let p: TestPlatform;
  const clock = new ManualClock('2031-03-01T10:00:00Z');
  beforeAll(async () => {
    p = await startTestPlatform({ clock, env: { IDEMPOTENCY_KEY_TTL_SECONDS: '3600' } });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  const redeem = (code: string, key: string) =>
    p.call('/v1/redemptions', { method: 'POST', json: { code, customer: { id: 'retention' } }, headers: { 'Idempotency-Key': key } });
  const keys = async () =>
    (await p.platform.db.query<{ key: string }>('select key from redemption_idempotency_keys order by key')).rows.map((r) => r.key);
  const cleanup = async () => {
    const job = await p.platform.queues.get('maintenance').add('idempotency.cleanup', {});
    await waitFor(() => job.isCompleted());
    return (await p.platform.queues.get('maintenance').getJob(job.id as string))?.returnvalue as { deleted: number };
  };

  it('replays within the retention, treats an older key as new, and deletes old keys on schedule', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: 10 } } });
    const code = uniqueCode('KEEP');
    await createVoucher(p, campaign, code);
    const first = await redeem(code, 'order-1');
    expect(first.status).toBe(201);
    expect((await redeem(code, 'order-2')).status).toBe(201);

    clock.set('2031-03-01T10:59:00Z');
    const retry = await redeem(code, 'order-1');
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.id).toBe(first.body.id);
    expect(await cleanup()).toEqual({ deleted: 0 });
    expect(await keys()).toEqual(['order-1', 'order-2']);

    clock.set('2031-03-01T11:01:00Z');
    const later = await redeem(code, 'order-1');
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBe('false');
    expect(later.body.id).not.toBe(first.body.id);
    expect((await p.call(`/v1/vouchers/${code}`)).body.redemption_count).toBe(3);
    // order-1 was claimed again just now; order-2 is past the retention.
    expect(await cleanup()).toEqual({ deleted: 1 });
    expect(await keys()).toEqual(['order-1']);
    expect(await cleanup()).toEqual({ deleted: 0 });
    // The reclaimed key replays its new answer.
    expect((await redeem(code, 'order-1')).body.id).toBe(later.body.id);
  });
});
