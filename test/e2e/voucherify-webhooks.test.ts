import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { serverSdk } from '../support/voucherify.ts';

interface Received {
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

describe('webhooks in Voucherify format', () => {
  let p: TestPlatform;
  let receiver: Server;
  const received: Received[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ body, headers: req.headers });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    p = await startTestPlatform({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', OUTBOX_RELAY_INTERVAL_MS: '100' } });
  });
  afterAll(async () => {
    await p?.destroy();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it("delivers Voucherify's envelope and event names, signed with x-voucherify-signature (HMAC-SHA256 hex of the body)", async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    const endpoint = await p.call('/v1/webhooks', {
      method: 'POST',
      json: { url, events: ['voucher.redemption.*', 'voucher.created', 'voucher.updated', 'customers.created'], format: 'voucherify' },
    });
    expect(endpoint.status).toBe(201);
    expect(endpoint.body.format).toBe('voucherify');
    const secret: string = endpoint.body.secret;

    const sdk = await serverSdk(p);
    await sdk.vouchers.create({ code: 'HOOK-1', type: 'DISCOUNT_VOUCHER', discount: { type: 'AMOUNT', amount_off: 100 } } as never);
    const redemption = await sdk.redemptions.redeem('HOOK-1', { order: { amount: 1000 } } as never);
    await sdk.redemptions.rollback(redemption.id, { reason: 'test' });
    await sdk.vouchers.update({ code: 'HOOK-1', metadata: { tier: 'gold' } } as never);
    await sdk.customers.create({ source_id: 'hook-ada', email: 'ada@example.com' } as never);
    await sdk.customers.create({ source_id: 'hook-ada', name: 'Ada' } as never); // an update: no second creation

    await waitFor(async () => received.length >= 5, 30_000);
    const types = received.map((r) => JSON.parse(r.body).type).sort();
    expect(types).toEqual([
      'customer.created',
      'redemption.rollback.succeeded',
      'redemption.succeeded',
      'voucher.created',
      'voucher.updated',
    ]);
    for (const r of received) {
      // As Voucherify's docs describe: HMAC-SHA256 of the raw body with the secret, hex, compared with the header.
      const expected = createHmac('sha256', secret).update(r.body).digest('hex');
      expect(r.headers['x-voucherify-signature']).toBe(expected);
      const envelope = JSON.parse(r.body);
      expect(Object.keys(envelope).sort()).toEqual(['created_at', 'data', 'event', 'id', 'project_id', 'source', 'type']);
    }
    const succeeded = JSON.parse(received.find((r) => JSON.parse(r.body).type === 'redemption.succeeded')?.body as string);
    expect(succeeded.data.object.code).toBe('HOOK-1');
    const updated = JSON.parse(received.find((r) => JSON.parse(r.body).type === 'voucher.updated')?.body as string);
    expect(updated.data.object).toMatchObject({ code: 'HOOK-1', metadata: { tier: 'gold' }, changed: ['metadata'] });
    const customer = JSON.parse(received.find((r) => JSON.parse(r.body).type === 'customer.created')?.body as string);
    expect(customer.data.object).toMatchObject({ id: 'hook-ada', email: 'ada@example.com' });
    expect(customer.event.type).toBe('customers.created');
  });
});
