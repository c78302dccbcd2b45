import { expect } from 'vitest';
import { type TestPlatform, waitFor } from './platform.ts';
import type { WebhookReceiver } from './webhook-receiver.ts';

/**
 * The environment the smoke below needs: chunked generation, a sweep every second, webhooks to a local receiver.
 * Merge it into the platform's env.
 */
export const SMOKE_ENV = {
  GENERATION_CHUNK_SIZE: '500',
  EXPIRY_SWEEP_CRON: '* * * * * *',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  OUTBOX_RELAY_INTERVAL_MS: '200',
} as const;

/**
 * The platform end to end against whatever PostgreSQL and Redis it was started on (a Redis Cluster, PgBouncer):
 * a chunked generation (a BullMQ flow), parallel validations from many shoppers (guess counters read and
 * written), a shopper locked out, parallel redemptions, their webhooks delivered exactly once each, and the
 * scheduled expiry sweep. Exact counts throughout.
 */
export async function runPlatformSmoke(p: TestPlatform, receiver: WebhookReceiver): Promise<void> {
  const endpoint = await p.call('/v1/webhooks', {
    method: 'POST',
    json: { url: receiver.url, events: ['voucher.redemption.succeeded'] },
  });
  expect(endpoint.status).toBe(201);
  const campaign = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'Smoke', code_config: { pattern: 'SMK-####-####' } } });
  expect(campaign.status).toBe(201);
  const campaignId = campaign.body.id as string;

  const generation = await p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 2_000 } });
  expect(generation.status).toBe(202);
  const generated = await waitFor(async () => {
    const g = (await p.call(`/v1/generations/${generation.body.id}`)).body;
    return g.status === 'completed' || g.status === 'failed' ? g : undefined;
  }, 120_000);
  expect(generated).toMatchObject({ status: 'completed', generated: 2_000 });
  const { rows } = await p.platform.db.query<{ code: string }>('select code from vouchers where campaign_id = $1 order by code limit 30', [
    campaignId,
  ]);
  const codes = rows.map((r) => r.code);
  expect(codes).toHaveLength(30);

  const validate = (code: string, ip: string, customer?: string) =>
    p.call('/v1/validations', {
      method: 'POST',
      json: { code, ...(customer ? { customer: { id: customer } } : {}) },
      headers: { 'X-Forwarded-For': ip },
    });
  const valid = await Promise.all(codes.slice(0, 20).map((code, i) => validate(code, `198.51.100.${i + 1}`, `shopper-${i}`)));
  expect(valid.map((v) => [v.status, v.body.valid])).toEqual(Array(20).fill([200, true]));
  const unknown = await Promise.all(Array.from({ length: 8 }, (_, i) => validate(`SMK-NONE-${i}`, `203.0.113.${i + 1}`)));
  expect(unknown.map((v) => v.body.reason)).toEqual(Array(8).fill('not_found'));
  // One shopper guessing: exactly GUESS_LIMIT (10) answers, the rest 429, even for a real code afterwards.
  const guesses = await Promise.all(Array.from({ length: 14 }, (_, i) => validate(`SMK-GUESS-${i}`, '192.0.2.77')));
  expect(guesses.filter((g) => g.status === 200)).toHaveLength(10);
  expect(guesses.filter((g) => g.status === 429)).toHaveLength(4);
  expect((await validate(codes[0] as string, '192.0.2.77')).status).toBe(429);

  const redeem = (code: string, customer: string) =>
    p.call('/v1/redemptions', {
      method: 'POST',
      json: { code, customer: { id: customer } },
      headers: { 'X-Forwarded-For': '198.51.100.200' },
    });
  const redeemed = await Promise.all(codes.slice(0, 10).map((code, i) => redeem(code, `buyer-${i}`)));
  expect(redeemed.map((r) => r.status)).toEqual(Array(10).fill(201));
  const twice = await Promise.all(Array.from({ length: 5 }, () => redeem(codes[10] as string, 'racer')));
  expect(twice.map((r) => r.status).sort()).toEqual([201, 422, 422, 422, 422]);

  // Every redemption's webhook arrives, each event once (a retry would repeat a webhook-id).
  await waitFor(async () => receiver.received.length >= 11, 90_000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(new Set(receiver.received.map((r) => r.id)).size).toBe(11);
  expect(receiver.received).toHaveLength(11);
  const redeemedCodes = receiver.received.map((r) => JSON.parse(r.body).data.code).sort();
  expect(redeemedCodes).toEqual(codes.slice(0, 11).sort());

  // The scheduled sweep (every second) expires a voucher past its date, with its lifecycle event.
  const expiring = await p.call('/v1/vouchers', {
    method: 'POST',
    json: { campaign_id: campaignId, code: 'SMK-EXPIRED-1', expiration_date: new Date(Date.now() - 60_000).toISOString() },
  });
  expect(expiring.status).toBe(201);
  await waitFor(async () => (await p.call('/v1/vouchers/SMK-EXPIRED-1')).body.status === 'expired', 90_000, 200);
  const events = await p.call('/v1/vouchers/SMK-EXPIRED-1/events');
  expect(events.body.data.filter((e: { type: string }) => e.type === 'expired')).toHaveLength(1);

  const counts = await p.platform.db.query<{ redemptions: number; used: number }>(
    `select (select count(*)::int from redemptions where campaign_id = $1 and status = 'succeeded') as redemptions,
            (select coalesce(sum(redemption_count), 0)::int from vouchers where campaign_id = $1) as used`,
    [campaignId],
  );
  expect(counts.rows[0]).toEqual({ redemptions: 11, used: 11 });
}
