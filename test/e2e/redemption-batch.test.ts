import { describe, expect, it } from 'vitest';
import { type RedeemContext, type RedeemResult, redeemVoucher } from '../../src/redemptions/redemptions.ts';
import { redemptionRequestSchema } from '../../src/redemptions/schemas.ts';
import { redemptionBatches, redemptionBatchItems } from '../../src/shared/metrics.ts';
import { useTestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, seedCodes, uniqueCode } from '../support/vouchers.ts';

/**
 * Group commit of single-code redemptions (src/redemptions/redemption-batch.ts). Requests started in one turn of
 * the event loop share a batch (redeemVoucher called in-process, as the API calls it); HTTP races show the same
 * exactness with batches as they come. Each test reads the batch counters, so it shows the batch path really ran.
 */
describe('redemption batches', () => {
  const p = useTestPlatform({ workers: false, env: { DATABASE_POOL_SIZE: '20' } });

  const redeemHttp = (json: Record<string, unknown>) => p.call('/v1/redemptions', { method: 'POST', json });
  const count = async (sql: string, params: unknown[]) => Number((await p.platform.db.query<{ n: string }>(sql, params)).rows[0]?.n);
  const metric = async (of: typeof redemptionBatchItems | typeof redemptionBatches, label: string, value: string) =>
    (await of.get()).values.find((v) => (v.labels as Record<string, unknown>)[label] === value)?.value ?? 0;
  /** How many redemptions batches answered (and batch transactions failed) while `run` ran. */
  const counting = async <T>(run: () => Promise<T>) => {
    const [batched, failed] = [
      await metric(redemptionBatchItems, 'answered', 'batch'),
      await metric(redemptionBatches, 'outcome', 'failed'),
    ];
    const result = await run();
    return {
      result,
      batched: (await metric(redemptionBatchItems, 'answered', 'batch')) - batched,
      failedBatches: (await metric(redemptionBatches, 'outcome', 'failed')) - failed,
    };
  };
  let keyId: string | undefined;
  const apiKeyId = async () => {
    keyId ??= (await p.platform.db.query<{ id: string }>('select id from api_keys limit 1')).rows[0]?.id as string;
    return keyId;
  };
  /** Starts every redemption in this turn of the event loop: one batch (up to its size). */
  const start = async (requests: Record<string, unknown>[]): Promise<Promise<RedeemResult>[]> => {
    const key = await apiKeyId();
    const ctx = (): RedeemContext => ({ actor: key, apiKeyId: key, idempotencyTtlSeconds: 3600, now: new Date() });
    return requests.map((r) => redeemVoucher(p.platform.db, redemptionRequestSchema.parse(r), ctx()));
  };
  const settled = async (requests: Record<string, unknown>[]): Promise<PromiseSettledResult<RedeemResult>[]> =>
    Promise.allSettled(await start(requests));
  const together = async (requests: Record<string, unknown>[]): Promise<RedeemResult[]> =>
    (await settled(requests)).map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    });
  const order = { amount: 1000, currency: 'EUR' };

  it('200 parallel HTTP redemptions of a single-use code among 200 of distinct codes: exactly 1, and all 200 others', async () => {
    const campaign = await createCampaign(p);
    const code = uniqueCode('ONE');
    await createVoucher(p, campaign, code);
    const others = await seedCodes(p, campaign, 200);
    const { result, batched } = await counting(() =>
      Promise.all(
        others.flatMap((other, i) => [
          redeemHttp({ code, customer: { id: `a-${i}` } }),
          redeemHttp({ code: other, customer: { id: `b-${i}` } }),
        ]),
      ),
    );
    expect(batched).toBeGreaterThan(0);
    const mine = result.filter((_, i) => i % 2 === 0);
    expect(mine.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(mine.filter((r) => r.status !== 201).map((r) => `${r.status} ${r.body.code}`))).toEqual(
      new Set(['422 quantity_exceeded']),
    );
    expect(result.filter((_, i) => i % 2 === 1).every((r) => r.status === 201)).toBe(true);
    expect(await count('select redemption_count as n from vouchers where code = $1', [code])).toBe(1);
    expect(await count(`select count(*) as n from redemptions where code = $1`, [code])).toBe(1);
    expect(await count(`select count(*) as n from redemptions where code = any($1)`, [others])).toBe(200);
    expect(await count(`select count(*) as n from vouchers where code = any($1) and redemption_count = 1`, [others])).toBe(200);
  });

  it('the same code twice in one batch: a single-use code once, a two-use code twice, each counted exactly', async () => {
    const single = await createCampaign(p);
    const twice = await createCampaign(p, { rules: { redemption: { per_code_limit: 2 } } });
    const [once, two] = [uniqueCode('DUP1'), uniqueCode('DUP2')];
    await createVoucher(p, single, once);
    await createVoucher(p, twice, two);
    const fillers = await seedCodes(p, single, 4);
    const { result, batched } = await counting(() =>
      together([once, two, ...fillers, once, two].map((code, i) => ({ code, customer: { id: `d-${i}` } }))),
    );
    expect(batched).toBeGreaterThanOrEqual(6);
    const statuses = result.map((r) => r.response.status);
    expect(statuses).toEqual([201, 201, 201, 201, 201, 201, 422, 201]);
    expect(result[6]?.response.body).toMatchObject({ reason: 'quantity_exceeded' });
    expect(await count('select redemption_count as n from vouchers where code = $1', [once])).toBe(1);
    expect(await count('select redemption_count as n from vouchers where code = $1', [two])).toBe(2);
    expect(await count(`select count(*) as n from redemptions where code = $1`, [two])).toBe(2);
  });

  it('valid, refused and unknown codes in one batch each get their own answer, as one by one', async () => {
    const campaign = await createCampaign(p, {
      rules: { discount: { type: 'amount', value: 100, currency: 'EUR' }, order: { min_amount: 500, currency: 'EUR' } },
    });
    const [valid, spent, low, mismatch] = await seedCodes(p, campaign, 4);
    await redeemHttp({ code: spent, customer: { id: 'earlier' }, order });
    const unknown = uniqueCode('NOPE');
    const { result: answers, batched } = await counting(() =>
      settled([
        { code: valid, customer: { id: 'm-1' }, order: { id: 'o-1', ...order } },
        { code: spent, customer: { id: 'm-2' }, order },
        { code: unknown, customer: { id: 'm-3' }, order },
        { code: low, customer: { id: 'm-4' }, order: { amount: 100, currency: 'EUR' } },
        { code: mismatch, customer: { id: 'm-5' }, order: { amount: 1000, currency: 'USD' } },
      ]),
    );
    expect(batched).toBe(4);
    // A refusal that is an error (an order in another currency) is the request's own, answered alone.
    const thrown = answers[4] as PromiseRejectedResult;
    expect(thrown.status).toBe('rejected');
    expect(thrown.reason).toMatchObject({ code: 'currency_mismatch' });
    const result = answers.slice(0, 4).map((r) => (r as PromiseFulfilledResult<RedeemResult>).value);
    const [ok, quantity, notFound, tooLow] = result as [RedeemResult, RedeemResult, RedeemResult, RedeemResult];
    expect(ok.response.status).toBe(201);
    const stored = await p.call(`/v1/redemptions/${(ok.response.body as { id: string }).id}`);
    expect(stored.body).toEqual(ok.response.body);
    expect(ok.response.body).toMatchObject({
      code: valid,
      customer: { id: 'm-1' },
      order: { id: 'o-1', amount: 1000 },
      discount_amount: 100,
    });
    expect(quantity.response).toMatchObject({ status: 422, body: { reason: 'quantity_exceeded' } });
    expect(notFound.response).toMatchObject({ status: 422, body: { reason: 'not_found' } });
    expect(notFound.guesses).toEqual([null]);
    expect(tooLow.response).toMatchObject({ status: 422, body: { reason: 'order_amount_too_low' } });
    expect(ok.guess).toBe(false);
    // What a redemption writes alone: the use, the lifecycle entry, the event; a refusal its event and its record.
    expect(
      await count(
        `select count(*) as n from voucher_events e join vouchers v on v.id = e.voucher_id where v.code = $1 and e.type = 'redeemed'`,
        [valid],
      ),
    ).toBe(1);
    expect(
      await count(`select count(*) as n from outbox_events where type = 'voucher.redemption.succeeded' and data->>'code' = $1`, [valid]),
    ).toBe(1);
    expect(
      await count(`select count(*) as n from outbox_events where type = 'voucher.redemption.failed' and data->>'code' = any($1)`, [
        [spent, low],
      ]),
    ).toBe(2);
    expect(await count(`select count(*) as n from failed_redemptions where code = any($1)`, [[spent, low, unknown]])).toBe(2);
    expect(await count('select redemption_count as n from vouchers where code = $1', [low])).toBe(0);
  });

  it('a discount budget that allows 37: 200 redemptions in batches give exactly 37, and it runs out once', async () => {
    const campaign = await createCampaign(p, {
      rules: { discount: { type: 'amount', value: 100, currency: 'EUR' } },
      budget: { max_discount_amount: 3700, currency: 'EUR' },
    });
    const codes = await seedCodes(p, campaign, 200);
    await apiKeyId();
    const { result, batched } = await counting(async () => {
      const waves: Promise<RedeemResult[]>[] = [];
      // Twenty waves of ten, each started in its own turn: batches of a few waves, the last ones crossing the budget.
      for (let w = 0; w < 20; w++) {
        waves.push(together(codes.slice(w * 10, w * 10 + 10).map((code, i) => ({ code, customer: { id: `w${w}-${i}` }, order }))));
        await new Promise((resolve) => setImmediate(resolve));
      }
      return (await Promise.all(waves)).flat();
    });
    expect(batched).toBeGreaterThan(0);
    expect(result.filter((r) => r.response.status === 201)).toHaveLength(37);
    const refused = result.filter((r) => r.response.status === 422);
    expect(refused).toHaveLength(163);
    for (const r of refused) expect(r.response.body).toMatchObject({ reason: 'budget_exhausted' });
    expect(
      await count(`select sum(discount_amount) as n from redemptions where campaign_id = $1 and status = 'succeeded'`, [campaign]),
    ).toBe(3700);
    expect(await count(`select used_discount as n from campaign_budgets where campaign_id = $1`, [campaign])).toBe(3700);
    expect(
      await count(`select count(*) as n from outbox_events where type = 'campaign.budget.exhausted' and data->>'campaign_id' = $1`, [
        campaign,
      ]),
    ).toBe(1);
  });

  it('a batch that uses a budget up exactly is charged at once and announces it once', async () => {
    const campaign = await createCampaign(p, { budget: { max_redemptions: 5 } });
    const codes = await seedCodes(p, campaign, 6);
    const { result, batched } = await counting(() => together(codes.slice(0, 5).map((code) => ({ code }))));
    expect(batched).toBe(5);
    expect(result.map((r) => r.response.status)).toEqual([201, 201, 201, 201, 201]);
    expect(
      await count(`select count(*) as n from outbox_events where type = 'campaign.budget.exhausted' and data->>'campaign_id' = $1`, [
        campaign,
      ]),
    ).toBe(1);
    expect((await redeemHttp({ code: codes[5] })).body.code).toBe('budget_exhausted');
    expect(await count(`select used_redemptions as n from campaign_budgets where campaign_id = $1`, [campaign])).toBe(5);
  });

  it('a code another transaction holds locked does not hold up its batch: the others are answered, it runs alone', async () => {
    const campaign = await createCampaign(p, { rules: { redemption: { per_code_limit: null } } });
    const [busy, a, b] = await seedCodes(p, campaign, 3);
    const holder = await p.platform.db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query('select 1 from vouchers where code = $1 for update', [busy]);
      const { result, batched } = await counting(async () => {
        const [first, ...others] = await start([{ code: busy }, { code: a }, { code: b }]);
        // Answered while the busy code's row is still locked (waiting for it, this would never return).
        const answered = await Promise.all(others);
        await holder.query('commit');
        return [await (first as Promise<RedeemResult>), ...answered];
      });
      expect(batched).toBe(2);
      expect(result.map((r) => r.response.status)).toEqual([201, 201, 201]);
      expect(await count(`select count(*) as n from redemptions where code = any($1)`, [[busy, a, b]])).toBe(3);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      holder.release();
    }
  });

  it('a batch whose transaction fails is answered one by one, every request correctly and once', async () => {
    const campaign = await createCampaign(p);
    const codes = await seedCodes(p, campaign, 10);
    const spent = codes[9] as string;
    await redeemHttp({ code: spent });
    // Any statement that writes more than one redemption fails: every batch write does, no single one does.
    await p.platform.db.query(`
      create function refuse_batches() returns trigger language plpgsql as $$
      begin
        if (select count(*) from new_rows) > 1 then raise exception 'no batches here'; end if;
        return null;
      end $$;
      create trigger refuse_batches after insert on redemptions referencing new table as new_rows
        for each statement execute function refuse_batches();`);
    try {
      const { result, batched, failedBatches } = await counting(() =>
        together(codes.map((code, i) => ({ code, customer: { id: `f-${i}` } }))),
      );
      expect(failedBatches).toBeGreaterThan(0);
      expect(batched).toBe(0);
      expect(result.map((r) => r.response.status)).toEqual([201, 201, 201, 201, 201, 201, 201, 201, 201, 422]);
      expect(await count(`select count(*) as n from redemptions where code = any($1)`, [codes])).toBe(10);
      expect(await count(`select count(*) as n from vouchers where code = any($1) and redemption_count = 1`, [codes])).toBe(10);
      expect(await count(`select count(*) as n from failed_redemptions where code = $1`, [spent])).toBe(1);
    } finally {
      await p.platform.db.query('drop trigger refuse_batches on redemptions; drop function refuse_batches()');
    }
  });
});
