import { describe, expect, it } from 'vitest';
import { finalizeImport, writeImportChunk } from '../../src/imports/chunks.ts';
import { reconcileLostWork } from '../../src/queues/reconcile.ts';
import { importableCodes, importCampaign, importedCodeCounts, importFinished, importView, postCsvImport } from '../support/imports.ts';
import { useTestPlatform, useWorkerProcesses, waitFor } from '../support/platform.ts';

/** Imports written by worker processes as operators run them (`npm run worker`), killed and restarted. */
describe('imports across worker processes', { timeout: 180_000 }, () => {
  const workerEnv = { IMPORT_CHUNK_SIZE: '5000', IMPORT_CONCURRENCY: '2', WORKER_LOCK_DURATION_MS: '2000', LOG_LEVEL: 'warn' };
  // API only in this process: every chunk is written by the spawned worker processes (or called directly).
  const p = useTestPlatform({ workers: false, env: workerEnv });
  const workers = useWorkerProcesses(p, workerEnv);

  const count = async (sql: string, params: unknown[]) => Number((await p.platform.db.query<{ n: number }>(sql, params)).rows[0]?.n);

  it('a worker killed (SIGKILL) mid-import and restarted still ends with the exact count and no duplicates', async () => {
    const victim = workers.start();
    const campaignId = await importCampaign(p, 'killed import');
    // 120,000 rows in 24 chunks; the first 100 codes come again in the second half (other chunks): 100 rejections.
    const codes = importableCodes(119_900);
    const rows = [...codes.slice(0, 60_000), ...codes.slice(0, 100), ...codes.slice(60_000)];
    const id = await postCsvImport(p, campaignId, `code\n${rows.join('\n')}\n`);
    await waitFor(
      async () => {
        const i = await importView(p, id);
        return i.progress.imported >= 10_000 && i.progress.imported < 110_000;
      },
      90_000,
      20,
    );
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));
    const partial = await importView(p, id);
    expect(partial.status).toBe('running');
    expect(partial.progress.imported).toBeLessThan(119_900);

    workers.start();
    const done = await importFinished(p, id);
    expect(done).toMatchObject({ status: 'completed', progress: { received: 120_000, imported: 119_900, rejected: 100 } });
    expect(await importedCodeCounts(p, id)).toEqual({ total: 119_900, distinct: 119_900 });
    expect(await count('select count(*)::int as n from import_chunks where import_id = $1', [id])).toBe(24);
    expect(await count('select sum(imported)::int as n from import_chunks where import_id = $1', [id])).toBe(119_900);
    expect(await count(`select count(*)::int as n from import_errors where import_id = $1 and reason = 'code_duplicated'`, [id])).toBe(100);
    expect(await count('select count(*)::int as n from import_payloads where import_id = $1', [id])).toBe(0);
    expect(await count('select issued_count::int as n from campaigns where id = $1', [campaignId])).toBe(119_900);
  });

  it('re-enqueues an import whose jobs Redis lost, and it still ends exact', async () => {
    await workers.stop();
    const campaignId = await importCampaign(p, 'lost import');
    const id = await postCsvImport(p, campaignId, `code\n${importableCodes(12_000).join('\n')}\n`);
    // Redis loses the flow before any worker ran it (or the intake could not enqueue at all).
    for (const name of ['import-chunk', 'import'] as const) await p.platform.queues.get(name).obliterate({ force: true });
    const reconcile = async () => (await reconcileLostWork(p.platform, { only: ['import.finalize'], missingForMs: 0 })).map((r) => r.rowId);
    expect(await reconcile()).toContain(id);
    expect(await reconcile()).not.toContain(id);
    workers.start();
    expect(await importFinished(p, id)).toMatchObject({ status: 'completed', progress: { imported: 12_000, rejected: 0 } });
    expect(await importedCodeCounts(p, id)).toEqual({ total: 12_000, distinct: 12_000 });
    await workers.stop();
  });

  it('a chunk delivered twice at once writes once', async () => {
    const campaignId = await importCampaign(p, 'twice');
    const id = await postCsvImport(p, campaignId, `code\n${importableCodes(5_000).join('\n')}\n`);
    const now = new Date();
    const results = await Promise.all([writeImportChunk(p.platform.db, id, 0, now), writeImportChunk(p.platform.db, id, 0, now)]);
    expect(results.map((r) => r.status).sort()).toEqual(['already_written', 'written']);
    expect(results.map((r) => r.imported)).toEqual([5_000, 5_000]);
    expect(await finalizeImport(p.platform.db, id)).toBe('completed');
    expect(await finalizeImport(p.platform.db, id)).toBe('completed');
    expect(await importedCodeCounts(p, id)).toEqual({ total: 5_000, distinct: 5_000 });
    expect(await importView(p, id)).toMatchObject({ status: 'completed', progress: { imported: 5_000, rejected: 0 } });
    // Finished: a late delivery changes nothing.
    expect(await writeImportChunk(p.platform.db, id, 0, now)).toMatchObject({ status: 'import_finished' });
  });

  it('a chunk that never completes fails the import, and its rows are reported as not_processed to import again', async () => {
    const campaignId = await importCampaign(p, 'failed chunk');
    const codes = importableCodes(7_000);
    const id = await postCsvImport(p, campaignId, `code\n${codes.join('\n')}\n`);
    // Chunk 0 is written; chunk 1 (rows 5,001 to 7,000) ran out of retries.
    expect(await writeImportChunk(p.platform.db, id, 0, new Date())).toMatchObject({ status: 'written', imported: 5_000 });
    expect(await finalizeImport(p.platform.db, id)).toBe('failed');
    const failed = await importView(p, id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: '1 of 2 chunks could not be written',
      progress: { received: 7_000, imported: 5_000, rejected: 2_000, percent: 100 },
    });
    const { rows } = await p.platform.db.query<{ row_number: number; line: number; reason: string }>(
      'select row_number, line, reason from import_errors where import_id = $1 order by row_number',
      [id],
    );
    expect(rows).toHaveLength(2_000);
    expect(rows[0]).toEqual({ row_number: 5_001, line: 5_002, reason: 'not_processed' });
    expect(rows.at(-1)).toEqual({ row_number: 7_000, line: 7_001, reason: 'not_processed' });
    expect(await count('select count(*)::int as n from import_payloads where import_id = $1', [id])).toBe(0);
    const event = await p.platform.db.query(
      `select data from outbox_events where type = 'campaign.import.failed' and data->>'import_id' = $1`,
      [id],
    );
    expect(event.rows[0]?.data).toMatchObject({ status: 'failed', received: 7_000, imported: 5_000, rejected: 2_000 });
    // Importing the reported rows again finishes the job.
    const retry = await postCsvImport(p, campaignId, `code\n${codes.slice(5_000).join('\n')}\n`);
    expect(await writeImportChunk(p.platform.db, retry, 0, new Date())).toMatchObject({ status: 'written', imported: 2_000 });
    expect(await finalizeImport(p.platform.db, retry)).toBe('completed');
    expect(await count('select count(*)::int as n from vouchers where campaign_id = $1', [campaignId])).toBe(7_000);
  });
});
