import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';

describe('smoke', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform({ env: { GENERATION_CHUNK_SIZE: '10000' } });
  });
  afterAll(async () => {
    await p?.destroy();
  });

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
});
