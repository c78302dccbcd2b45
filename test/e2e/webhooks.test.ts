import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../src/events/outbox.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { createEndpoint } from '../../src/webhooks/endpoints.ts';
import { postWebhook } from '../../src/webhooks/http-client.ts';
import { businessEventPayload, emitTestEvent } from '../support/events.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

/** Real time plus an offset the test can move, so "5 days of failures" does not take 5 days. */
class OffsetClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

describe('webhooks', () => {
  let p: TestPlatform;
  const clock = new OffsetClock();
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    p = await startTestPlatform({
      clock,
      env: {
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_RETRY_DELAYS_MS: '200,300,400',
        OUTBOX_RELAY_INTERVAL_MS: '200',
        WEBHOOK_REQUEUE_AFTER_MS: '3000',
        WEBHOOK_ENDPOINT_RATE_PER_S: '200',
        WEBHOOK_ENDPOINT_MAX_IN_FLIGHT: '2',
        WEBHOOK_DELIVERY_CONCURRENCY: '4',
      },
    });
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await p?.destroy();
  });

  async function receiver(reply?: WebhookReceiver['reply']) {
    const r = await startReceiver(reply);
    receivers.push(r);
    return r;
  }

  async function endpoint(url: string, events: string[]) {
    const res = await p.call('/v1/webhooks', { method: 'POST', json: { url, events } });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string };
  }

  function emit(type: string, data: Record<string, unknown> = {}) {
    return emitTestEvent(p.platform.db, type, data);
  }

  async function deliveries(endpointId: string) {
    const res = await p.call(`/v1/webhooks/${endpointId}/deliveries`);
    expect(res.status).toBe(200);
    return res.body.data as any[];
  }

  it('registers endpoints, shows the secret once, and validates input', async () => {
    const created = await p.call('/v1/webhooks', {
      method: 'POST',
      json: { url: 'http://127.0.0.1:9/hook', events: ['voucher.published', 'voucher.redemption.*'], description: 'crm' },
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    expect(created.headers.get('location')).toBe(`/v1/webhooks/${created.body.id}`);
    const shown = await p.call(`/v1/webhooks/${created.body.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      url: 'http://127.0.0.1:9/hook',
      events: ['voucher.published', 'voucher.redemption.*'],
      enabled: true,
      description: 'crm',
    });
    expect(JSON.stringify(shown.body)).not.toContain('whsec_');
    const listed = await p.call('/v1/webhooks');
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');
    expect(listed.body.data.map((e: { id: string }) => e.id)).toContain(created.body.id);

    // Secrets are stored encrypted.
    const { rows } = await p.platform.db.query('select secret_encrypted from webhook_endpoints where id = $1', [created.body.id]);
    expect(rows[0]?.secret_encrypted).not.toContain(created.body.secret.slice(6, 20));

    const patched = await p.call(`/v1/webhooks/${created.body.id}`, { method: 'PATCH', json: { events: ['*'], enabled: false } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ events: ['*'], enabled: false, disabled_reason: 'manual' });

    const badEvents = await p.call('/v1/webhooks', { method: 'POST', json: { url: 'http://127.0.0.1:9/', events: ['Not A Type'] } });
    expect(badEvents.status).toBe(400);
    expect(badEvents.body.code).toBe('validation_failed');
    const badUrl = await p.call('/v1/webhooks', { method: 'POST', json: { url: 'not a url', events: ['*'] } });
    expect(badUrl.status).toBe(422);
    expect(badUrl.headers.get('content-type')).toContain('application/problem+json');
    expect(badUrl.body.code).toBe('webhook_url_invalid');
    const ftp = await p.call('/v1/webhooks', { method: 'POST', json: { url: 'ftp://example.com/', events: ['*'] } });
    expect(ftp.body.code).toBe('webhook_url_invalid');

    expect((await p.call(`/v1/webhooks/${created.body.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await p.call(`/v1/webhooks/${created.body.id}`)).status).toBe(404);
    expect((await p.call('/v1/webhooks/nope')).body.code).toBe('webhook_not_found');
  });

  it('checks subscriptions against the event catalogue; families, * and business events still subscribe', async () => {
    const subscribe = (events: string[]) => p.call('/v1/webhooks', { method: 'POST', json: { url: 'http://127.0.0.1:9/', events } });
    for (const events of [['voucher.redeemed'], ['voucher.published', 'campaign.nope'], ['campaign.generation'], ['voucher.nope.*']]) {
      const refused = await subscribe(events);
      expect(refused.status, events.join()).toBe(400);
      expect(refused.body.code, events.join()).toBe('unknown_event_type');
      expect(refused.body.errors.map((e: { field: string }) => e.field)).toEqual([`events.${events.length - 1}`]);
    }
    for (const events of [['*'], ['voucher.*'], ['voucher.redemption.*', 'campaign.expired'], ['order.created', 'customer.*']]) {
      const accepted = await subscribe(events);
      expect(accepted.status, events.join()).toBe(201);
      expect(accepted.body.events).toEqual(events);
      await p.call(`/v1/webhooks/${accepted.body.id}`, { method: 'DELETE' });
    }
    const endpoint = await subscribe(['voucher.created']);
    const patched = await p.call(`/v1/webhooks/${endpoint.body.id}`, { method: 'PATCH', json: { events: ['voucher.redeemed'] } });
    expect(patched.body.code).toBe('unknown_event_type');
    await p.call(`/v1/webhooks/${endpoint.body.id}`, { method: 'DELETE' });
  });

  it('signs every delivery per Standard Webhooks; the receiver verifies with the standardwebhooks library', async () => {
    const r = await receiver();
    const ep = await endpoint(`${r.url}/hooks`, ['sig.checked']);
    const eventId = await emit('sig.checked', { voucher: 'SPRING-1234', amount: 500 });
    const got = await waitFor(async () => r.received[0], 60_000, 5);
    const payload = new Webhook(ep.secret).verify(got.body, got.headers as Record<string, string>) as Record<string, unknown>;
    expect(payload).toMatchObject({ id: eventId, type: 'sig.checked', data: { data: { voucher: 'SPRING-1234', amount: 500 } } });
    expect(typeof payload.created_at).toBe('string');
    expect(got.headers['webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    // A different secret does not verify.
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(got.body, got.headers as Record<string, string>),
    ).toThrow();

    const [d] = await waitFor(async () => {
      const list = await deliveries(ep.id);
      return list[0]?.status === 'succeeded' ? list : undefined;
    });
    expect(d).toMatchObject({
      id: got.id,
      event_id: eventId,
      event_type: 'sig.checked',
      status: 'succeeded',
      attempts: 1,
      last_status_code: 200,
    });
    expect(d.attempt_log[0]).toMatchObject({ attempt: 1, status_code: 200, error: null });
    expect(d.attempt_log[0].latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('retries a failing receiver until it recovers, with the same webhook-id every time', async () => {
    const r = await receiver((_req, i) => ({ status: i < 2 ? 500 : 204 }));
    const ep = await endpoint(r.url, ['retry.checked']);
    await emit('retry.checked', { n: 1 });
    await waitFor(async () => r.received.length >= 3 && r.received);
    expect(new Set(r.received.map((x) => x.id)).size).toBe(1);
    for (const x of r.received) new Webhook(ep.secret).verify(x.body, x.headers as Record<string, string>);
    const [d] = await waitFor(async () => {
      const list = await deliveries(ep.id);
      return list[0]?.status === 'succeeded' ? list : undefined;
    });
    expect(d.attempts).toBe(3);
    expect(d.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([500, 500, 204]);
    expect(d.attempt_log[0].error).toBe('HTTP 500');
    // The endpoint recovered: no longer counted as failing (health is written just after the attempt's record).
    await waitFor(async () => (await p.call(`/v1/webhooks/${ep.id}`)).body.failing_since === null, 10_000);
  });

  it('keeps a retry due within a second in the batch job that failed it: no job of its own, the same webhook-id', async () => {
    const failedOnce = new Set<string>();
    const r = await receiver((req) => {
      if (failedOnce.has(req.id)) return { status: 200 };
      failedOnce.add(req.id);
      return { status: 500 };
    });
    const ep = await endpoint(r.url, ['kept.retry']);
    // One transaction: one relay batch, so one batch job for this endpoint.
    const events = await p.platform.db.transaction(async (tx) => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await emitEvent(tx, 'kept.retry', businessEventPayload({ i })));
      return ids;
    });
    const done = await waitFor(async () => {
      const list = await deliveries(ep.id);
      return list.length === events.length && list.every((d) => d.status === 'succeeded') ? list : undefined;
    });
    for (const d of done) {
      expect(d.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([500, 200]);
      expect(r.received.filter((x) => x.id === d.id)).toHaveLength(2);
    }
    const jobs = await p.platform.queues.get('webhook').getJobs(['completed', 'active', 'waiting', 'delayed', 'failed']);
    const carriers = jobs.filter((j) => (j.data as { endpointId?: string }).endpointId === ep.id);
    expect(carriers.map((j) => j.name)).toEqual(['webhook.deliver-batch']);
  });

  it('honours Retry-After on 429', async () => {
    const r = await receiver((_req, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }));
    await endpoint(r.url, ['retry.after']);
    await emit('retry.after');
    await waitFor(async () => r.received.length >= 2);
    expect((r.received[1] as { at: number }).at - (r.received[0] as { at: number }).at).toBeGreaterThanOrEqual(1_900);
  });

  it('dead-letters after the last attempt; a manual retry sends it again with the same webhook-id', async () => {
    let healthy = false;
    const r = await receiver(() => ({ status: healthy ? 200 : 503 }));
    const ep = await endpoint(r.url, ['dead.letter']);
    await emit('dead.letter');
    const [dead] = await waitFor(async () => {
      const list = await deliveries(ep.id);
      return list[0]?.status === 'failed' ? list : undefined;
    });
    expect(dead.attempts).toBe(4); // the first attempt and one per WEBHOOK_RETRY_DELAYS_MS entry
    expect(dead.last_error).toMatch(/dead-lettered after 4 attempts/);
    expect(r.received).toHaveLength(4);

    healthy = true;
    const retried = await p.call(`/v1/webhook-deliveries/${dead.id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    const again = await p.call(`/v1/webhook-deliveries/${dead.id}/retry`, { method: 'POST' });
    expect([202, 409]).toContain(again.status);
    if (again.status === 409) expect(again.body.code).toBe('webhook_delivery_pending');
    const done = await waitFor(async () => {
      const d = (await p.call(`/v1/webhook-deliveries/${dead.id}`)).body;
      return d.status === 'succeeded' ? d : undefined;
    });
    expect(done.attempts).toBeGreaterThanOrEqual(5);
    expect(new Set(r.received.map((x) => x.id))).toEqual(new Set([dead.id]));
    expect((await p.call('/v1/webhook-deliveries/00000000-0000-0000-0000-000000000000/retry', { method: 'POST' })).status).toBe(404);
  });

  it('410 Gone disables the endpoint and a webhook.endpoint.disabled event says so', async () => {
    const watcher = await receiver();
    await endpoint(watcher.url, ['webhook.endpoint.disabled']);
    const gone = await receiver(() => ({ status: 410 }));
    const ep = await endpoint(gone.url, ['gone.checked']);
    await emit('gone.checked', { n: 1 });
    const disabled = await waitFor(async () => {
      const e = (await p.call(`/v1/webhooks/${ep.id}`)).body;
      return e.enabled === false ? e : undefined;
    });
    expect(disabled.disabled_reason).toBe('gone');
    expect(gone.received).toHaveLength(1);
    const notice = await waitFor(async () => watcher.received.find((x) => JSON.parse(x.body).data.endpoint_id === ep.id));
    expect(JSON.parse(notice.body)).toMatchObject({ type: 'webhook.endpoint.disabled', data: { endpoint_id: ep.id, reason: 'gone' } });
    // Nothing more goes to a disabled endpoint.
    await emit('gone.checked', { n: 2 });
    await waitFor(async () => {
      const { rows } = await p.platform.db.query(
        `select count(*)::int as n from outbox_events where type = 'gone.checked' and dispatched_at is null`,
      );
      return rows[0]?.n === 0;
    });
    expect(gone.received).toHaveLength(1);
    // Enabling again clears the reason.
    const enabled = await p.call(`/v1/webhooks/${ep.id}`, { method: 'PATCH', json: { enabled: true } });
    expect(enabled.body).toMatchObject({ enabled: true, disabled_reason: null });
  });

  it('disables an endpoint that keeps failing for WEBHOOK_DISABLE_AFTER_MS', async () => {
    const r = await receiver(() => ({ status: 500 }));
    const ep = await endpoint(r.url, ['always.failing']);
    await emit('always.failing');
    await waitFor(async () => r.received.length >= 1);
    await waitFor(async () => (await p.call(`/v1/webhooks/${ep.id}`)).body.failing_since);
    clock.offsetMs = 6 * 24 * 3600 * 1000;
    try {
      const disabled = await waitFor(async () => {
        const e = (await p.call(`/v1/webhooks/${ep.id}`)).body;
        return e.enabled === false ? e : undefined;
      });
      expect(disabled.disabled_reason).toBe('failing');
      await waitFor(async () => {
        const events = await p.call('/v1/events?type=webhook.endpoint.disabled&limit=1000');
        return events.body.data.some(
          (e: { data: { endpoint_id: string; reason: string } }) => e.data.endpoint_id === ep.id && e.data.reason === 'failing',
        );
      });
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('replays everything since a time, with the original webhook-ids', async () => {
    const r = await receiver();
    const ep = await endpoint(r.url, ['replay.*']);
    const before = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 3; i++) await emit('replay.checked', { i });
    await emit('unrelated.type');
    await waitFor(async () => r.received.length >= 3);
    await waitFor(async () => (await deliveries(ep.id)).every((d) => d.status === 'succeeded'));
    const firstIds = r.received.map((x) => x.id).sort();
    const replay = await p.call(`/v1/webhooks/${ep.id}/replay`, { method: 'POST', json: { since: before } });
    expect(replay.status).toBe(202);
    await waitFor(async () => r.received.length >= 6);
    expect(
      r.received
        .slice(3)
        .map((x) => x.id)
        .sort(),
    ).toEqual(firstIds);
    expect(r.received.every((x) => JSON.parse(x.body).type === 'replay.checked')).toBe(true);
    const bad = await p.call(`/v1/webhooks/${ep.id}/replay`, { method: 'POST', json: { since: 'yesterday' } });
    expect(bad.status).toBe(400);
  });

  it('signs with both secrets for 24 hours after a rotation', async () => {
    const r = await receiver();
    const ep = await endpoint(r.url, ['rotation.checked']);
    const rotated = await p.call(`/v1/webhooks/${ep.id}/rotate-secret`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(ep.secret);
    expect(rotated.body.previous_secret_expires_at).not.toBeNull();
    await emit('rotation.checked');
    const got = await waitFor(async () => r.received[0]);
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    new Webhook(ep.secret).verify(got.body, got.headers as Record<string, string>);
    new Webhook(rotated.body.secret).verify(got.body, got.headers as Record<string, string>);
  });

  it('lists events with a type filter and cursor pagination', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await emit('feed.checked', { i }));
    // Events show once every transaction older than theirs has finished (cluster-wide), so wait for that.
    await waitFor(async () => (await p.call('/v1/events?type=feed.checked')).body.data.length === 5);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await p.call(`/v1/events?type=feed.checked&limit=2${after ? `&after=${after}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((e: { id: string }) => e.id));
      after = page.body.next_cursor;
      if (!page.body.has_more) break;
    }
    expect(seen).toEqual(ids);
    const first = (await p.call('/v1/events?type=feed.checked&limit=1')).body.data[0];
    expect(first).toMatchObject({ id: ids[0], type: 'feed.checked', data: { data: { i: 0 } } });
    expect((await p.call('/v1/events?after=nope')).status).toBe(400);
  });

  it('refuses private, loopback and metadata addresses unless allowed, also at connect time', async () => {
    const strict = { ...p.platform, config: { ...p.platform.config, WEBHOOK_ALLOW_PRIVATE_NETWORKS: false } };
    for (const url of [
      'https://127.0.0.1/x',
      'https://10.1.2.3/',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/',
      'https://[::ffff:192.168.0.1]/',
      'https://localhost/',
    ]) {
      await expect(createEndpoint(strict, { url, events: ['*'] })).rejects.toMatchObject({
        code: 'webhook_url_private_address',
        kind: 'unprocessable',
      });
    }
    await expect(createEndpoint(strict, { url: 'http://example.com/', events: ['*'] })).rejects.toMatchObject({
      code: 'webhook_url_insecure',
    });
    const production = { ...p.platform, config: { ...p.platform.config, NODE_ENV: 'production' as const } };
    await expect(createEndpoint(production, { url: 'http://example.com/', events: ['*'] })).rejects.toMatchObject({
      code: 'webhook_url_insecure',
    });

    // At connect time the resolved address is checked: a name resolving to loopback is refused, an allowed one connects.
    const r = await receiver();
    const port = new URL(r.url).port;
    const refused = await postWebhook(`http://localhost:${port}/`, {}, '{}', { timeoutMs: 2_000, allowPrivateNetworks: false });
    expect(refused.statusCode).toBeUndefined();
    expect(refused.error).toMatch(/private, loopback/);
    const literal = await postWebhook(`http://127.0.0.1:${port}/`, {}, '{}', { timeoutMs: 2_000, allowPrivateNetworks: false });
    expect(literal.error).toMatch(/private, loopback/);
    expect(r.received).toHaveLength(0);
    const allowed = await postWebhook(`http://localhost:${port}/`, {}, '{}', { timeoutMs: 2_000, allowPrivateNetworks: true });
    expect(allowed.statusCode).toBe(200);
  });

  it('does not follow redirects', async () => {
    const target = await receiver();
    const r = await receiver((_req, i) => (i === 0 ? { status: 302, headers: { location: `${target.url}/elsewhere` } } : { status: 200 }));
    const ep = await endpoint(r.url, ['redirect.checked']);
    await emit('redirect.checked');
    const [d] = await waitFor(async () => {
      const list = await deliveries(ep.id);
      return list[0]?.status === 'succeeded' ? list : undefined;
    });
    expect(d.attempt_log[0]).toMatchObject({ status_code: 302 });
    expect(d.attempt_log[0].error).toMatch(/not followed/);
    expect(target.received).toHaveLength(0);
  });

  it('gives back the leases of a claimed wave that got no send slot in time, and sends it later', async () => {
    // At most 2 in flight per endpoint here: the first two hold both slots for 3 s.
    const held = await receiver(() => ({ status: 200, delayMs: 3_000 }));
    await endpoint(held.url, ['unlease.checked']);
    await emit('unlease.checked', { i: 1 });
    await emit('unlease.checked', { i: 2 });
    await waitFor(async () => held.received.length >= 2);
    const later = [await emit('unlease.checked', { i: 3 }), await emit('unlease.checked', { i: 4 })];
    const leases = async () =>
      (
        await p.platform.db.query<{ leased: boolean; attempts: number }>(
          'select leased_until is not null as leased, attempts from webhook_deliveries where event_id = any($1::uuid[])',
          [later],
        )
      ).rows;
    // Their batch job claims them (a lease each) ...
    await waitFor(async () => (await leases()).filter((r) => r.leased).length === 2, 5_000, 20);
    // ... and, a second without a slot, gives the leases back while the first two are still out (without that, the
    // leases would run for the whole send timeout).
    await waitFor(
      async () => {
        const rows = await leases();
        return rows.length === 2 && rows.every((r) => !r.leased && r.attempts === 0);
      },
      5_000,
      20,
    );
    // Still only the first two requests: 3 and 4 cannot go before those slots come back.
    expect(held.received).toHaveLength(2);
    // Sent once each when slots free up.
    await waitFor(async () => held.received.length >= 4, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(new Set(held.received.map((r) => r.id)).size).toBe(4);
    expect(held.received).toHaveLength(4);
  });

  it('paces a slow receiver so it cannot starve the others', async () => {
    const slow = await receiver(() => ({ status: 200, delayMs: 600 }));
    const fast = await receiver();
    await endpoint(slow.url, ['pace.checked']);
    await endpoint(fast.url, ['pace.checked']);
    for (let i = 0; i < 12; i++) await emit('pace.checked', { i });
    await waitFor(async () => fast.received.length >= 12);
    // With 4 delivery slots and at most 2 in flight per endpoint, the slow receiver holds at most 2 at a time.
    expect(slow.received.length).toBeLessThan(12);
    await waitFor(async () => slow.received.length >= 12, 60_000);
  });
});
