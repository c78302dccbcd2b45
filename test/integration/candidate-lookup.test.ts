import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CandidateLookup } from '../../src/redemptions/lookup.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

describe('the batched validation lookup', () => {
  let p: TestPlatform;
  let codes: string[];
  const statements: number[] = [];

  beforeAll(async () => {
    p = await startTestPlatform({ workers: false });
    const campaignId = await createCampaign(p);
    codes = [];
    for (let i = 0; i < 20; i++) codes.push((await createVoucher(p, campaignId, uniqueCode('LOOKUP'))).code);
    // Count the statements the lookup sends, at the pool, to show that the valid ones were batched.
    const query = p.platform.db.pool.query.bind(p.platform.db.pool) as (...args: unknown[]) => Promise<unknown>;
    (p.platform.db.pool as { query: unknown }).query = (...args: unknown[]) => {
      const config = args[0] as { name?: string };
      if (config?.name === CandidateLookup.STATEMENT.name) statements.push(Date.now());
      return query(...args);
    };
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('answers every valid lookup when one code in the batch is one PostgreSQL refuses (U+0000)', async () => {
    const lookup = new CandidateLookup(p.platform.db);
    for (let round = 0; round < 5; round++) {
      statements.length = 0;
      const poisoned = Math.floor(Math.random() * (codes.length + 1));
      const asked = [...codes];
      asked.splice(poisoned, 0, `BAD\u0000${round}`);
      const answers = await Promise.allSettled(asked.map((code, i) => lookup.find(code, i % 2 === 0 ? `customer-${i}` : undefined)));
      const valid = answers.filter((_, i) => i !== poisoned);
      expect(valid.map((a) => a.status)).toEqual(codes.map(() => 'fulfilled'));
      expect(valid.map((a) => (a as PromiseFulfilledResult<{ code: string } | null>).value?.code)).toEqual(codes);
      // The poisoned one fails alone, with PostgreSQL's own refusal.
      expect(answers[poisoned]?.status).toBe('rejected');
      // One batched statement that failed, then one per lookup.
      expect(statements.length).toBe(asked.length + 1);
    }
    // Without a poisoned code the batch is one statement again.
    statements.length = 0;
    const clean = await Promise.all(codes.map((code) => lookup.find(code, undefined)));
    expect(clean.map((c) => c?.code)).toEqual(codes);
    expect(statements.length).toBe(1);
  });
});
