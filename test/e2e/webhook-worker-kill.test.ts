import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../src/events/outbox.ts';
import { businessEventPayload, emitTestEvent } from '../support/events.ts';
import { spawnEntrypoint, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const workerEnv = { WORKER_LOCK_DURATION_MS: '1500', WORKER_QUEUES: 'outbox,webhook' };

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

describe('a webhook worker killed mid-delivery', () => {
  let p: TestPlatform;
  const children: ChildProcess[] = [];
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    // This process serves the API only; deliveries run in worker processes the test kills.
    p = await startTestPlatform({
      workers: false,
      env: {
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_RETRY_DELAYS_MS: '200,500,1000',
        OUTBOX_RELAY_INTERVAL_MS: '200',
        WEBHOOK_REQUEUE_AFTER_MS: '3000',
      },
    });
  });
  afterAll(async () => {
    for (const child of children) await kill(child, 'SIGKILL');
    await Promise.all(receivers.map((r) => r.close()));
    await p?.destroy();
  });

  function worker(): ChildProcess {
    const child = spawnEntrypoint('worker', p.isolation, workerEnv);
    children.push(child);
    return child;
  }

  async function deliveryStatuses(endpointId: string): Promise<Record<string, number>> {
    const { rows } = await p.platform.db.query<{ status: string; n: number }>(
      'select status, count(*)::int as n from webhook_deliveries where endpoint_id = $1 group by status',
      [endpointId],
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  it('is delivered by another worker, with the same webhook-id', async () => {
    // The first request never gets an answer: the worker is killed while waiting for it.
    const r = await startReceiver((_req, i) => (i === 0 ? { status: 200, hang: true } : { status: 200 }));
    receivers.push(r);
    const ep = (await p.call('/v1/webhooks', { method: 'POST', json: { url: r.url, events: ['kill.single'] } })).body;
    const victim = worker();
    const eventId = await emitTestEvent(p.platform.db, 'kill.single', { n: 1 });
    await waitFor(async () => r.received.length >= 1, 30_000);
    await kill(victim, 'SIGKILL');
    expect(await deliveryStatuses(ep.id)).toEqual({ pending: 1 });

    const rescuer = worker();
    await waitFor(async () => (await deliveryStatuses(ep.id)).succeeded === 1, 30_000);
    expect(r.received.length).toBeGreaterThanOrEqual(2);
    expect(new Set(r.received.map((x) => x.id)).size).toBe(1);
    expect(r.received.every((x) => JSON.parse(x.body).id === eventId)).toBe(true);
    await kill(rescuer, 'SIGTERM');
    expect(rescuer.exitCode).toBe(0);
  });

  it('loses nothing when a worker dies in the middle of a batch', async () => {
    const r = await startReceiver(() => ({ status: 200, delayMs: 40 }));
    receivers.push(r);
    const ep = (await p.call('/v1/webhooks', { method: 'POST', json: { url: r.url, events: ['kill.batch'] } })).body;
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(await emitTestEvent(p.platform.db, 'kill.batch', { i }));
    const victim = worker();
    await waitFor(async () => r.received.length >= 10, 30_000, 10);
    await kill(victim, 'SIGKILL');

    const rescuer = worker();
    await waitFor(async () => (await deliveryStatuses(ep.id)).succeeded === ids.length, 45_000);
    const got = new Set(r.received.map((x) => JSON.parse(x.body).id));
    expect(ids.every((id) => got.has(id))).toBe(true);
    // At least once: a resend keeps its webhook-id, so a receiver can drop the duplicate.
    expect(new Set(r.received.map((x) => x.id)).size).toBe(ids.length);
    await kill(rescuer, 'SIGTERM');
  });

  it('loses nothing when a worker dies while its batch job holds retries due soon', async () => {
    // Every first attempt fails; the retries (due in 200 ms) stay in the batch job the worker is killed with.
    const failedOnce = new Set<string>();
    const r = await startReceiver((req) => {
      if (failedOnce.has(req.id)) return { status: 200 };
      failedOnce.add(req.id);
      return { status: 500 };
    });
    receivers.push(r);
    const ep = (await p.call('/v1/webhooks', { method: 'POST', json: { url: r.url, events: ['kill.retries'] } })).body;
    const ids = await p.platform.db.transaction(async (tx) => {
      const written: string[] = [];
      for (let i = 0; i < 20; i++) written.push(await emitEvent(tx, 'kill.retries', businessEventPayload({ i })));
      return written;
    });
    const victim = worker();
    await waitFor(async () => failedOnce.size >= 5, 30_000, 5);
    await kill(victim, 'SIGKILL');

    const rescuer = worker();
    await waitFor(async () => (await deliveryStatuses(ep.id)).succeeded === ids.length, 45_000);
    const delivered = new Set(r.received.map((x) => JSON.parse(x.body).id));
    expect(ids.every((id) => delivered.has(id))).toBe(true);
    expect(new Set(r.received.map((x) => x.id)).size).toBe(ids.length);
    await kill(rescuer, 'SIGTERM');
  });
});
