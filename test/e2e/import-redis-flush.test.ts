import { describe, expect, it } from 'vitest';
import { importableCodes, importCampaign, importedCodeCounts, importFinished, importView, postCsvImport } from '../support/imports.ts';
import { TEST_REDIS, useTestPlatform, waitFor } from '../support/platform.ts';
import { flushPrefix } from '../support/redis-server.ts';

/**
 * Issue 15 with issue 12's fault 2: Redis loses its data (FLUSHDB, a failover to an empty replica) while an import is
 * being written. PostgreSQL holds the upload and which chunks are done; the reconciler re-creates the lost jobs, and
 * the import still ends with every code exactly once.
 */
describe('an import in flight when Redis loses its data completes exactly once', { timeout: 120_000 }, () => {
  const p = useTestPlatform({
    env: {
      RECONCILE_INTERVAL_MS: '300',
      IMPORT_CHUNK_SIZE: '5000',
      IMPORT_CONCURRENCY: '2',
      // The scheduled maintenance runs stay out of the way (they are re-asserted all the same).
      EXPIRY_SWEEP_CRON: '0 0 0 1 1 *',
      EXPORT_CLEANUP_CRON: '0 0 0 1 1 *',
    },
  });

  it('ends completed with exactly its codes, each chunk written once', async () => {
    const campaignId = await importCampaign(p, 'flushed import');
    const id = await postCsvImport(p, campaignId, `code\n${importableCodes(150_000).join('\n')}\n`);
    await waitFor(
      async () => {
        const { imported } = (await importView(p, id)).progress;
        return imported >= 10_000 && imported < 150_000;
      },
      60_000,
      5,
    );
    expect(await flushPrefix(TEST_REDIS, p.config.QUEUE_PREFIX)).toBeGreaterThan(0);
    expect(await importView(p, id)).toMatchObject({ status: 'running' });

    const done = await importFinished(p, id, 90_000);
    expect(done).toMatchObject({ status: 'completed', progress: { received: 150_000, imported: 150_000, rejected: 0 } });
    expect(await importedCodeCounts(p, id)).toEqual({ total: 150_000, distinct: 150_000 });
    const chunks = await p.platform.db.query(
      'select count(*)::int as n, sum(imported)::int as imported from import_chunks where import_id = $1',
      [id],
    );
    expect(chunks.rows[0]).toEqual({ n: 30, imported: 150_000 });
    const outcome = await p.platform.db.query(
      `select count(*)::int as n from outbox_events where type = 'campaign.import.completed' and data->>'import_id' = $1`,
      [id],
    );
    expect(outcome.rows[0]).toEqual({ n: 1 });
  });
});
