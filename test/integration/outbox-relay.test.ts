import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../src/events/outbox.ts';
import { listEvents } from '../../src/outbox/feed.ts';
import { relayBatch, relayOutbox } from '../../src/outbox/relay.ts';
import type { Platform } from '../../src/platform.ts';
import { jobIdOf } from '../../src/queues/catalog.ts';
import { reconcileLostWork } from '../../src/queues/reconcile.ts';
import { createEndpoint } from '../../src/webhooks/endpoints.ts';
import { businessEventPayload, emitTestEvent } from '../support/events.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';

describe('outbox relay', () => {
  let p: TestPlatform;
  let platform: Platform;

  beforeAll(async () => {
    // No workers: the test drives the relay itself and inspects what it enqueued.
    p = await startTestPlatform({
      api: false,
      workers: false,
      env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', OUTBOX_RELAY_BATCH_SIZE: '40', WEBHOOK_REQUEUE_AFTER_MS: '100' },
    });
    platform = p.platform;
  });
  afterAll(async () => {
    await p?.destroy();
  });

  const emit = (type: string, data: Record<string, unknown> = {}) => emitTestEvent(platform.db, type, data);
  const count = async (sql: string, params: unknown[] = []) => (await platform.db.query<{ n: number }>(sql, params)).rows[0]?.n;

  it('several relays at once fan each event out exactly once (FOR UPDATE SKIP LOCKED)', async () => {
    const a = await createEndpoint(platform, { url: 'http://127.0.0.1:9/a', events: ['relay.*'] });
    const b = await createEndpoint(platform, { url: 'http://127.0.0.1:9/b', events: ['relay.one'] });
    const off = await createEndpoint(platform, { url: 'http://127.0.0.1:9/c', events: ['*'], enabled: false });
    for (let i = 0; i < 300; i++) await emit(i % 2 ? 'relay.one' : 'relay.two', { i });

    const results = await Promise.all([1, 2, 3, 4].map(() => relayOutbox(platform)));
    expect(results.reduce((sum, r) => sum + r.events, 0)).toBe(300);
    expect(results.filter((r) => r.events > 0).length).toBeGreaterThan(1); // the work really was shared
    expect(await count('select count(*)::int as n from outbox_events where dispatched_at is null')).toBe(0);
    expect(await count('select count(*)::int as n from webhook_deliveries where endpoint_id = $1', [a.endpoint.id])).toBe(300);
    expect(await count('select count(*)::int as n from webhook_deliveries where endpoint_id = $1', [b.endpoint.id])).toBe(150);
    expect(await count('select count(*)::int as n from webhook_deliveries where endpoint_id = $1', [off.endpoint.id])).toBe(0);
    // Each delivery rides in exactly one batch job (one endpoint per job).
    const jobs = await platform.queues.get('webhook').getJobs(['waiting', 'delayed', 'prioritized']);
    const carried = jobs.flatMap((job) => (job.data as { deliveries: { deliveryId: string }[] }).deliveries.map((d) => d.deliveryId));
    expect(carried).toHaveLength(450);
    expect(new Set(carried).size).toBe(450);
    expect(jobs.every((job) => job.name === 'webhook.deliver-batch')).toBe(true);
    // Relaying again finds nothing and enqueues nothing more.
    expect((await relayOutbox(platform)).events).toBe(0);
    await platform.queues.get('webhook').obliterate({ force: true });
    await platform.db.query('delete from webhook_endpoints');
  });

  it('leaves rows pending when the enqueue fails, and relays them once it works again', async () => {
    await createEndpoint(platform, { url: 'http://127.0.0.1:9/x', events: ['down.checked'] });
    const ids = [await emit('down.checked'), await emit('down.checked')];
    const broken: Platform = {
      ...platform,
      queues: {
        ...platform.queues,
        get: () =>
          ({
            addBulk: async () => {
              throw new Error('Connection is closed.');
            },
          }) as never,
      },
    };
    await expect(relayBatch(broken)).rejects.toThrow('Connection is closed.');
    expect(await count('select count(*)::int as n from outbox_events where id = any($1) and dispatched_at is null', [ids])).toBe(2);
    expect(await count('select count(*)::int as n from webhook_deliveries')).toBe(0);

    expect((await relayOutbox(platform)).events).toBe(2);
    expect(await count('select count(*)::int as n from webhook_deliveries')).toBe(2);
  });

  it('never relays an event whose transaction rolled back', async () => {
    await expect(
      platform.db.transaction(async (tx) => {
        await emitEvent(tx, 'rolled.back', businessEventPayload());
        throw new Error('change failed');
      }),
    ).rejects.toThrow('change failed');
    expect(await count(`select count(*)::int as n from outbox_events where type = 'rolled.back'`)).toBe(0);
  });

  it('re-queues a pending delivery whose job was lost, and leaves queued and leased ones alone', async () => {
    const queue = platform.queues.get('webhook');
    const deliverJobId = (deliveryId: string, round: number, attempt: number) =>
      jobIdOf('webhook.deliver', { deliveryId, round, attempt }) as string;
    const reconcileWebhookAttempts = async () => (await reconcileLostWork(platform, { only: ['webhook.deliver'], missingForMs: 0 })).length;
    const { rows } = await platform.db.query<{ id: string; batch_job_id: string }>(
      `update webhook_deliveries set next_attempt_at = now() - interval '1 hour' where status = 'pending' returning id, batch_job_id`,
    );
    expect(rows).toHaveLength(2);
    const [lost, kept] = rows as [{ id: string; batch_job_id: string }, { id: string; batch_job_id: string }];
    // Both first attempts ride in the relay's batch job: while it is alive, neither is lost.
    expect(lost.batch_job_id).toBe(kept.batch_job_id);
    expect(await queue.getJob(lost.batch_job_id)).toBeDefined();
    expect(await reconcileWebhookAttempts()).toBe(0);

    // The batch lost; one delivery leased (its attempt in flight elsewhere): only the other is re-created.
    await queue.remove(lost.batch_job_id);
    await platform.db.query(`update webhook_deliveries set leased_until = now() + interval '1 minute' where id = $1`, [kept.id]);
    expect(await reconcileWebhookAttempts()).toBe(1);
    const recreated = await queue.getJob(deliverJobId(lost.id, 1, 1));
    expect(recreated).toBeDefined();
    expect(await queue.getJob(deliverJobId(kept.id, 1, 1))).toBeUndefined();
    expect(await reconcileWebhookAttempts()).toBe(0);
    expect((await queue.getJob(deliverJobId(lost.id, 1, 1)))?.timestamp).toBe(recreated?.timestamp);

    // Its lease over (the sender died), the other is re-created too.
    await platform.db.query(`update webhook_deliveries set leased_until = now() - interval '1 second' where id = $1`, [kept.id]);
    expect(await reconcileWebhookAttempts()).toBe(1);
    expect(await queue.getJob(deliverJobId(kept.id, 1, 1))).toBeDefined();
  });

  it('lists events in commit order: a slow transaction never lands behind a cursor', async () => {
    const slow = await platform.db.pool.connect();
    try {
      await slow.query('begin');
      const early = await emitEvent(slow, 'order.checked', businessEventPayload({ n: 'early-seq' }));
      const late = await emit('order.checked', { n: 'committed-first' });
      // While the older transaction is open, neither shows: a cursor past `late` would skip `early` forever.
      expect((await listEvents(platform, { type: 'order.checked', limit: 10 })).data).toEqual([]);
      await slow.query('commit');
      // (Other databases on the cluster may hold older transactions for a moment: wait for them.)
      const page = await waitFor(async () => {
        const listed = await listEvents(platform, { type: 'order.checked', limit: 10 });
        return listed.data.length >= 2 ? listed : undefined;
      });
      expect(page.data.map((e) => e.id)).toEqual([early, late]);
    } finally {
      slow.release();
    }
  });
});
