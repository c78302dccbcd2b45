import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { TEST_PG, useTestPlatform, waitFor } from '../support/platform.ts';

describe('smoke', () => {
  const p = useTestPlatform({ env: { GENERATION_CHUNK_SIZE: '10000' } });

  it('generates codes end to end', async () => {
    const created = await p.call('/v1/campaigns', {
      method: 'POST',
      json: { name: 'Spring', code_config: { pattern: 'SPRING-####-####' } },
    });
    expect(created.status).toBe(201);
    const gen = await p.call(`/v1/campaigns/${created.body.id}/generations`, { method: 'POST', json: { count: 25000 } });
    expect(gen.status).toBe(202);
    const done = await waitFor(async () => {
      const g = (await p.call(`/v1/generations/${gen.body.id}`)).body;
      return g.status === 'completed' ? g : undefined;
    });
    expect(done.generated).toBe(25000);
  });

  it('survives PostgreSQL closing its idle connections, and keeps answering', async () => {
    const campaigns = () => p.call('/v1/campaigns');
    expect((await campaigns()).status).toBe(200);
    const { rows } = await p.platform.db.query<{ db: string }>('select current_database() as db');
    const admin = new pg.Client({ connectionString: `${TEST_PG}/postgres` });
    await admin.connect();
    try {
      const killed = await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and state = 'idle'",
        [rows[0]?.db],
      );
      expect(killed.rowCount).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    // The process is still here and the pools hand out fresh connections.
    const again = await waitFor(async () => {
      const res = await campaigns();
      return res.status === 200 ? res : undefined;
    });
    expect(again.status).toBe(200);
    expect((await p.call('/v1/validations', { method: 'POST', json: { code: 'AFTER-RESTART' } })).body.reason).toBe('not_found');
  });
});
