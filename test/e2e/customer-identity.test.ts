import { describe, expect, it } from 'vitest';
import { emailKey } from '../../src/customers/identity.ts';
import { useTestPlatform } from '../support/platform.ts';
import { createCampaign, seedCodes, uniqueCode } from '../support/vouchers.ts';

describe('e-mail keys', () => {
  it('trims and lower-cases; strips +tag and dots only for the listed domains', () => {
    expect(emailKey('  Ann@Example.com ')).toBe('ann@example.com');
    expect(emailKey('ann+x@example.com')).toBe('ann+x@example.com');
    expect(emailKey('A.nn+x@Gmail.com')).toBe('ann@gmail.com');
    expect(emailKey('ann@googlemail.com')).toBe('ann@googlemail.com');
    expect(emailKey('ann+y@corp.example', ['corp.example'])).toBe('ann@corp.example');
    expect(emailKey(undefined)).toBeNull();
  });
});

describe('customers who are the same person', () => {
  const p = useTestPlatform({ workers: false, env: { DATABASE_POOL_SIZE: '20' } });

  const seed = (campaignId: string, n: number) => seedCodes(p, campaignId, n, uniqueCode('I'));
  const redeem = (code: string | undefined, customer: { id: string; email?: string }) =>
    p.call('/v1/redemptions', { method: 'POST', json: { code, customer } });
  const campaignFor = (identity: string) =>
    createCampaign(p, { customer_identity: identity, rules: { redemption: { per_customer_campaign_limit: 1 } } });

  it('id_or_email: a guest or a second account with the same (normalized) e-mail is refused; so is the same id', async () => {
    const campaign = await campaignFor('id_or_email');
    expect((await p.call(`/v1/campaigns/${campaign}`)).body.customer_identity).toBe('id_or_email');
    const codes = await seed(campaign, 6);
    expect((await redeem(codes[0], { id: 'A', email: 'ann@example.com' })).status).toBe(201);
    expect((await redeem(codes[1], { id: 'guest-1', email: 'Ann@Example.com' })).body.code).toBe('customer_limit_exceeded');
    expect((await redeem(codes[2], { id: 'B', email: 'ann+x@gmail.com' })).status).toBe(201);
    expect((await redeem(codes[3], { id: 'C', email: 'ann@gmail.com' })).body.code).toBe('customer_limit_exceeded');
    expect((await redeem(codes[4], { id: 'A', email: 'someone@else.example' })).body.code).toBe('customer_limit_exceeded');
    const validation = await p.call('/v1/validations', {
      method: 'POST',
      json: { code: codes[5], customer: { id: 'D', email: 'A.NN@gmail.com' } },
    });
    expect(validation.body).toMatchObject({ valid: false, reason: 'customer_limit_exceeded' });
  });

  it('id (the default) counts ids only; email counts e-mails only', async () => {
    const byId = await campaignFor('id');
    const idCodes = await seed(byId, 2);
    expect((await redeem(idCodes[0], { id: 'A', email: 'ann@example.com' })).status).toBe(201);
    expect((await redeem(idCodes[1], { id: 'guest-2', email: 'ann@example.com' })).status).toBe(201);
    const byEmail = await campaignFor('email');
    const emailCodes = await seed(byEmail, 3);
    expect((await redeem(emailCodes[0], { id: 'A', email: 'ann@example.com' })).status).toBe(201);
    expect((await redeem(emailCodes[1], { id: 'A', email: 'bob@example.com' })).status).toBe(201);
    expect((await redeem(emailCodes[2], { id: 'Z', email: 'BOB@Example.com' })).body.code).toBe('customer_limit_exceeded');
  });

  it('100 parallel redemptions by one person under many ids and e-mail spellings: exactly one succeeds', async () => {
    const campaign = await campaignFor('id_or_email');
    const codes = await seed(campaign, 200);
    const spellings = await Promise.all(
      codes.slice(0, 100).map((code, i) => redeem(code, { id: `acct-${i}`, email: `${i % 2 ? 'A.nn' : 'ann'}+${i}@gmail.com` })),
    );
    expect(spellings.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of spellings.filter((r) => r.status !== 201)) expect(r.body.code).toBe('customer_limit_exceeded');
    const oneId = await Promise.all(codes.slice(100).map((code, i) => redeem(code, { id: 'same-id', email: `other${i}@example.com` })));
    expect(oneId.filter((r) => r.status === 201)).toHaveLength(1);
  });
});
