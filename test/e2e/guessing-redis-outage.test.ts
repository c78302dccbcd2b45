import { describe, expect, it } from 'vitest';
import { useTestPlatform } from '../support/platform.ts';
import { useOwnRedis } from '../support/redis-server.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

// Checkout must neither fail nor open the gate when Redis goes away: each process counts in memory meanwhile.
describe('checkout during a Redis outage', () => {
  const redis = useOwnRedis();
  const p = useTestPlatform(() => ({ workers: false, env: { REDIS_URL: redis.url } }));

  it('keeps validating and redeeming, and still locks a guessing shopper out', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: null } } });
    const good = uniqueCode('OUT');
    await createVoucher(p, campaign, good);
    const validate = (code: string, ip: string) =>
      p.call('/v1/validations', { method: 'POST', json: { code }, headers: { 'X-Forwarded-For': ip } });
    expect((await validate(good, '198.51.100.1')).body.valid).toBe(true);

    await redis.kill();
    expect((await validate(good, '198.51.100.2')).body.valid).toBe(true);
    const redeemed = await p.call('/v1/redemptions', { method: 'POST', json: { code: good, customer: { id: 'outage' } } });
    expect(redeemed.status).toBe(201);
    const guesses = await Promise.all(Array.from({ length: 10 }, (_, i) => validate(`NOPE-${i}`, '198.51.100.3')));
    expect(guesses.map((g) => g.body.reason)).toEqual(Array(10).fill('not_found'));
    const locked = await validate(good, '198.51.100.3');
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('too_many_guesses');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);

    await redis.restart();
    expect((await validate(good, '198.51.100.4')).body.valid).toBe(true);
  });
});
