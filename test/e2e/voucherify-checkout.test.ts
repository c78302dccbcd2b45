import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { generatedCampaign, refusal, type ServerSdk, serverSdk } from '../support/voucherify.ts';

type Sdk = ServerSdk;

async function platformWithSdk(env: Record<string, string> = {}): Promise<{ p: TestPlatform; sdk: Sdk }> {
  const p = await startTestPlatform({ env });
  return { p, sdk: await serverSdk(p, { exposeErrorCause: true }) };
}

async function twoCampaigns(sdk: Sdk): Promise<void> {
  await sdk.campaigns.create({
    name: 'Ten off',
    voucher: { type: 'DISCOUNT_VOUCHER', discount: { type: 'AMOUNT', amount_off: 1000 } },
  } as never);
  await sdk.campaigns.create({
    name: 'Half off',
    voucher: { type: 'DISCOUNT_VOUCHER', discount: { type: 'PERCENT', percent_off: 50 }, redemption: { quantity: 1 } },
  } as never);
  for (const code of ['TEN-1', 'TEN-2']) await sdk.campaigns.addCertainVoucher('Ten off', code);
  for (const code of ['HALF-1', 'HALF-2']) await sdk.campaigns.addCertainVoucher('Half off', code);
}

const order = {
  amount: 6000,
  items: [
    { sku_id: 'shirt', quantity: 2, price: 2000 },
    { product_id: 'hat', quantity: 1, price: 2000, amount: 2000 },
  ],
};

/** Two stackable vouchers on one order for one customer: validated first, then redeemed. */
const tenAndHalfForAda = {
  redeemables: [
    { object: 'voucher', id: 'TEN-1' },
    { object: 'voucher', id: 'HALF-1' },
  ],
  order,
  customer: { source_id: 'ada' },
};

describe('Voucherify checkout through the SDK: several redeemables, items, customers, qualifications', () => {
  let all: { p: TestPlatform; sdk: Sdk };
  let partial: { p: TestPlatform; sdk: Sdk };

  beforeAll(async () => {
    [all, partial] = await Promise.all([platformWithSdk(), platformWithSdk({ VOUCHERIFY_COMPAT_APPLICATION_MODE: 'PARTIAL' })]);
    await Promise.all([twoCampaigns(all.sdk), twoCampaigns(partial.sdk)]);
  });
  afterAll(async () => {
    await Promise.all([all?.p.destroy(), partial?.p.destroy()]);
  });

  it('validates two vouchers on one order with items: each applicable, the discounts applied one after the other', async () => {
    const answer = await all.sdk.validations.validateStackable(tenAndHalfForAda as never);
    expect(answer.valid).toBe(true);
    expect(answer.redeemables?.map((r) => r.status)).toEqual(['APPLICABLE', 'APPLICABLE']);
    expect(answer.stacking_rules).toMatchObject({ redeemables_limit: 5, redeemables_application_mode: 'ALL' });
    // 60.00 − 10.00 = 50.00, then half of it: 25.00 off; together 35.00.
    expect(answer.order).toMatchObject({ amount: 6000, discount_amount: 3500, total_amount: 2500 });
    expect((answer.order as { items: unknown[] }).items).toHaveLength(2);

    const six = Array.from({ length: 6 }, (_, i) => ({ object: 'voucher', id: `X-${i}` }));
    const tooMany = await refusal(all.sdk.validations.validateStackable({ redeemables: six } as never));
    expect(tooMany).toMatchObject({ code: 400, key: 'applicable_redeemables_limit_exceeded' });
    const tier = await refusal(
      all.sdk.validations.validateStackable({ redeemables: [{ object: 'promotion_tier', id: 'promo_1' }] } as never),
    );
    expect(tier).toMatchObject({ code: 400, key: 'not_supported' });
    // A session key that names no reservation (voucherify-sessions.test.ts covers real sessions).
    const session = await refusal(all.sdk.vouchers.releaseValidationSession('TEN-1', 'ssn_1'));
    expect(session).toMatchObject({ code: 404, key: 'not_found' });
    expect(tier.details).toContain('redeemables[0].object');
  });

  it('ALL: one inapplicable redeemable refuses the whole redemption; the others stay unused', async () => {
    const refused = await refusal(
      all.sdk.redemptions.redeemStackable({
        redeemables: [
          { object: 'voucher', id: 'TEN-1' },
          { object: 'voucher', id: 'NOPE-9' },
        ],
        order,
      } as never),
    );
    expect(refused).toMatchObject({ code: 404, key: 'not_found' });
    expect((await all.sdk.vouchers.get('TEN-1')).redemption?.redeemed_quantity).toBe(0);

    const done = await all.sdk.redemptions.redeemStackable(tenAndHalfForAda as never);
    expect(done.redemptions).toHaveLength(2);
    expect(done.parent_redemption).toMatchObject({ object: 'redemption', result: 'SUCCESS', order: { discount_amount: 3500 } });
    expect(done.redemptions.every((r) => (r as { parent_redemption_id?: string }).parent_redemption_id === done.parent_redemption.id)).toBe(
      true,
    );
    const parent = await all.sdk.redemptions.get(done.parent_redemption.id);
    expect((parent as unknown as { related_redemptions: { redemptions: unknown[] } }).related_redemptions.redemptions).toHaveLength(2);

    const again = await refusal(
      all.sdk.redemptions.redeemStackable({ redeemables: [{ object: 'voucher', id: 'HALF-1' }], order } as never),
    );
    expect(again).toMatchObject({ code: 400, key: 'quantity_exceeded' });

    const rolled = (await all.sdk.redemptions.rollbackStackable(done.parent_redemption.id, {} as never)) as unknown as {
      rollbacks: { status: string }[];
    };
    expect(rolled.rollbacks).toHaveLength(2);
    expect((await all.sdk.vouchers.get('HALF-1')).redemption?.redeemed_quantity).toBe(0);
    const twice = await refusal(all.sdk.redemptions.rollbackStackable(done.parent_redemption.id, {} as never));
    expect(twice).toMatchObject({ code: 400, key: 'already_rolled_back' });
  });

  it('PARTIAL: the applicable redeemables are redeemed, the others listed as inapplicable', async () => {
    const done = await partial.sdk.redemptions.redeemStackable({
      redeemables: [
        { object: 'voucher', id: 'TEN-2' },
        { object: 'voucher', id: 'NOPE-9' },
      ],
      order: { amount: 5000 },
    } as never);
    expect(done.redemptions).toHaveLength(1);
    expect(
      (done as unknown as { inapplicable_redeemables: { id: string; result: { error: { key: string } } }[] }).inapplicable_redeemables,
    ).toMatchObject([{ id: 'NOPE-9', result: { error: { key: 'not_found' } } }]);
    expect((await partial.sdk.vouchers.get('TEN-2')).redemption?.redeemed_quantity).toBe(1);
  });

  it('stays exact under 30 parallel SDK redemptions of a code that allows 5', async () => {
    await all.sdk.campaigns.create({
      name: 'Race VF',
      voucher: { type: 'DISCOUNT_VOUCHER', discount: { type: 'AMOUNT', amount_off: 100 }, redemption: { quantity: 5 } },
    } as never);
    await all.sdk.campaigns.addCertainVoucher('Race VF', 'RACE-5');
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        all.sdk.redemptions.redeemStackable({
          redeemables: [{ object: 'voucher', id: 'RACE-5' }],
          order: { amount: 1000 },
          customer: { source_id: `racer-${i}` },
        } as never),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code: number; key: string }] : []));
    expect(won).toHaveLength(5);
    expect(lost).toHaveLength(25);
    expect(lost.every((e) => e.code === 400 && e.key === 'quantity_exceeded')).toBe(true);
    expect((await all.sdk.vouchers.get('RACE-5')).redemption?.redeemed_quantity).toBe(5);
  });

  it("answers a shopper's guessing with 429 too_many_requests and Retry-After (the platform's guessing defence)", async () => {
    const guess = (i: number) =>
      all.sdk.validations.validateStackable({
        redeemables: [{ object: 'voucher', id: `GUESS-${i}` }],
        customer: { source_id: 'guesser' },
      } as never);
    let limited: { code: number; key: string; cause?: { response?: { headers: Record<string, string> } } } | undefined;
    for (let i = 0; i < 30 && !limited; i++) {
      const answer = await guess(i).catch((e) => {
        limited = e;
        return null;
      });
      if (answer) expect(answer.valid).toBe(false);
    }
    expect(limited).toMatchObject({ code: 429, key: 'too_many_requests' });
    expect(Number(limited?.cause?.response?.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('creates (upserts by source_id), reads, updates and deletes customers', async () => {
    const created = (await all.sdk.customers.create({
      source_id: 'cust-ext-1',
      email: 'ada@example.com',
      name: 'Ada',
      metadata: { tier: 'gold' },
    } as never)) as unknown as { id: string };
    expect(created).toMatchObject({ source_id: 'cust-ext-1', email: 'ada@example.com', object: 'customer' });
    expect(created.id).toMatch(/^cust_/);
    const upserted = await all.sdk.customers.create({ source_id: 'cust-ext-1', name: 'Ada L.' } as never);
    expect(upserted).toMatchObject({ id: created.id, name: 'Ada L.', email: 'ada@example.com' });
    expect(await all.sdk.customers.get(created.id)).toMatchObject({ source_id: 'cust-ext-1' });
    expect(await all.sdk.customers.get('cust-ext-1')).toMatchObject({ id: created.id });
    const updated = await all.sdk.customers.update({ id: created.id, metadata: { tier: 'platinum' } } as never);
    expect(updated).toMatchObject({ metadata: { tier: 'platinum' }, name: 'Ada L.' });
    await all.sdk.customers.delete(created.id);
    const gone = await refusal(all.sdk.customers.get(created.id));
    expect(gone).toMatchObject({ code: 404, key: 'not_found' });
  });

  it("qualifies the customer's wallet: the published codes that apply to the order", async () => {
    await generatedCampaign(all.sdk, 'Wallet VF', 3, { type: 'AMOUNT', amount_off: 300 });
    const published = await all.sdk.distributions.publications.create({ campaign: 'Wallet VF', customer: { source_id: 'wally' } } as never);
    const answer = await all.sdk.qualifications.checkEligibility({
      scenario: 'CUSTOMER_WALLET',
      customer: { source_id: 'wally' },
      order: { amount: 2000 },
    } as never);
    expect(answer.redeemables.data.map((r) => r.id)).toEqual([published.voucher.code]);
    expect(answer.redeemables.data[0]).toMatchObject({ object: 'voucher', order: { discount_amount: 300 } });
    const nobody = await all.sdk.qualifications.checkEligibility({
      scenario: 'CUSTOMER_WALLET',
      customer: { source_id: 'nobody' },
      order: { amount: 2000 },
    } as never);
    expect(nobody.redeemables.total).toBe(0);
    const unsupported = await refusal(all.sdk.qualifications.checkEligibility({ scenario: 'PRODUCTS' } as never));
    expect(unsupported).toMatchObject({ code: 400, key: 'not_supported' });
  });
});
