import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { guessFailures } from '../../src/shared/metrics.ts';
import { apiCall, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

// The default limit (10 guesses) over a 3-second window, so lockout and recovery run in seconds. Guesses that must
// land in one window are sent in parallel (the reservation counts them exactly), so a slow machine cannot stretch them.
describe('guessing defence', () => {
  let p: TestPlatform;
  let campaign: string;
  let good: string;
  beforeAll(async () => {
    p = await startTestPlatform({ workers: false, env: { GUESS_WINDOW_SECONDS: '3' } });
    campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: null } } });
    good = uniqueCode('GOOD');
    await createVoucher(p, campaign, good);
  });
  afterAll(async () => {
    await p?.destroy();
  });

  let ipCounter = 0;
  const freshIp = () => `198.51.100.${++ipCounter}`;
  const validate = (json: Record<string, unknown>, ip?: string) =>
    p.call('/v1/validations', { method: 'POST', json, headers: ip ? { 'X-Forwarded-For': `${ip}, 10.0.0.1` } : {} });

  it('locks a shopper IP out after 10 failed lookups, even for a correct code, and lets it back after the window', async () => {
    const ip = freshIp();
    const guesses = await Promise.all(Array.from({ length: 10 }, (_, i) => validate({ code: `WRONG-${i}` }, ip)));
    expect(guesses.map((g) => [g.status, g.body.reason])).toEqual(Array(10).fill([200, 'not_found']));
    const locked = await validate({ code: good }, ip);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('too_many_guesses');
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3);
    // Redemptions answer the same way while locked.
    const redeem = await p.call('/v1/redemptions', { method: 'POST', json: { code: good }, headers: { 'X-Forwarded-For': ip } });
    expect(redeem.status).toBe(429);
    // The calling server (same socket, same API key) still serves every other shopper.
    expect((await validate({ code: good }, freshIp())).body.valid).toBe(true);
    expect((await validate({ code: good })).body.valid).toBe(true);
    // After the window the shopper is back.
    const back = await waitFor(
      async () => {
        const res = await validate({ code: good }, ip);
        return res.status === 200 ? res : undefined;
      },
      10_000,
      200,
    );
    expect(back.body.valid).toBe(true);
  });

  it('never counts legitimate refusals of a real code', async () => {
    const expired = uniqueCode('OLD');
    await createVoucher(p, campaign, expired, { expiration_date: '2020-01-01T00:00:00Z' });
    const disabled = uniqueCode('OFF');
    await createVoucher(p, campaign, disabled, { active: false });
    const ip = freshIp();
    for (let i = 0; i < 15; i++) {
      expect((await validate({ code: i % 2 ? expired : disabled, customer: { id: 'honest' } }, ip)).status).toBe(200);
      expect(
        (await p.call('/v1/redemptions', { method: 'POST', json: { code: expired }, headers: { 'X-Forwarded-For': ip } })).status,
      ).toBe(422);
    }
    expect((await validate({ code: good, customer: { id: 'honest' } }, ip)).body.valid).toBe(true);
  });

  it('counts guesses per customer across IPs, redemptions included', async () => {
    const guesses = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => validate({ code: `NOPE-${i}`, customer: { id: 'mallory' } }, freshIp())),
      ...Array.from({ length: 5 }, (_, i) =>
        p.call('/v1/redemptions', { method: 'POST', json: { code: `NOPE-R${i}`, customer: { id: 'mallory' } } }),
      ),
    ]);
    expect(guesses.map((g) => g.body.reason ?? g.body.code)).toEqual(Array(10).fill('not_found'));
    const locked = await validate({ code: good, customer: { id: 'mallory' } }, freshIp());
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toMatch(/^[123]$/);
    expect((await validate({ code: good, customer: { id: 'someone' } }, freshIp())).body.valid).toBe(true);
  });

  it('answers a code held by another customer exactly like an unknown code, and counts it as a guess', async () => {
    const held = await createCampaign(p, { rules: { holder_only: true } });
    const code = uniqueCode('HELD');
    await createVoucher(p, held, code);
    await p.platform.db.query(`update vouchers set holder_customer_id = 'alice' where code = $1`, [code]);
    const unknown = uniqueCode('HELD');
    const asBob = await validate({ code, customer: { id: 'bob' } }, freshIp());
    const missing = await validate({ code: unknown, customer: { id: 'bob' } }, freshIp());
    expect(asBob.status).toBe(missing.status);
    expect(asBob.body).toEqual({ ...missing.body, code });
    expect(Object.keys(asBob.body)).toEqual(Object.keys(missing.body));
    const redeemBob = await p.call('/v1/redemptions', { method: 'POST', json: { code, customer: { id: 'bob' } } });
    const redeemMissing = await p.call('/v1/redemptions', { method: 'POST', json: { code: unknown, customer: { id: 'bob' } } });
    expect(redeemBob.status).toBe(422);
    expect(redeemBob.body).toEqual(redeemMissing.body);
    expect([...redeemBob.headers.keys()].filter((h) => h !== 'date' && h !== 'x-request-id')).toEqual(
      [...redeemMissing.headers.keys()].filter((h) => h !== 'date' && h !== 'x-request-id'),
    );
    // No customer at all: the same answer.
    expect((await validate({ code }, freshIp())).body.reason).toBe('not_found');
    // The holder uses it.
    expect((await validate({ code, customer: { id: 'alice' } }, freshIp())).body.valid).toBe(true);
    // A voucher can lift the campaign's holder_only for itself.
    await p.call(`/v1/vouchers/${code}`, { method: 'PATCH', json: { rules: { holder_only: false } } });
    expect((await validate({ code, customer: { id: 'bob' } }, freshIp())).body.valid).toBe(true);
    // Held-code guesses are visible per campaign.
    const metric = await guessFailures.get();
    expect(metric.values.find((v) => v.labels.campaign_id === held)?.value).toBeGreaterThanOrEqual(2);
    expect(metric.values.find((v) => v.labels.campaign_id === 'unknown')?.value).toBeGreaterThanOrEqual(1);
  });
});

// Default 10-minute guess window here, so a burst that takes a while on a loaded machine stays in one window.
describe('per-API-key cap and parallel guesses', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform({ workers: false, env: { VALIDATION_API_KEY_LIMIT: '50', VALIDATION_API_KEY_WINDOW_SECONDS: '60' } });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('caps total validation calls per API key, whatever the shopper, and leaves other keys alone', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('CAP');
    await createVoucher(p, campaign, code);
    for (let i = 0; i < 50; i++) {
      const res = await p.call('/v1/validations', { method: 'POST', json: { code }, headers: { 'X-Forwarded-For': `192.0.2.${i}` } });
      expect(res.status).toBe(200);
    }
    const capped = await p.call('/v1/validations', { method: 'POST', json: { code } });
    expect(capped.status).toBe(429);
    expect(capped.body.code).toBe('rate_limited');
    expect(Number(capped.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await createApiKey(p.platform.db, { name: 'other checkout', role: 'standard' });
    const res = await apiCall(p.url, other.key, '/v1/validations', { method: 'POST', json: { code } });
    expect(res.status).toBe(200);
    expect(res.body.valid).toBe(true);
  });
  it('holds the guess limit exactly when guesses arrive in parallel', async () => {
    // Its own API key, so the burst does not spend the capped key's budget.
    const burst = await createApiKey(p.platform.db, { name: 'burst', role: 'standard' });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        apiCall(p.url, burst.key, '/v1/validations', {
          method: 'POST',
          json: { code: `PAR-${i}` },
          headers: { 'X-Forwarded-For': '203.0.113.99' },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(30);
  });
});
