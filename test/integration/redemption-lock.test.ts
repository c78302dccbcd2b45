import { describe, expect, it } from 'vitest';
import { type RedeemContext, redeemVoucher } from '../../src/redemptions/redemptions.ts';
import { redemptionRequestSchema } from '../../src/redemptions/schemas.ts';
import { useTestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

// The one statement that locks a redemption's vouchers decides in SQL which codes are someone else's
// (heldByAnother); it must agree with the rules in every case, or it would lock a code a guess may not lock.
describe('the redemption lock statement and holder-only codes', () => {
  const p = useTestPlatform({ workers: false });

  const ctx = async (): Promise<RedeemContext> => {
    const apiKeyId = (await p.platform.db.query<{ id: string }>('select id from api_keys limit 1')).rows[0]?.id as string;
    return { actor: apiKeyId, apiKeyId, idempotencyTtlSeconds: 3600, now: new Date() };
  };
  const xmax = async (code: string) =>
    (await p.platform.db.query<{ xmax: string }>('select xmax::text from vouchers where code = $1', [code])).rows[0]?.xmax;
  const redeem = async (body: Record<string, unknown>) => redeemVoucher(p.platform.db, redemptionRequestSchema.parse(body), await ctx());

  it('refuses without a lock a holder-only code that has no holder, or another holder, with or without a customer', async () => {
    const byCampaign = await createCampaign(p, { rules: { holder_only: true } });
    const plain = await createCampaign(p);
    const nobodys = uniqueCode('NOBODY');
    const alices = uniqueCode('ALICE');
    const ownRule = uniqueCode('OWNRULE');
    await createVoucher(p, byCampaign, nobodys);
    await createVoucher(p, byCampaign, alices);
    await createVoucher(p, plain, ownRule, { rules: { holder_only: true } });
    await p.platform.db.query(`update vouchers set holder_customer_id = 'alice' where code = any($1)`, [[alices, ownRule]]);

    for (const [code, customer] of [
      [nobodys, undefined],
      [nobodys, 'bob'],
      [alices, undefined],
      [alices, 'bob'],
      [ownRule, 'bob'],
    ] as const) {
      const result = await redeem({ code, ...(customer ? { customer: { id: customer } } : {}) });
      expect(result.response).toEqual({ status: 422, body: { reason: 'not_found', detail: 'No voucher with this code.' } });
      expect(result.guess).toBe(true);
      expect(await xmax(code)).toBe('0');
    }

    // The holder redeems (a voucher's own holder_only, as the campaign's): locked and counted.
    expect((await redeem({ code: ownRule, customer: { id: 'alice' } })).response.status).toBe(201);
    expect((await redeem({ code: alices, customer: { id: 'alice' } })).response.status).toBe(201);
    // A voucher that overrides its campaign's holder_only with false is anyone's.
    const open = uniqueCode('OPEN');
    await createVoucher(p, byCampaign, open, { rules: { holder_only: false } });
    expect((await redeem({ code: open })).response.status).toBe(201);
  });
});
