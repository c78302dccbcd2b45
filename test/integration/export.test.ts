import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../../src/exports/exports.ts';
import { reconcileLostWork } from '../../src/queues/reconcile.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { seedVouchers } from './expiry-fixtures.ts';

describe('exports', () => {
  let p: TestPlatform;
  let dir = '';
  let campaignId = '';
  const clock = new ManualClock('2031-06-01T10:00:00Z');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'promo-exports-'));
    p = await startTestPlatform({
      clock,
      env: {
        EXPORT_DIR: dir,
        EXPORT_TTL_SECONDS: '3600',
        EXPORT_BATCH_SIZE: '5000',
        EXPORT_CLEANUP_CRON: '0 0 0 1 1 *',
        EXPIRY_SWEEP_CRON: '0 0 0 1 1 *',
      },
    });
    const created = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'Export me' } });
    campaignId = created.body.id;
    await seedVouchers(p.platform.db, campaignId, 90_000, { prefix: 'EX' });
    await seedVouchers(p.platform.db, campaignId, 10_000, {
      prefix: 'EG',
      metadata: { tier: 'gold', note: 'has "quotes", commas\nand a newline' },
    });
    await p.platform.db.query(
      `update vouchers set status = 'expired', expiration_date = '2031-01-01' where code like 'EG%' and code < 'EG00002001'`,
    );
  });
  afterAll(async () => {
    await p?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  async function finished(id: string) {
    return waitFor(async () => {
      const r = await p.call(`/v1/exports/${id}`);
      return r.body.status === 'completed' || r.body.status === 'failed' ? r.body : undefined;
    });
  }

  async function download(id: string): Promise<string[][]> {
    const res = await p.api(`/v1/exports/${id}/download`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toContain('attachment');
    return parseCsv(await res.text()) as string[][];
  }

  async function tableRows(where = ''): Promise<string[][]> {
    const { rows } = await p.platform.db.query<Record<string, any>>(
      `select code, status, active, redemption_count, to_json(start_date) #>> '{}' as start_date,
              to_json(expiration_date) #>> '{}' as expiration_date, metadata, to_json(created_at) #>> '{}' as created_at
       from vouchers where campaign_id = $1 ${where} order by id`,
      [campaignId],
    );
    return rows.map((r) => [
      r.code,
      r.status,
      String(r.active),
      String(r.redemption_count),
      r.start_date ? new Date(r.start_date).toISOString() : '',
      r.expiration_date ? new Date(r.expiration_date).toISOString() : '',
      r.metadata ? JSON.stringify(r.metadata) : '',
      new Date(r.created_at).toISOString(),
    ]);
  }

  let fullExportId = '';

  it('exports 100,000 codes to a CSV equal to the table, with progress, then streams it', async () => {
    const res = await p.call(`/v1/campaigns/${campaignId}/exports`, {
      method: 'POST',
      json: { format: 'csv' },
      headers: { 'Idempotency-Key': 'full-1' },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/exports/${res.body.id}`);
    expect(res.body).toMatchObject({ campaign_id: campaignId, format: 'csv', download_url: null });
    fullExportId = res.body.id;
    const replay = await p.call(`/v1/campaigns/${campaignId}/exports`, {
      method: 'POST',
      json: { format: 'csv' },
      headers: { 'Idempotency-Key': 'full-1' },
    });
    expect(replay.status).toBe(202);
    expect(replay.body.id).toBe(fullExportId);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const done = await finished(fullExportId);
    expect(done).toMatchObject({
      status: 'completed',
      progress: { exported_rows: 100_000, total_rows: 100_000, percent: 100 },
      download_url: `/v1/exports/${fullExportId}/download`,
      expires_at: '2031-06-01T11:00:00.000Z',
    });
    expect(done.file_size).toBeGreaterThan(100_000 * 40);

    const csv = await download(fullExportId);
    expect(csv[0]).toEqual(['code', 'status', 'active', 'redemption_count', 'start_date', 'expiration_date', 'metadata', 'created_at']);
    const body = csv.slice(1);
    expect(body).toHaveLength(100_000);
    expect(body).toEqual(await tableRows());
  });

  it('filters by status and metadata', async () => {
    const res = await p.call(`/v1/campaigns/${campaignId}/exports`, {
      method: 'POST',
      json: { format: 'csv', filter: { status: 'active', metadata: { tier: 'gold' } } },
    });
    expect(res.status).toBe(202);
    const done = await finished(res.body.id);
    expect(done.progress.exported_rows).toBe(8_000);
    const csv = (await download(res.body.id)).slice(1);
    expect(csv).toEqual(await tableRows(`and status = 'active' and metadata @> '{"tier": "gold"}'`));
  });

  it('rejects bad requests with stable codes', async () => {
    expect((await p.call(`/v1/campaigns/${campaignId}/exports`, { method: 'POST', json: { format: 'xlsx' } })).body.code).toBe(
      'validation_failed',
    );
    expect((await p.call(`/v1/campaigns/${campaignId}/exports`, { method: 'POST', json: { filter: { status: 'gone' } } })).status).toBe(
      400,
    );
    expect((await p.call('/v1/campaigns/8a0c7b7e-0000-4000-8000-000000000000/exports', { method: 'POST', json: {} })).body.code).toBe(
      'campaign_not_found',
    );
    expect((await p.call('/v1/exports/8a0c7b7e-0000-4000-8000-000000000000')).body.code).toBe('export_not_found');
    // Not written yet (no worker serves it in this state): 409 export_not_ready.
    const { rows } = await p.platform.db.query(`insert into exports (campaign_id) values ($1) returning id`, [campaignId]);
    const pending = await p.call(`/v1/exports/${rows[0]?.id}/download`);
    expect(pending.status, JSON.stringify(pending.body)).toBe(409);
    expect(pending.body.code).toBe('export_not_ready');
    await p.platform.db.query('delete from exports where id = $1', [rows[0]?.id]);
  });

  it('is idempotent: a rerun after a crash mid-file rewrites it whole; a completed export is left alone', async () => {
    const { rows } = await p.platform.db.query<{ id: string }>(
      `insert into exports (campaign_id, filter, status) values ($1, '{"status": "expired"}', 'running') returning id`,
      [campaignId],
    );
    const id = rows[0]?.id as string;
    await writeFile(path.join(dir, `${id}.csv.part`), 'half a file from a killed worker\n');
    const options = { dir, batchSize: 700, ttlSeconds: 3600, now: () => clock.now() };
    expect(await runExport(p.platform.db, id, options)).toBe('completed');
    expect(await runExport(p.platform.db, id, options)).toBe('completed');
    expect((await download(id)).slice(1)).toEqual(await tableRows(`and status = 'expired'`));
    expect((await readdir(dir)).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('expires exports after the configured time and removes their files (scheduled cleanup job)', async () => {
    const file = path.join(dir, `${fullExportId}.csv`);
    expect(existsSync(file)).toBe(true);
    clock.set('2031-06-01T10:59:00Z');
    const early = await p.platform.queues.get('maintenance').add('export.cleanup', {});
    await waitFor(() => early.isCompleted());
    expect(existsSync(file)).toBe(true);

    clock.set('2031-06-01T11:01:00Z');
    const job = await p.platform.queues.get('maintenance').add('export.cleanup', {});
    await waitFor(() => job.isCompleted());
    expect(existsSync(file)).toBe(false);
    const view = await p.call(`/v1/exports/${fullExportId}`);
    expect(view.body).toMatchObject({ status: 'expired', download_url: null });
    const gone = await p.call(`/v1/exports/${fullExportId}/download`);
    expect(gone.status).toBe(410);
    expect(gone.body.code).toBe('export_expired');
    expect(await readdir(dir)).toEqual([]);
  });

  it('re-enqueues an export whose job was lost (Redis lost, or a crash between insert and enqueue)', async () => {
    const { rows } = await p.platform.db.query<{ id: string }>(
      `insert into exports (campaign_id, filter, created_at) values ($1, '{"status": "expired"}', $2) returning id`,
      [campaignId, new Date(clock.now().getTime() - 5 * 60_000)],
    );
    const id = rows[0]?.id as string;
    const recreated = await reconcileLostWork(p.platform, { only: ['export.run'], missingForMs: 0 });
    expect(recreated).toContainEqual({ name: 'export.run', jobId: `export-${id}`, rowId: id });
    const done = await finished(id);
    expect(done.progress.exported_rows).toBe(2_000);
  });
});
