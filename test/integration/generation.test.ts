import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGenerationChunk } from '../../src/generations/chunks.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { uniqueName } from '../support/vouchers.ts';

async function createCampaign(p: TestPlatform, body: Record<string, unknown>): Promise<string> {
  const res = await p.call('/v1/campaigns', { method: 'POST', json: { name: uniqueName('test'), ...body } });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function waitForGeneration(p: TestPlatform, id: string, statuses = ['completed', 'failed', 'exhausted']) {
  return waitFor(
    async () => {
      const g = (await p.call(`/v1/generations/${id}`)).body;
      return statuses.includes(g.status) ? g : undefined;
    },
    120_000,
    200,
  );
}

describe('generation pipeline', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform({ env: { GENERATION_CHUNK_SIZE: '25000', GENERATION_CONCURRENCY: '2' } });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('a 200,000-code generation ends with exactly 200,000 distinct codes', async () => {
    const campaignId = await createCampaign(p, { code_config: { pattern: 'SPRING-####-####' } });
    const res = await p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 200_000 } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', requested: 200_000, chunk_count: 8 });
    expect(res.body.entropy_bits).toBe(40);
    const g = await waitForGeneration(p, res.body.id);
    expect(g).toMatchObject({ status: 'completed', requested: 200_000, generated: 200_000, progress: 100 });
    expect(g.started_at).toBeTruthy();
    expect(g.finished_at).toBeTruthy();
    const { rows } = await p.platform.db.query<{ total: string; distinct_codes: string; bad: string }>(
      `select count(*) as total, count(distinct code) as distinct_codes,
              count(*) filter (where code !~ '^SPRING-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$') as bad
       from vouchers where generation_id = $1`,
      [res.body.id],
    );
    expect(rows[0]).toEqual({ total: '200000', distinct_codes: '200000', bad: '0' });
    const campaign = await p.call(`/v1/campaigns/${campaignId}`);
    expect(campaign.body.issued_count).toBe(200_000);
    const events = await p.platform.db.query('select type, data from outbox_events where data->>$1 = $2', ['generation_id', res.body.id]);
    expect(events.rows).toEqual([expect.objectContaining({ type: 'campaign.generation.completed' })]);
  });

  it('a chunk run twice (even at the same time) inserts once', async () => {
    const campaignId = await createCampaign(p, {});
    const res = await p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 30_000 } });
    const g = await waitForGeneration(p, res.body.id);
    expect(g.generated).toBe(30_000);
    const before = await p.platform.db.query<{ n: string }>('select count(*) as n from vouchers where generation_id = $1', [g.id]);
    const [a, b] = await Promise.all([
      writeGenerationChunk(p.platform.db, g.id, 0, 25_000),
      writeGenerationChunk(p.platform.db, g.id, 0, 25_000),
    ]);
    expect([a.status, b.status]).toEqual(['generation_finished', 'generation_finished']);
    // Re-open the generation as if the parent had not finalized yet: the chunk is still recorded as written.
    await p.platform.db.query(`update generations set status = 'running' where id = $1`, [g.id]);
    const [c, d] = await Promise.all([
      writeGenerationChunk(p.platform.db, g.id, 0, 25_000),
      writeGenerationChunk(p.platform.db, g.id, 1, 5_000),
    ]);
    expect(c).toMatchObject({ status: 'already_written', inserted: 25_000 });
    expect(d).toMatchObject({ status: 'already_written', inserted: 5_000 });
    const after = await p.platform.db.query<{ n: string }>('select count(*) as n from vouchers where generation_id = $1', [g.id]);
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('the same Idempotency-Key returns the same generation', async () => {
    const campaignId = await createCampaign(p, {});
    const send = () =>
      p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 1000 }, headers: { 'Idempotency-Key': 'abc-1' } });
    const [first, second] = await Promise.all([send(), send()]);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    await waitForGeneration(p, first.body.id);
    const third = await send();
    expect(third.body).toMatchObject({ id: first.body.id, status: 'completed', generated: 1000 });
    const { rows } = await p.platform.db.query<{ n: string }>('select count(*) as n from vouchers where campaign_id = $1', [campaignId]);
    expect(rows[0]?.n).toBe('1000');
  });

  it('ends exhausted with the count it reached when codes made elsewhere took the space', async () => {
    const campaignId = await createCampaign(p, { code_config: { pattern: 'EX-###', charset: 'numbers' }, allow_guessable: true });
    // 300 of the 1,000 possible codes taken outside this campaign's accounting.
    await p.platform.db.query(
      `insert into vouchers (code, campaign_id) select 'EX-' || lpad(n::text, 3, '0'), gen_random_uuid() from generate_series(0, 299) n`,
    );
    const res = await p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 900 } });
    expect(res.status).toBe(202);
    const g = await waitForGeneration(p, res.body.id);
    expect(g).toMatchObject({ status: 'exhausted', requested: 900, generated: 700 });
    expect(g.collisions).toBeGreaterThan(0);
    const { rows } = await p.platform.db.query<{ n: string }>('select count(distinct code) as n from vouchers where campaign_id = $1', [
      campaignId,
    ]);
    expect(rows[0]?.n).toBe('700');
    // The accounting still believes 300 codes are free; a new request ends exhausted at once, not in a loop.
    const again = await p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 50 } });
    expect(again.status).toBe(202);
    expect(await waitForGeneration(p, again.body.id)).toMatchObject({ status: 'exhausted', generated: 0 });
  });

  it('refuses before any work when the space is too small or exhausted', async () => {
    const small = await createCampaign(p, { code_config: { length: 6 } });
    const tooSmall = await p.call(`/v1/campaigns/${small}/generations`, { method: 'POST', json: { count: 5000 } });
    expect(tooSmall.status).toBe(422);
    expect(tooSmall.headers.get('content-type')).toContain('application/problem+json');
    expect(tooSmall.body).toMatchObject({ code: 'code_space_too_small', status: 422 });
    expect(tooSmall.body.entropy_bits).toBe(30);
    expect(tooSmall.body.guess_probability).toBeGreaterThan(1e-6);

    const tiny = await createCampaign(p, { code_config: { pattern: '##', charset: 'numbers' }, allow_guessable: true });
    const exhausted = await p.call(`/v1/campaigns/${tiny}/generations`, { method: 'POST', json: { count: 101 } });
    expect(exhausted.status).toBe(422);
    expect(exhausted.body).toMatchObject({ code: 'code_space_exhausted', available: '100' });
    const { rows } = await p.platform.db.query<{ n: string }>('select count(*) as n from generations where campaign_id in ($1, $2)', [
      small,
      tiny,
    ]);
    expect(rows[0]?.n).toBe('0');
  });
});
