import { describe, expect, it, vi } from 'vitest';
import { emitTestEvent } from '../support/events.ts';
import { useForFile } from '../support/hooks.ts';
import { useTestPlatform, waitFor } from '../support/platform.ts';
import { useOwnRedis } from '../support/redis-server.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

describe('webhooks survive a Redis outage', () => {
  const redis = useOwnRedis();
  const p = useTestPlatform(() => ({
    env: {
      REDIS_URL: redis.url,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_DELAYS_MS: '200,500,1000,1000,1000,1000',
      OUTBOX_RELAY_INTERVAL_MS: '200',
      WEBHOOK_REQUEUE_AFTER_MS: '1500',
    },
  }));
  // A little slow, so some deliveries are still queued in Redis when it goes away.
  const r = useForFile(
    'the receiver',
    () => startReceiver(() => ({ status: 200, delayMs: 30 })),
    (receiver) => receiver.close(),
  );

  it('delivers every event produced before, during and after Redis was stopped and restarted empty', async () => {
    const created = await p.call('/v1/webhooks', { method: 'POST', json: { url: r.url, events: ['outage.*'] } });
    expect(created.status).toBe(201);
    const emit = (phase: string, i: number) => emitTestEvent(p.platform.db, `outage.${phase}`, { i });

    const expected: string[] = [];
    for (let i = 0; i < 10; i++) expected.push(await emit('before', i));
    await waitFor(async () => r.received.length >= 3);

    // The outage is reported in the JSON logs, never as raw errors on stderr.
    const stderr = vi.spyOn(console, 'error');
    // Stop Redis for real while deliveries are still queued in it.
    for (let i = 0; i < 20; i++) expected.push(await emit('racing', i));
    await redis.kill();

    // State changes keep committing: the outbox is in PostgreSQL.
    for (let i = 0; i < 20; i++) expected.push(await emit('during', i));
    const events = await waitFor(async () => {
      const page = await p.call('/v1/events?type=outage.during&limit=100');
      return page.body.data?.length === 20 ? page : undefined;
    });
    expect(events.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const { rows: pending } = await p.platform.db.query<{ n: number }>(
      `select count(*)::int as n from outbox_events where type = 'outage.during' and dispatched_at is null`,
    );
    expect(pending[0]?.n).toBe(20); // not marked dispatched while nothing could be enqueued

    await redis.restart();
    expect(stderr.mock.calls.filter((call) => String(call[0]).includes('ECONNREFUSED'))).toEqual([]);
    stderr.mockRestore();
    for (let i = 0; i < 10; i++) expected.push(await emit('after', i));

    await waitFor(
      async () => {
        const got = new Set(r.received.map((x) => JSON.parse(x.body).id));
        return expected.every((id) => got.has(id));
      },
      60_000,
      200,
    );
    const { rows } = await p.platform.db.query<{ status: string; n: number }>(
      'select status, count(*)::int as n from webhook_deliveries group by status',
    );
    await waitFor(async () => {
      const { rows: open } = await p.platform.db.query<{ n: number }>(
        `select count(*)::int as n from webhook_deliveries where status <> 'succeeded'`,
      );
      return open[0]?.n === 0;
    });
    expect(rows.reduce((sum, row) => sum + row.n, 0)).toBe(expected.length);
    const { rows: undispatched } = await p.platform.db.query<{ n: number }>(
      'select count(*)::int as n from outbox_events where dispatched_at is null',
    );
    expect(undispatched[0]?.n).toBe(0);
  });
});
