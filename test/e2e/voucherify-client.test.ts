import { beforeAll, describe, expect, it } from 'vitest';
import { useTestPlatform } from '../support/platform.ts';
import { generatedCampaign, serverSdk, VoucherifyClientSide, VoucherifyServerSide } from '../support/voucherify.ts';

const SHOP = 'https://shop.example';

describe('the Voucherify-compatible client-side API through VoucherifyClientSide', () => {
  const p = useTestPlatform();
  let clientKey: { id: string; key: string };

  beforeAll(async () => {
    const client = await p.call('/v1/api-keys', { method: 'POST', json: { name: 'storefront', role: 'client', allowed_origins: [SHOP] } });
    expect(client.status).toBe(201);
    expect(client.body).toMatchObject({ role: 'client', allowed_origins: [SHOP] });
    clientKey = { id: client.body.id, key: client.body.key };
    const sdk = await serverSdk(p);
    await sdk.campaigns.create({
      name: 'Client VF',
      voucher: { type: 'DISCOUNT_VOUCHER', discount: { type: 'PERCENT', percent_off: 20 }, redemption: { quantity: 5 } },
    } as never);
    await sdk.campaigns.addCertainVoucher('Client VF', 'WEB-20');
    // Publishing claims a generated code: wait for the generation.
    await generatedCampaign(sdk, 'Client publish VF', 3, { type: 'PERCENT', percent_off: 5 });
  });
  const client = (origin = SHOP, key = clientKey) =>
    VoucherifyClientSide({
      clientApplicationId: key.id,
      clientSecretKey: key.key,
      apiUrl: `${p.url}/voucherify`,
      origin,
      trackingId: 'visitor-1',
    });

  it('validates, redeems, publishes and tracks from an allowed origin, with CORS headers', async () => {
    const valid = await client().validate({ code: 'WEB-20', amount: 10000 } as never);
    expect(valid).toMatchObject({
      valid: true,
      code: 'WEB-20',
      discount: { type: 'PERCENT', percent_off: 20 },
      order: { amount: 10000, discount_amount: 2000 },
    });
    const redeemed = await client().redeem('WEB-20', { order: { amount: 10000 } } as never);
    expect(redeemed).toMatchObject({ result: 'SUCCESS', voucher: { code: 'WEB-20' }, customer: { source_id: 'visitor-1' } });
    const published = await client().publish('Client publish VF', { customer: { source_id: 'visitor-1' } } as never);
    expect(published).toMatchObject({ object: 'publication', customer: { source_id: 'visitor-1' } });
    const tracked = await client().track('page_viewed', { source_id: 'visitor-1' } as never);
    expect(tracked).toMatchObject({ object: 'event', type: 'page_viewed' });

    const res = await fetch(`${p.url}/voucherify/client/v1/validate?code=WEB-20`, {
      headers: { 'X-Client-Application-Id': clientKey.id, 'X-Client-Token': clientKey.key, Origin: SHOP },
    });
    expect(res.headers.get('access-control-allow-origin')).toBe(SHOP);
  });

  it('answers a CORS preflight for an allowed origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${p.url}/voucherify/client/v1/validate`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'x-client-token' },
      });
    const ok = await preflight(SHOP);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(ok.headers.get('access-control-allow-headers')).toContain('X-Client-Token');
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses another origin, a server key on the client API and a client key on /v1 or the server API', async () => {
    const other = await client('https://evil.example')
      .validate('WEB-20')
      .catch((e: { code: number; key: string }) => e);
    expect(other).toMatchObject({ code: 403, key: 'forbidden' });

    const onV1 = await fetch(`${p.url}/v1/campaigns`, { headers: { Authorization: `Bearer ${clientKey.key}` } });
    expect(onV1.status).toBe(403);
    const onServer = VoucherifyServerSide({ applicationId: clientKey.id, secretKey: clientKey.key, apiUrl: `${p.url}/voucherify` });
    const refused = await onServer.vouchers.get('WEB-20').catch((e: { code: number; key: string }) => e);
    expect(refused).toMatchObject({ code: 403, key: 'forbidden' });

    const noOrigins = await p.call('/v1/api-keys', { method: 'POST', json: { name: 'bad', role: 'client' } });
    expect(noOrigins.status).toBe(400);
  });
});
