import { beforeAll, describe, expect, it } from 'vitest';
import voucherifyNode from 'voucherify';
import { useTestPlatform, waitFor } from '../support/platform.ts';
import { generatedCampaign, refusal, type ServerSdk, sdkKey, VoucherifyServerSide } from '../support/voucherify.ts';

describe('the Voucherify-compatible API through the real SDKs (server side)', () => {
  const p = useTestPlatform();
  let sdk: ServerSdk;
  let node: any;
  let token: string;

  // After useTestPlatform's own beforeAll: hooks run in the order they are declared.
  beforeAll(async () => {
    const key = await sdkKey(p);
    token = key.key;
    const apiUrl = `${p.url}/voucherify`;
    sdk = VoucherifyServerSide({ applicationId: key.id, secretKey: key.key, apiUrl });
    node = voucherifyNode({ applicationId: key.id, clientSecretKey: key.key, apiUrl });
  });

  it('refuses a wrong application id or token with 401 unauthorized', async () => {
    const wrong = VoucherifyServerSide({
      applicationId: '00000000-0000-0000-0000-000000000000',
      secretKey: token,
      apiUrl: `${p.url}/voucherify`,
    });
    const e = await refusal(wrong.vouchers.get('NOPE'));
    expect(e).toMatchObject({ code: 401, key: 'unauthorized', message: 'Unauthorized' });
  });

  it('creates, reads, updates, disables, enables and deletes a standalone voucher', async () => {
    const created = await sdk.vouchers.create({
      code: 'VF-A/1',
      type: 'DISCOUNT_VOUCHER',
      discount: { type: 'PERCENT', percent_off: 10 },
    } as never);
    expect(created).toMatchObject({
      code: 'VF-A/1',
      object: 'voucher',
      type: 'DISCOUNT_VOUCHER',
      discount: { type: 'PERCENT', percent_off: 10 },
      active: true,
    });
    expect(created.id).toMatch(/^v_\d+$/);
    expect(created.redemption).toMatchObject({ quantity: null, redeemed_quantity: 0 });
    // The same id on every read; percent-encoded code in the path.
    const read = await sdk.vouchers.get('vf-a/1');
    expect(read.id).toBe(created.id);
    expect((await sdk.vouchers.get(created.id as string)).code).toBe('VF-A/1');

    const drawn = await sdk.vouchers.create({ type: 'DISCOUNT_VOUCHER', discount: { type: 'AMOUNT', amount_off: 500 } } as never);
    expect(drawn.code).toMatch(/^[A-Z0-9]{8}$/);
    expect(drawn.discount).toMatchObject({ type: 'AMOUNT', amount_off: 500 });

    const dup = await refusal(
      sdk.vouchers.create({ code: 'VF-A/1', type: 'DISCOUNT_VOUCHER', discount: { type: 'PERCENT', percent_off: 5 } } as never),
    );
    expect(dup).toMatchObject({ code: 409, key: 'duplicate_found' });

    const updated = await sdk.vouchers.update({ code: 'VF-A/1', metadata: { tier: 'gold' }, redemption: { quantity: 3 } } as never);
    expect(updated).toMatchObject({ metadata: { tier: 'gold' }, redemption: { quantity: 3 } });

    // The Node SDK posts a JSON `null` body to enable/disable.
    expect((await node.vouchers.disable('VF-A/1')).active).toBe(false);
    expect((await sdk.vouchers.enable('VF-A/1')).active).toBe(true);

    await node.vouchers.delete('VF-A/1');
    const gone = await refusal(sdk.vouchers.get('VF-A/1'));
    expect(gone).toMatchObject({ code: 404, key: 'not_found', message: 'Resource not found' });
    // The platform keeps it (disabled) and its log.
    const platformView = await p.call('/v1/vouchers/VF-A%2F1/events');
    expect(platformView.body.data.map((e: { type: string }) => e.type)).toContain('deleted');
  });

  it('answers unsupported fields with 400 not_supported naming the field, and unknown paths with 404 not_supported', async () => {
    const gift = await refusal(sdk.vouchers.create({ code: 'VF-GIFT', type: 'GIFT_VOUCHER', gift: { amount: 1000 } } as never));
    expect(gift).toMatchObject({ code: 400, key: 'not_supported' });
    expect(gift.details).toContain('gift');
    const loyalty = await refusal(sdk.loyalties.list());
    expect(loyalty).toMatchObject({ code: 404, key: 'not_supported' });
  });

  it('creates a campaign with a generation, reports it, finds it by name or id, and lists its vouchers', async () => {
    const campaign = await sdk.campaigns.create({
      name: 'Spring VF',
      campaign_type: 'DISCOUNT_COUPONS',
      type: 'AUTO_UPDATE',
      vouchers_count: 25,
      voucher: {
        type: 'DISCOUNT_VOUCHER',
        discount: { type: 'PERCENT', percent_off: 15 },
        code_config: { pattern: 'SPR-#######' },
        redemption: { quantity: 1 },
      },
    } as never);
    expect(campaign.id).toMatch(/^camp_[0-9a-f]{32}$/);
    expect(['IN_PROGRESS', 'DONE']).toContain(campaign.vouchers_generation_status);
    await waitFor(async () => (await sdk.campaigns.get('spring vf')).vouchers_generation_status === 'DONE');
    const byId = await sdk.campaigns.get(campaign.id);
    expect(byId).toMatchObject({ name: 'Spring VF', vouchers_count: 25, voucher: { discount: { percent_off: 15 } } });

    const dupName = await refusal(sdk.campaigns.create({ name: 'SPRING vf', campaign_type: 'DISCOUNT_COUPONS' } as never));
    expect(dupName).toMatchObject({ code: 409, key: 'duplicate_found' });

    const page1 = await sdk.vouchers.list({ campaign: 'Spring VF', limit: 10, page: 1 } as never);
    expect(page1).toMatchObject({ object: 'list', data_ref: 'vouchers', total: 25 });
    expect(page1.vouchers).toHaveLength(10);
    const page3 = await sdk.vouchers.list({ campaign: campaign.id, limit: 10, page: 3 } as never);
    expect(page3.vouchers).toHaveLength(5);
    const all = new Set([...page1.vouchers, ...page3.vouchers].map((v: { code: string }) => v.code));
    expect(all.size).toBe(15);
    // Nested query strings: created_at[after].
    const recent = await sdk.vouchers.list({ campaign: campaign.id, created_at: { after: '2000-01-01T00:00:00Z' } } as never);
    expect(recent.total).toBe(25);

    const more = await sdk.campaigns.addVoucher(campaign.id, {}, { vouchers_count: 5 } as never);
    expect((more as { async_action_id: string }).async_action_id).toMatch(/^aa_g[0-9a-f]{32}$/);
    await waitFor(async () => (await sdk.asyncActions.get((more as { async_action_id: string }).async_action_id)).status === 'DONE');
    const action = await sdk.asyncActions.get((more as { async_action_id: string }).async_action_id);
    expect(action).toMatchObject({ object: 'async_action', progress: 100 });

    const one = (await sdk.campaigns.addVoucher(campaign.id)) as { campaign: string };
    expect(one.campaign).toBe('Spring VF');
    const custom = await sdk.campaigns.addCertainVoucher('Spring VF', 'SPR-CUSTOM1');
    expect(custom.code).toBe('SPR-CUSTOM1');

    const imported = await sdk.campaigns.importVouchers(campaign.id, [
      { code: 'OLD-1', redemption: { quantity: 2, redeemed_quantity: 1 } },
      { code: 'OLD-2' },
    ] as never);
    const importId = (imported as { async_action_id: string }).async_action_id;
    expect(importId).toMatch(/^aa_i/);
    await waitFor(async () => (await sdk.asyncActions.get(importId)).status === 'DONE');
    expect((await sdk.vouchers.get('OLD-1')).redemption).toMatchObject({ quantity: 2, redeemed_quantity: 1 });

    const disabled = await sdk.campaigns.disable(campaign.id);
    expect((disabled as { active: boolean }).active).toBe(false);
    await sdk.campaigns.enable('Spring VF');
    // Delete is soft: disabled and hidden from the compatible API; /v1 keeps it (disabled).
    const doomed = await sdk.campaigns.create({ name: 'Doomed VF' } as never);
    await sdk.campaigns.delete('Doomed VF');
    expect(await refusal(sdk.campaigns.get(doomed.id))).toMatchObject({ code: 404, key: 'not_found' });
    const kept = await p.call(`/v1/campaigns/${doomed.id.slice(5).replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-')}`);
    expect(kept.body).toMatchObject({ name: 'Doomed VF', active: false });
    const list = await sdk.campaigns.list({ limit: 100 } as never);
    expect(list.campaigns.map((c: { name: string }) => c.name)).toContain('Spring VF');
    expect(list.campaigns.map((c: { name: string }) => c.name)).not.toContain('Doomed VF');
  });

  it("answers Voucherify's documented keys: invalid_code_config, campaign_not_active, voucher_not_active_now", async () => {
    const tiny = { type: 'DISCOUNT_VOUCHER', discount: { type: 'AMOUNT', amount_off: 100 }, code_config: { length: 1, charset: 'AB' } };
    // Two codes in all: one issued would let every second guess hit.
    const tooSmall = await refusal(sdk.campaigns.create({ name: 'Tiny VF', vouchers_count: 1, voucher: tiny } as never));
    expect(tooSmall).toMatchObject({ code: 400, key: 'invalid_code_config' });
    await sdk.campaigns.create({ name: 'Tiny VF 2', voucher: tiny } as never);
    await sdk.campaigns.addVoucher('Tiny VF 2');
    await sdk.campaigns.addVoucher('Tiny VF 2');
    // Both codes of the code space are taken: no more can be drawn.
    expect(await refusal(sdk.campaigns.addVoucher('Tiny VF 2'))).toMatchObject({ code: 400, key: 'invalid_code_config' });

    await sdk.campaigns.create({
      name: 'Paused VF',
      voucher: { type: 'DISCOUNT_VOUCHER', discount: { type: 'AMOUNT', amount_off: 100 } },
    } as never);
    await sdk.campaigns.addCertainVoucher('Paused VF', 'PAUSED-1');
    await sdk.campaigns.disable('Paused VF');
    const paused = await refusal(sdk.redemptions.redeem('PAUSED-1', { order: { amount: 1000 } } as never));
    expect(paused).toMatchObject({ code: 400, key: 'campaign_not_active' });

    // Every weekday but today's and tomorrow's (UTC), so the test cannot straddle midnight into a valid day.
    const today = new Date().getUTCDay();
    const days = [0, 1, 2, 3, 4, 5, 6].filter((d) => d !== today && d !== (today + 1) % 7);
    await sdk.vouchers.create({
      code: 'WEEKDAYS-1',
      type: 'DISCOUNT_VOUCHER',
      discount: { type: 'AMOUNT', amount_off: 100 },
      validity_day_of_week: days,
    } as never);
    const notNow = await refusal(sdk.redemptions.redeem('WEEKDAYS-1', { order: { amount: 1000 } } as never));
    expect(notNow).toMatchObject({ code: 400, key: 'voucher_not_active_now', message: 'voucher is not active in the given timeframe' });
  });

  it('validates and redeems a code (legacy and stackable), rolls back, and maps refusals to Voucherify keys', async () => {
    await sdk.campaigns.create({
      name: 'Checkout VF',
      voucher: { type: 'DISCOUNT_VOUCHER', discount: { type: 'AMOUNT', amount_off: 700 }, redemption: { quantity: 1 } },
    } as never);
    await sdk.campaigns.addCertainVoucher('Checkout VF', 'CHK-1');
    await sdk.campaigns.addCertainVoucher('Checkout VF', 'CHK-2');

    const valid = await sdk.validations.validateVoucher('CHK-1', { order: { amount: 5000 }, customer: { source_id: 'ada' } } as never);
    expect(valid).toMatchObject({
      valid: true,
      code: 'CHK-1',
      discount: { type: 'AMOUNT', amount_off: 700 },
      order: { amount: 5000, discount_amount: 700, total_amount: 4300 },
    });

    const redeemed = await sdk.redemptions.redeem('CHK-1', { order: { amount: 5000 }, customer: { source_id: 'ada' } } as never);
    expect(redeemed).toMatchObject({ object: 'redemption', result: 'SUCCESS', voucher: { code: 'CHK-1' }, customer: { source_id: 'ada' } });
    expect(redeemed.id).toMatch(/^r_[0-9a-f]{32}$/);

    const again = await refusal(sdk.redemptions.redeem('CHK-1', { order: { amount: 5000 } } as never));
    expect(again).toMatchObject({ code: 400, key: 'quantity_exceeded', message: 'quantity exceeded' });
    const invalid = await sdk.validations.validateVoucher('CHK-1', {} as never);
    expect(invalid).toMatchObject({ valid: false, error: { key: 'quantity_exceeded' } });
    const unknown = await refusal(sdk.validations.validateVoucher('NOPE-404', {} as never));
    expect(unknown).toMatchObject({ code: 404, key: 'not_found' });

    // The Node SDK sends a tracking id as a bare JSON string body and a double-encoded tracking_id query value.
    await sdk.campaigns.addCertainVoucher('Checkout VF', 'CHK-3');
    const tracked = await node.redemptions.redeem('CHK-3', 'visitor 7/ä');
    expect(tracked).toMatchObject({ result: 'SUCCESS', tracking_id: 'visitor 7/ä', customer: { source_id: 'visitor 7/ä' } });

    // The Node SDK double-encodes the reason.
    const rollback = await node.redemptions.rollback(redeemed.id, 'order cancelled & refunded');
    expect(rollback).toMatchObject({ object: 'redemption_rollback', reason: 'order cancelled & refunded', redemption: redeemed.id });
    expect(rollback.id).toMatch(/^rr_/);
    const twice = await refusal(sdk.redemptions.rollback(redeemed.id));
    expect(twice).toMatchObject({ code: 400, key: 'already_rolled_back' });

    // Stackable, one redeemable.
    const stackValid = await sdk.validations.validateStackable({
      redeemables: [{ object: 'voucher', id: 'CHK-2' }],
      order: { amount: 2000 },
    } as never);
    expect(stackValid).toMatchObject({
      valid: true,
      redeemables: [{ status: 'APPLICABLE', id: 'CHK-2' }],
      stacking_rules: { redeemables_limit: 5 },
    });
    const stack = await sdk.redemptions.redeemStackable({
      redeemables: [{ object: 'voucher', id: 'CHK-2' }],
      order: { amount: 2000 },
      customer: { source_id: 'bob' },
    } as never);
    expect(stack.redemptions).toHaveLength(1);
    expect(stack.parent_redemption.id).toMatch(/^r_0[0-9a-f]{32}$/);
    expect((await sdk.redemptions.get(stack.parent_redemption.id)).id).toBe(stack.parent_redemption.id);
    const rollbacks = await sdk.redemptions.rollbackStackable(stack.parent_redemption.id, {} as never);
    expect((rollbacks as { rollbacks: unknown[] }).rollbacks).toHaveLength(1);

    // The refused second redemption of CHK-1 is kept as a failed redemption.
    const failures = await sdk.redemptions.list({ result: 'FAILURE', campaign: 'Checkout VF' } as never);
    expect(failures).toMatchObject({
      object: 'list',
      data_ref: 'redemptions',
      total: 1,
      redemptions: [{ result: 'FAILURE', failure_code: 'quantity_exceeded', voucher: { code: 'CHK-1' } }],
    });
    const unknownResult = await refusal(sdk.redemptions.list({ result: 'MAYBE' } as never));
    expect(unknownResult).toMatchObject({ code: 400, key: 'not_supported' });

    const list = await sdk.redemptions.list({ campaign: 'Checkout VF' } as never);
    expect(list).toMatchObject({ object: 'list', data_ref: 'redemptions', total: 4 }); // 3 succeeded, 1 failed
    const forVoucher = await sdk.redemptions.getForVoucher('CHK-1');
    expect(forVoucher).toMatchObject({ redeemed_quantity: 0, total: 1 });
  });

  it('publishes codes (source_id idempotency, join_once in body or query) and records events', async () => {
    await generatedCampaign(sdk, 'Welcome VF', 5, { type: 'PERCENT', percent_off: 5 });
    const first = await sdk.distributions.publications.create({
      campaign: { name: 'Welcome VF' },
      customer: { source_id: 'cara' },
      source_id: 'signup-cara',
    } as never);
    expect(first.id).toMatch(/^pub_/);
    const retry = await sdk.distributions.publications.create({
      campaign: 'Welcome VF',
      customer: { source_id: 'cara' },
      source_id: 'signup-cara',
    } as never);
    expect(retry.id).toBe(first.id);
    const once = await sdk.distributions.publications.create({
      campaign: 'Welcome VF',
      customer: { source_id: 'dan' },
      join_once: true,
    } as never);
    const onceAgain = await sdk.distributions.publications.create({
      campaign: 'Welcome VF',
      customer: { source_id: 'dan' },
      join_once: true,
    } as never);
    expect(onceAgain.voucher.code).toBe(once.voucher.code);
    const notOnce = await sdk.distributions.publications.create({ campaign: 'Welcome VF', customer: { source_id: 'dan' } } as never);
    expect(notOnce.voucher.code).not.toBe(once.voucher.code);
    // The voucher form: that code, once.
    await sdk.campaigns.addCertainVoucher('Welcome VF', 'WELCOME-PICK');
    const picked = await sdk.distributions.publications.create({ voucher: 'welcome-pick', customer: { source_id: 'erin' } } as never);
    expect(picked.voucher).toMatchObject({ code: 'WELCOME-PICK', holder_id: picked.customer_id });
    const taken = await refusal(
      sdk.distributions.publications.create({ voucher: 'WELCOME-PICK', customer: { source_id: 'fred' } } as never),
    );
    expect(taken).toMatchObject({ code: 400, key: 'no_voucher_suitable_for_publication' });
    const listed = await sdk.distributions.publications.list({ campaign: 'Welcome VF' } as never);
    expect(listed).toMatchObject({ object: 'list', data_ref: 'publications', total: 4 });

    const event = await sdk.events.create('user_subscribed', { customer: { source_id: 'cara' }, metadata: { plan: 'pro' } } as never);
    expect(event).toMatchObject({ object: 'event', type: 'user_subscribed' });
  });
});
