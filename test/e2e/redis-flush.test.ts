import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../src/events/outbox.ts';
import { createEndpoint } from '../../src/webhooks/endpoints.ts';
import { seedVouchers } from '../integration/expiry-fixtures.ts';
import { campaignWithCodes, emailTemplate } from '../support/delivery-fixtures.ts';
import { type FakeTwilio, type SmtpSink, startFakeTwilio, startSmtpSink } from '../support/delivery-servers.ts';
import { businessEventPayload } from '../support/events.ts';
import { startTestPlatform, TEST_REDIS, type TestPlatform, waitFor } from '../support/platform.ts';
import { flushPrefix } from '../support/redis-server.ts';
import { uniqueName } from '../support/vouchers.ts';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

/**
 * Issue 12, fault 2: Redis loses its data (FLUSHDB, a failover to an empty replica) while the platform keeps running.
 * For each kind of durable work, every key of this file's queue prefix is deleted while the work is in flight; the
 * schedulers come back by themselves and the reconciler re-creates the lost jobs from PostgreSQL, and each piece of
 * work still completes exactly once. Intervals are short so this takes seconds.
 */
describe('work in flight when Redis loses its data completes exactly once', { timeout: 120_000 }, () => {
  let p: TestPlatform;
  let sink: SmtpSink;
  let twilio: FakeTwilio;
  let exportDir = '';
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    sink = await startSmtpSink({ parse: false });
    twilio = await startFakeTwilio();
    exportDir = await mkdtemp(path.join(tmpdir(), 'promo-flush-'));
    p = await startTestPlatform({
      env: {
        RECONCILE_INTERVAL_MS: '300',
        WEBHOOK_REQUEUE_AFTER_MS: '1500',
        WEBHOOK_TIMEOUT_MS: '1000',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_ENDPOINT_RATE_PER_S: '100',
        SMTP_URL: sink.url,
        MAIL_FROM: 'promo@shop.example',
        EMAIL_RATE_MAX: '150',
        EMAIL_RATE_DURATION_MS: '1000',
        SMS_PROVIDER: 'twilio',
        TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000001',
        TWILIO_AUTH_TOKEN: 'secret-token',
        TWILIO_API_BASE_URL: twilio.url,
        SMS_FROM: '+15005550006',
        SMS_RATE_MAX: '40',
        SMS_RATE_DURATION_MS: '1000',
        DELIVERY_BACKOFF_MS: '200',
        GENERATION_CHUNK_SIZE: '5000',
        GENERATION_CONCURRENCY: '2',
        DISTRIBUTION_CHUNK_SIZE: '10',
        WORKER_CONCURRENCY: '2',
        EXPORT_DIR: exportDir,
        EXPORT_BATCH_SIZE: '500',
        // The scheduled maintenance runs stay out of the way (they are re-asserted all the same).
        EXPIRY_SWEEP_CRON: '0 0 0 1 1 *',
        EXPORT_CLEANUP_CRON: '0 0 0 1 1 *',
      },
    });
  });
  afterAll(async () => {
    await p?.destroy();
    await Promise.all([sink?.close(), twilio?.close(), ...receivers.map((r) => r.close())]);
    await rm(exportDir, { recursive: true, force: true });
  });

  const count = async (sql: string, params: unknown[]) => Number((await p.platform.db.query<{ n: number }>(sql, params)).rows[0]?.n);
  const occurrences = (values: string[]) => {
    const seen = new Map<string, number>();
    for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1);
    return seen;
  };

  /** Waits until some of the work is done and some is not: the moment to pull Redis out from under it. */
  const midway = (done: () => Promise<number> | number, from: number, total: number) =>
    waitFor(
      async () => {
        const n = await done();
        return n >= from && n < total;
      },
      60_000,
      5,
    );

  async function flush(): Promise<void> {
    expect(await flushPrefix(TEST_REDIS, p.config.QUEUE_PREFIX)).toBeGreaterThan(0);
  }

  it('a generation running when Redis is flushed ends completed with exactly its codes (it stayed running forever)', async () => {
    const campaign = await p.call('/v1/campaigns', { method: 'POST', json: { name: uniqueName('flushed generation') } });
    const requested = await p.call(`/v1/campaigns/${campaign.body.id}/generations`, { method: 'POST', json: { count: 150_000 } });
    expect(requested.status).toBe(202);
    const id = requested.body.id as string;
    const generation = async () => (await p.call(`/v1/generations/${id}`)).body;
    await midway(async () => (await generation()).generated, 10_000, 150_000);
    await flush();
    expect(await generation()).toMatchObject({ status: 'running' });

    const done = await waitFor(async () => {
      const g = await generation();
      return ['completed', 'failed', 'exhausted'].includes(g.status) ? g : undefined;
    }, 90_000);
    expect(done).toMatchObject({ status: 'completed', generated: 150_000 });
    const codes = await p.platform.db.query(
      'select count(*)::int as total, count(distinct code)::int as unique from vouchers where generation_id = $1',
      [id],
    );
    expect(codes.rows[0]).toEqual({ total: 150_000, unique: 150_000 });
    const chunks = await p.platform.db.query(
      'select count(*)::int as n, sum(inserted)::int as inserted from generation_chunks where generation_id = $1',
      [id],
    );
    expect(chunks.rows[0]).toEqual({ n: 30, inserted: 150_000 });

    // Every scheduler is back without a restart.
    const schedulers = async (queue: 'maintenance' | 'outbox') => (await p.platform.queues.get(queue).getJobSchedulers()).map((s) => s.key);
    expect(await schedulers('maintenance')).toEqual(
      expect.arrayContaining(['work-reconcile', 'expiry-sweep', 'report-daily', 'export-cleanup', 'idempotency-cleanup']),
    );
    expect(await schedulers('outbox')).toContain('outbox-relay');
  });

  it('an email distribution flushed mid-way completes with one message to every recipient', async () => {
    const campaignId = await campaignWithCodes(p, 700, 'flushed distribution');
    const templateId = await emailTemplate(p, { subject: 'Code for {{ customer.id }}', text: '{{ customer.id }} {{ voucher.code }}' });
    const recipients = Array.from({ length: 600 }, (_, i) => ({ email: `dist${i}@example.com`, customer_id: `dist-${i}` }));
    const res = await p.call(`/v1/campaigns/${campaignId}/distributions`, {
      method: 'POST',
      json: { channel: 'email', template_id: templateId, recipients },
    });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    const chunksDone = () => count('select count(*)::int as n from distribution_chunks where distribution_id = $1', [id]);
    await midway(chunksDone, 3, 60);
    await flush();
    const mine = () => sink.received.filter((m) => m.to[0]?.startsWith('dist'));
    expect(mine().length).toBeLessThan(600);

    const done = await waitFor(async () => {
      const d = (await p.call(`/v1/distributions/${id}`)).body;
      return d.status === 'completed' ? d : undefined;
    }, 90_000);
    expect(done).toMatchObject({ total: 600, published: 600, sent: 600, failed: 0, queued: 0, chunks: { total: 60, done: 60 } });
    await waitFor(async () => mine().length >= 600);
    const perRecipient = occurrences(mine().map((m) => m.to[0] as string));
    expect(perRecipient.size).toBe(600);
    expect([...perRecipient.values()].filter((n) => n !== 1)).toEqual([]);
  });

  it('business events flushed mid-way each trigger one code and one SMS', async () => {
    const campaignId = await campaignWithCodes(p, 150, 'flushed triggers');
    const template = await p.call('/v1/templates', {
      method: 'POST',
      json: { name: 'sms', channel: 'sms', text: 'Code {{ voucher.code }}' },
    });
    const trigger = await p.call(`/v1/campaigns/${campaignId}/triggers`, {
      method: 'POST',
      json: { event: 'order.flushed', channel: 'sms', template_id: template.body.id },
    });
    expect(trigger.status).toBe(201);
    const phones = Array.from({ length: 100 }, (_, i) => `+1415555${2600 + i}`);
    const posts = await Promise.all(
      phones.map((phone, i) =>
        p.call('/v1/events', {
          method: 'POST',
          json: { type: 'order.flushed', customer: { id: `buyer-${i}`, phone }, source_id: `flushed-order-${i}` },
        }),
      ),
    );
    expect(posts.filter((r) => r.status === 202)).toHaveLength(100);
    const processed = () =>
      count(`select count(*)::int as n from business_events where type = 'order.flushed' and status = 'processed'`, []);
    const texted = () => twilio.requests.filter((r) => phones.includes(r.form.get('To') ?? ''));
    await midway(processed, 5, 100);
    await flush();
    expect(texted().length).toBeLessThan(100);

    await waitFor(async () => (await processed()) === 100, 90_000);
    expect(await count('select count(*)::int as n from publications where source_id like $1', [`evt-%-${trigger.body.id}`])).toBe(100);
    await waitFor(
      async () =>
        (await count(`select count(*)::int as n from deliveries where channel = 'sms' and status = 'sent' and recipient = any($1)`, [
          phones,
        ])) === 100,
      90_000,
    );
    const perPhone = occurrences(texted().map((r) => r.form.get('To') as string));
    expect(perPhone.size).toBe(100);
    expect([...perPhone.values()].filter((n) => n !== 1)).toEqual([]);
  });

  it('webhook deliveries flushed mid-way reach each endpoint once per event, and events written meanwhile are relayed', async () => {
    const endpoints = [await startReceiver(), await startReceiver()];
    receivers.push(...endpoints);
    for (const receiver of endpoints) await createEndpoint(p.platform, { url: receiver.url, events: ['flush.checked'] });
    const emit = (n: number, from: number) =>
      p.platform.db.transaction(async (tx) => {
        const ids: string[] = [];
        for (let i = from; i < from + n; i++) ids.push(await emitEvent(tx, 'flush.checked', businessEventPayload({ i })));
        return ids;
      });
    const early = await emit(300, 0);
    const [first] = endpoints as [WebhookReceiver, WebhookReceiver];
    await midway(() => first.received.length, 30, 300);
    await flush();
    // Written while the relay's scheduler is gone: relayed once the scheduler is re-asserted.
    const late = await emit(20, 300);
    const events = [...early, ...late];
    const eventIdsAt = (receiver: WebhookReceiver) => receiver.received.map((r) => JSON.parse(r.body).id as string);

    // Settled: every delivery succeeded and no webhook job is left that could send again.
    await waitFor(async () => {
      const pending = await count(
        `select count(*)::int as n from webhook_deliveries where event_id = any($1::uuid[]) and status <> 'succeeded'`,
        [events],
      );
      const jobs = await p.platform.queues.get('webhook').getJobCounts('waiting', 'delayed', 'active', 'prioritized');
      return pending === 0 && Object.values(jobs).every((n) => n === 0);
    }, 90_000);
    expect(await count('select count(*)::int as n from webhook_deliveries where event_id = any($1::uuid[])', [events])).toBe(640);
    for (const receiver of endpoints) {
      const perEvent = occurrences(eventIdsAt(receiver));
      expect(perEvent.size).toBe(320);
      expect([...perEvent.keys()].sort()).toEqual([...events].sort());
      expect([...perEvent.values()].filter((n) => n !== 1)).toEqual([]);
    }
  });

  it('exports flushed while one runs and one waits both complete, each file whole', async () => {
    const campaign = await p.call('/v1/campaigns', { method: 'POST', json: { name: uniqueName('flushed exports') } });
    const campaignId = campaign.body.id as string;
    await seedVouchers(p.platform.db, campaignId, 30_000, { prefix: 'FX' });
    const running = await p.call(`/v1/campaigns/${campaignId}/exports`, { method: 'POST', json: {} });
    const waiting = await p.call(`/v1/campaigns/${campaignId}/exports`, { method: 'POST', json: { filter: { status: 'active' } } });
    expect([running.status, waiting.status]).toEqual([202, 202]);
    const view = async (id: string) => (await p.call(`/v1/exports/${id}`)).body;
    await waitFor(
      async () => {
        const [a, b] = [await view(running.body.id), await view(waiting.body.id)];
        return a.status === 'running' && a.progress.exported_rows > 0 && b.status === 'queued';
      },
      60_000,
      5,
    );
    await flush();

    for (const id of [running.body.id, waiting.body.id]) {
      const done = await waitFor(async () => {
        const e = await view(id);
        return e.status === 'completed' || e.status === 'failed' ? e : undefined;
      }, 90_000);
      expect(done).toMatchObject({ status: 'completed', progress: { exported_rows: 30_000, total_rows: 30_000 } });
      const file = await p.api(`/v1/exports/${id}/download`);
      const rows = (parseCsv(await file.text()) as string[][]).slice(1);
      expect(rows).toHaveLength(30_000);
      expect(new Set(rows.map((r) => r[0])).size).toBe(30_000);
    }
  });
});
