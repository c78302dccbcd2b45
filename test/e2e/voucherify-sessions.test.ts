import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import voucherifyNode from 'voucherify';
import { expireReservations } from '../../src/reservations/reservations.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { refusal, type ServerSdk, sdkKey, VoucherifyServerSide } from '../support/voucherify.ts';

interface SessionAnswer {
  valid: boolean;
  session?: { key: string; type: string; ttl: number; ttl_unit: string };
  redeemables: { id: string; status: string; result: { error?: { key: string } } }[];
}

interface ListedRedemption {
  id: string;
  result: string;
  status: string;
  failure_code?: string;
  failure_message?: string;
  voucher: { code: string } | null;
  customer_id: string | null;
}

const clock = new ManualClock('2026-03-02T10:00:00Z');
const order = { amount: 5000, items: [{ sku_id: 'shirt', quantity: 1, price: 5000 }] };

describe('Voucherify sessions and failed redemptions through the SDK: reservations underneath', () => {
  let p: TestPlatform;
  let sdk: ServerSdk;
  let node: any;

  beforeAll(async () => {
    // The manual clock decides expiry; the sweep is run by the test (no workers).
    p = await startTestPlatform({ clock, workers: false });
    const key = await sdkKey(p);
    const apiUrl = `${p.url}/voucherify`;
    sdk = VoucherifyServerSide({ applicationId: key.id, secretKey: key.key, apiUrl, exposeErrorCause: true });
    node = voucherifyNode({ applicationId: key.id, clientSecretKey: key.key, apiUrl });
    await sdk.campaigns.create({
      name: 'Once',
      voucher: { type: 'DISCOUNT_VOUCHER', discount: { type: 'AMOUNT', amount_off: 1000 }, redemption: { quantity: 1 } },
    } as never);
    for (const code of ['ONCE-1', 'ONCE-2', 'ONCE-3', 'ONCE-4', 'ONCE-5', 'KEY-1', 'KEY-2', 'NODE-1', 'NODE-2']) {
      await sdk.campaigns.addCertainVoucher('Once', code);
    }
  });
  afterAll(async () => {
    await p?.destroy();
  });

  const lock = (code: string, customer: string, session: Record<string, unknown> = { type: 'LOCK', ttl: 10, ttl_unit: 'MINUTES' }) =>
    sdk.validations.validateStackable({
      redeemables: [{ object: 'voucher', id: code }],
      order,
      customer: { source_id: customer },
      session,
    } as never) as unknown as Promise<SessionAnswer>;

  const redeemFor = (code: string, customer: string) =>
    sdk.redemptions.redeemStackable({ redeemables: [{ object: 'voucher', id: code }], order, customer: { source_id: customer } } as never);

  it('a LOCK session holds the code: another customer is refused, the redemption with the key succeeds once', async () => {
    const held = await lock('ONCE-1', 'ada');
    expect(held.valid).toBe(true);
    expect(held.session).toEqual({ key: expect.stringMatching(/^ssn_[0-9a-f]{32}$/), type: 'LOCK', ttl: 10, ttl_unit: 'MINUTES' });
    const key = held.session?.key as string;
    // The session is the platform's reservation, 600 s long.
    const reservation = await p.call(`/v1/reservations/${key.slice(4).replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-')}`);
    expect(reservation.status).toBe(200);
    expect(reservation.body).toMatchObject({ status: 'held', customer: { id: 'ada' } });
    expect(Date.parse(reservation.body.expires_at) - Date.parse(reservation.body.created_at)).toBe(600_000);

    const other = await lock('ONCE-1', 'bob');
    expect(other.valid).toBe(false);
    expect(other.session).toBeUndefined();
    expect(other.redeemables[0]).toMatchObject({ status: 'INAPPLICABLE', result: { error: { key: 'quantity_exceeded' } } });
    const stolen = await refusal(redeemFor('ONCE-1', 'bob'));
    expect(stolen).toMatchObject({ code: 400, key: 'quantity_exceeded' });

    const wrong = await refusal(
      sdk.redemptions.redeemStackable({ redeemables: [{ object: 'voucher', id: 'ONCE-2' }], order, session: { key } } as never),
    );
    expect(wrong).toMatchObject({ code: 400, key: 'invalid_payload' });

    const done = await sdk.redemptions.redeemStackable({
      redeemables: [{ object: 'voucher', id: 'ONCE-1' }],
      order,
      customer: { source_id: 'ada' },
      session: { key },
    } as never);
    expect(done.redemptions).toHaveLength(1);
    expect(done.parent_redemption).toMatchObject({ result: 'SUCCESS', order: { amount: 5000, discount_amount: 1000 } });
    expect((await sdk.vouchers.get('ONCE-1')).redemption?.redeemed_quantity).toBe(1);
    // Redeeming with the key again answers the same redemptions (the reservation confirms once).
    const again = await sdk.redemptions.redeemStackable({ redeemables: [{ object: 'voucher', id: 'ONCE-1' }], session: { key } } as never);
    expect(again.parent_redemption.id).toBe(done.parent_redemption.id);
    expect((await sdk.vouchers.get('ONCE-1')).redemption?.redeemed_quantity).toBe(1);
    // A consumed session cannot be released.
    expect(await refusal(sdk.vouchers.releaseValidationSession('ONCE-1', key))).toMatchObject({ code: 409, key: 'session_consumed' });
  });

  it('releasing the session frees the code for someone else; an unknown key is 404', async () => {
    const held = await lock('ONCE-2', 'ada', { type: 'LOCK', ttl: 2, ttl_unit: 'HOURS' });
    const key = held.session?.key as string;
    expect((await lock('ONCE-2', 'bob')).valid).toBe(false);
    expect(await refusal(sdk.vouchers.releaseValidationSession('ONCE-3', key))).toMatchObject({ code: 404, key: 'not_found' });
    await sdk.vouchers.releaseValidationSession('ONCE-2', key);
    await sdk.vouchers.releaseValidationSession('ONCE-2', key); // releasing again changes nothing
    expect((await sdk.vouchers.get('ONCE-2')).redemption?.redeemed_quantity).toBe(0);
    const bob = await lock('ONCE-2', 'bob');
    expect(bob.valid).toBe(true);
    expect(bob.session?.key).not.toBe(key);
    const released = await refusal(
      sdk.redemptions.redeemStackable({ redeemables: [{ object: 'voucher', id: 'ONCE-2' }], session: { key } } as never),
    );
    expect(released).toMatchObject({ code: 400, key: 'session_released' });
    expect(await refusal(sdk.vouchers.releaseValidationSession('ONCE-2', 'ssn_00000000000040008000000000000000'))).toMatchObject({
      code: 404,
      key: 'not_found',
    });
  });

  it('refuses sessions it cannot hold, naming the field: longer than a day, other units and types, a key too long', async () => {
    const long = await refusal(lock('ONCE-3', 'ada', { type: 'LOCK', ttl: 25, ttl_unit: 'HOURS' }));
    expect(long).toMatchObject({ code: 400, key: 'invalid_payload' });
    expect(long.details).toContain('session.ttl');
    const unit = await refusal(lock('ONCE-3', 'ada', { type: 'LOCK', ttl: 5, ttl_unit: 'NANOSECONDS' }));
    expect(unit).toMatchObject({ code: 400, key: 'not_supported' });
    expect(unit.details).toContain('session.ttl_unit');
    const chosen = await refusal(lock('ONCE-3', 'ada', { type: 'LOCK', key: 'k'.repeat(201), ttl: 5, ttl_unit: 'MINUTES' }));
    expect(chosen).toMatchObject({ code: 400, key: 'invalid_payload' });
    expect(chosen.details).toContain('session.key');
    expect((await sdk.vouchers.get('ONCE-3')).redemption?.redeemed_quantity).toBe(0);
  });

  const heldUnder = async (key: string) =>
    (
      await p.platform.db.query<{ status: string; expires_at: Date; order: { amount: number } }>(
        `select status, expires_at, "order" from reservations where metadata->>'voucherify_session_key' = $1 order by created_at`,
        [key],
      )
    ).rows;

  it('a caller-chosen key names the session: again with it renews the one hold, another order replaces it, the key redeems it', async () => {
    const session = { type: 'LOCK', key: 'cart-ada', ttl: 5, ttl_unit: 'MINUTES' };
    const first = await lock('KEY-1', 'ada', session);
    expect(first.valid).toBe(true);
    expect(first.session).toEqual({ key: 'cart-ada', type: 'LOCK', ttl: 5, ttl_unit: 'MINUTES' });
    clock.set(new Date(clock.now().getTime() + 60_000));
    // Again with the key (and in a race with itself): the same hold, its ttl restarted; the code counted once.
    const again = await Promise.all(Array.from({ length: 6 }, () => lock('KEY-1', 'ada', session)));
    expect(again.map((a) => [a.valid, a.session?.key])).toEqual(Array(6).fill([true, 'cart-ada']));
    let rows = await heldUnder('cart-ada');
    expect(rows.map((r) => r.status)).toEqual(['held']);
    expect(new Date(rows[0]?.expires_at as Date).getTime()).toBe(clock.now().getTime() + 300_000);
    expect((await sdk.vouchers.get('KEY-1')).redemption?.redeemed_quantity).toBe(1);
    expect((await lock('KEY-1', 'bob')).valid).toBe(false);

    // Another order under the key replaces the session: the old hold is released, one is held.
    const bigger = (await sdk.validations.validateStackable({
      redeemables: [{ object: 'voucher', id: 'KEY-1' }],
      order: { amount: 8000 },
      customer: { source_id: 'ada' },
      session,
    } as never)) as unknown as SessionAnswer;
    expect(bigger).toMatchObject({ valid: true, session: { key: 'cart-ada' } });
    rows = await heldUnder('cart-ada');
    expect(rows.map((r) => [r.status, r.order.amount])).toEqual([
      ['released', 5000],
      ['held', 8000],
    ]);
    expect((await sdk.vouchers.get('KEY-1')).redemption?.redeemed_quantity).toBe(1);

    const done = await sdk.redemptions.redeemStackable({
      redeemables: [{ object: 'voucher', id: 'KEY-1' }],
      session: { key: 'cart-ada' },
    } as never);
    expect(done.parent_redemption).toMatchObject({ result: 'SUCCESS', order: { amount: 8000, discount_amount: 1000 } });
    expect((await heldUnder('cart-ada')).map((r) => r.status)).toEqual(['released', 'confirmed']);

    // A caller's key releases its session too.
    await lock('KEY-2', 'ada', { type: 'LOCK', key: 'cart-two' });
    await sdk.vouchers.releaseValidationSession('KEY-2', 'cart-two');
    expect((await heldUnder('cart-two')).map((r) => r.status)).toEqual(['released']);
    expect((await sdk.vouchers.get('KEY-2')).redemption?.redeemed_quantity).toBe(0);
    expect(await refusal(sdk.vouchers.releaseValidationSession('KEY-2', 'no-such-key'))).toMatchObject({ code: 404, key: 'not_found' });

    // The platform's key passed back after its session was redeemed opens a new session under it, and redeems that.
    await sdk.vouchers.create({
      code: 'TWICE-1',
      type: 'DISCOUNT_VOUCHER',
      discount: { type: 'AMOUNT', amount_off: 100 },
      redemption: { quantity: 2 },
    } as never);
    const platformKey = (await lock('TWICE-1', 'ada')).session?.key as string;
    await sdk.redemptions.redeemStackable({ redeemables: [{ object: 'voucher', id: 'TWICE-1' }], session: { key: platformKey } } as never);
    const reopened = await lock('TWICE-1', 'ada', { type: 'LOCK', key: platformKey });
    expect(reopened).toMatchObject({ valid: true, session: { key: platformKey } });
    const second = await sdk.redemptions.redeemStackable({
      redeemables: [{ object: 'voucher', id: 'TWICE-1' }],
      session: { key: platformKey },
    } as never);
    expect(second.redemptions).toHaveLength(1);
    expect((await sdk.vouchers.get('TWICE-1')).redemption?.redeemed_quantity).toBe(2);
  });

  it('through the Node SDK (voucherify 5.x): a session on the legacy validate holds the code, the legacy redeem with its key uses it', async () => {
    const held = await node.validations.validate('NODE-1', {
      order,
      customer: { source_id: 'cy' },
      session: { type: 'LOCK', ttl: 10, ttl_unit: 'MINUTES' },
    });
    expect(held).toMatchObject({ valid: true, code: 'NODE-1', session: { type: 'LOCK', ttl: 10, ttl_unit: 'MINUTES' } });
    expect(held.session.key).toMatch(/^ssn_[0-9a-f]{32}$/);
    const other = await node.validations.validate('NODE-1', { order, customer: { source_id: 'dan' } });
    expect(other).toMatchObject({ valid: false, error: { key: 'quantity_exceeded' } });
    const redeemed = await node.redemptions.redeem('NODE-1', { session: { key: held.session.key } });
    expect(redeemed).toMatchObject({ result: 'SUCCESS', voucher: { code: 'NODE-1' }, customer: { source_id: 'cy' } });
    expect((await sdk.vouchers.get('NODE-1')).redemption?.redeemed_quantity).toBe(1);

    // A caller's key through the Node SDK, validated twice: one hold.
    const named = { type: 'LOCK', key: 'node-cart', ttl: 2, ttl_unit: 'MINUTES' };
    for (let i = 0; i < 2; i++) {
      expect(await node.validations.validate('NODE-2', { order, session: named })).toMatchObject({ valid: true, session: named });
    }
    expect((await heldUnder('node-cart')).map((r) => r.status)).toEqual(['held']);
    expect((await node.redemptions.redeem('NODE-2', { session: { key: 'node-cart' } })).result).toBe('SUCCESS');
    expect((await sdk.vouchers.get('NODE-2')).redemption?.redeemed_quantity).toBe(1);
  });

  it('a session ends after its ttl: redeeming with its key is session_expired, and the sweep frees the code', async () => {
    const start = clock.now();
    const held = await lock('ONCE-5', 'ada', { type: 'LOCK', ttl: 1500, ttl_unit: 'MILLISECONDS' });
    expect(held.session).toMatchObject({ ttl: 1500, ttl_unit: 'MILLISECONDS' });
    const key = held.session?.key as string;
    const id = key.slice(4).replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
    const reservation = await p.call(`/v1/reservations/${id}`);
    expect(Date.parse(reservation.body.expires_at) - start.getTime()).toBe(2000); // rounded up to whole seconds
    clock.set(new Date(start.getTime() + 2000));
    const late = await refusal(
      sdk.redemptions.redeemStackable({ redeemables: [{ object: 'voucher', id: 'ONCE-5' }], session: { key } } as never),
    );
    expect(late).toMatchObject({ code: 400, key: 'session_expired' });
    expect(await expireReservations(p.platform.db, clock.now(), { batchSize: 10 })).toBe(1);
    expect((await sdk.vouchers.get('ONCE-5')).redemption?.redeemed_quantity).toBe(0);
    expect((await lock('ONCE-5', 'bob')).valid).toBe(true);
  });

  it('of 12 parallel sessions on a code used once, exactly one holds it', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => lock('ONCE-4', `racer-${i}`)));
    expect(answers.filter((a) => a.valid && a.session).length).toBe(1);
    expect(answers.filter((a) => !a.valid).length).toBe(11);
    expect((await sdk.vouchers.get('ONCE-4')).redemption?.redeemed_quantity).toBe(1);
  });

  it('lists refused redemptions as result FAILURE with Voucherify failure codes, and with the others when unfiltered', async () => {
    const refused = await refusal(redeemFor('ONCE-1', 'eve'));
    expect(refused).toMatchObject({ code: 400, key: 'quantity_exceeded' });

    const failures = (await sdk.redemptions.list({ result: 'FAILURE', customer: 'eve' } as never)) as unknown as {
      redemptions: ListedRedemption[];
      total: number;
    };
    expect(failures.total).toBe(1);
    expect(failures.redemptions[0]).toMatchObject({
      id: expect.stringMatching(/^r_f[0-9a-f]{32}$/),
      result: 'FAILURE',
      status: 'FAILED',
      failure_code: 'quantity_exceeded',
      voucher: { code: 'ONCE-1' },
    });
    expect(typeof failures.redemptions[0]?.failure_message).toBe('string');
    // The listed id reads back as the same failed redemption.
    const listed = failures.redemptions[0] as ListedRedemption;
    expect(await sdk.redemptions.get(listed.id)).toEqual(listed);
    expect(await refusal(sdk.redemptions.get(`r_f${'0'.repeat(12)}4${'0'.repeat(3)}8${'0'.repeat(15)}`))).toMatchObject({
      code: 404,
      key: 'not_found',
    });

    const onCode = (await sdk.redemptions.list({ voucher: 'ONCE-1' } as never)) as unknown as {
      redemptions: ListedRedemption[];
      total: number;
    };
    expect(onCode.redemptions.map((r) => r.result).sort()).toEqual(['FAILURE', 'FAILURE', 'SUCCESS']); // bob's, eve's, ada's
    expect(onCode.total).toBe(3);
    const succeeded = (await sdk.redemptions.list({ voucher: 'ONCE-1', result: 'SUCCESS' } as never)) as unknown as {
      redemptions: ListedRedemption[];
    };
    expect(succeeded.redemptions.map((r) => r.result)).toEqual(['SUCCESS']);
    const paged = (await sdk.redemptions.list({ voucher: 'ONCE-1', limit: 2, page: 2 } as never)) as unknown as {
      redemptions: ListedRedemption[];
    };
    expect(paged.redemptions).toHaveLength(1);
  });
});
