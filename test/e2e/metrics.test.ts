import type { Server } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { startMetricsServer } from '../../src/observability/metrics-endpoint.ts';
import type { Platform } from '../../src/platform.ts';
import { spawnEntrypoint, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';

/** The value of one series in a Prometheus text exposition (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) {
      total += Number(m[4]);
      found = true;
    }
  }
  return found ? total : 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('/metrics', () => {
  let p: TestPlatform;
  const scrape = async () => {
    const res = await p.api('/metrics');
    expect(res.status).toBe(200);
    return res.text();
  };

  beforeAll(async () => {
    p = await startTestPlatform({ env: { GENERATION_CHUNK_SIZE: '5000' } });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('needs an API key on the API port', async () => {
    const res = await fetch(`${p.url}/metrics`);
    expect(res.status).toBe(401);
    const ok = await p.api('/metrics');
    expect(ok.headers.get('content-type')).toContain('text/plain');
    expect(await ok.text()).toContain('# TYPE promo_codes_generated_total counter');
  });

  it('moves the generation, job, HTTP and queue series after a generation', async () => {
    const before = await scrape();
    const campaign = await p.call('/v1/campaigns', {
      method: 'POST',
      json: { name: 'metrics', code_config: { pattern: 'MET-####-####' } },
    });
    const gen = await p.call(`/v1/campaigns/${campaign.body.id}/generations`, { method: 'POST', json: { count: 10000 } });
    await waitFor(async () => (await p.call(`/v1/generations/${gen.body.id}`)).body.status === 'completed');
    const after = await waitFor(async () => {
      const text = await scrape();
      return sample(text, 'promo_job_duration_seconds_count', { name: 'generation.finalize', outcome: 'completed' }) >
        sample(before, 'promo_job_duration_seconds_count', { name: 'generation.finalize', outcome: 'completed' })
        ? text
        : undefined;
    });
    expect(sample(after, 'promo_codes_generated_total') - sample(before, 'promo_codes_generated_total')).toBe(10000);
    const chunks = (t: string) => sample(t, 'promo_job_duration_seconds_count', { name: 'generation.chunk', outcome: 'completed' });
    expect(chunks(after) - chunks(before)).toBeGreaterThanOrEqual(2);
    expect(
      sample(after, 'promo_http_request_duration_seconds_count', { method: 'POST', route: '/v1/campaigns/:id/generations', status: '202' }),
    ).toBe(1);
    expect(
      sample(after, 'promo_http_request_duration_seconds_count', { route: '/v1/generations/:id', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      expect(after).toMatch(new RegExp(`^promo_queue_jobs\\{queue="generation-chunk",state="${state}"\\} \\d+$`, 'm'));
    }
    // A failed job shows in the failed gauge at the next scrape.
    await p.platform.queues.get('generation').add('metrics.unhandled', {}, { attempts: 1 });
    await waitFor(async () => sample(await scrape(), 'promo_queue_jobs', { queue: 'generation', state: 'failed' }) >= 1);
  });

  it('moves validation and redemption series by result and reason', async () => {
    const campaign = await p.call('/v1/campaigns', {
      method: 'POST',
      json: { name: 'metrics redeem', code_config: { pattern: 'MRD-####-####' } },
    });
    const gen = await p.call(`/v1/campaigns/${campaign.body.id}/generations`, { method: 'POST', json: { count: 10 } });
    await waitFor(async () => (await p.call(`/v1/generations/${gen.body.id}`)).body.status === 'completed');
    const code = (await p.call(`/v1/campaigns/${campaign.body.id}/vouchers?limit=1`)).body.data[0].code;
    const before = await scrape();
    expect((await p.call('/v1/validations', { method: 'POST', json: { code } })).status).toBe(200);
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code, customer: { id: 'm1' } } })).status).toBe(201);
    const again = await p.call('/v1/redemptions', { method: 'POST', json: { code, customer: { id: 'm1' } } });
    expect(again.status).toBe(422);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('promo_validations_total', { result: 'valid' })).toBe(1);
    expect(delta('promo_redemptions_total', { result: 'succeeded' })).toBe(1);
    expect(delta('promo_redemptions_total', { result: 'refused', reason: again.body.code })).toBe(1);
  });

  it('serves a separate unauthenticated listener when METRICS_PORT is set, and not on the API port', async () => {
    const { server, url } = await startMetricsServer(0, '127.0.0.1');
    try {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('promo_http_request_duration_seconds');
      expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      server.close();
    }
    const { app } = createApp({ ...p.platform, config: Object.freeze({ ...p.config, METRICS_PORT: 9464 }) } as Platform);
    const api = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const res = await fetch(`http://127.0.0.1:${(api.address() as AddressInfo).port}/metrics`, {
        headers: { authorization: `Bearer ${p.apiKey}` },
      });
      expect(res.status).toBe(404);
    } finally {
      api.close();
    }
  });

  it('a worker-only process exposes its job metrics on METRICS_PORT', async () => {
    const port = await freePort();
    const worker = spawnEntrypoint('worker', p.isolation, { METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' });
    try {
      const text = await waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
        return res?.ok ? res.text() : undefined;
      }, 30_000);
      expect(text).toContain('# TYPE promo_job_duration_seconds histogram');
      expect(text).toMatch(/^promo_queue_jobs\{queue="generation",state="waiting"\} \d+$/m);
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  });
});
