import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/sql.ts';
import { type RedeemContext, redeemVoucher } from '../../src/redemptions/redemptions.ts';
import { redemptionRequestSchema } from '../../src/redemptions/schemas.ts';
import { useTestPlatform } from '../support/platform.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

interface Probe {
  xid: string | null;
  xidLocks: number;
}

/** Reads, at the end of every transaction and before its commit, whether it was given a transaction id. */
class ProbingDatabase extends Database {
  readonly probes: Probe[] = [];
  override async transaction<T>(work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    return super.transaction(async (tx) => {
      const result = await work(tx);
      const { rows } = await tx.query<Probe>(
        `select pg_current_xact_id_if_assigned()::text as xid,
                (select count(*)::int from pg_locks where pid = pg_backend_pid() and locktype = 'transactionid') as "xidLocks"`,
      );
      this.probes.push(rows[0] as Probe);
      return result;
    });
  }
}

// A held code must not be told from an unknown one by the work its refusal does: neither may lock the voucher row
// (a row lock assigns a transaction id and writes WAL at commit), so both end read-only.
describe('redemption refusals of unknown and held codes do the same database work', () => {
  const p = useTestPlatform({ workers: false });
  let db: ProbingDatabase;
  let held: string;
  let apiKeyId: string;
  beforeAll(async () => {
    db = new ProbingDatabase(p.platform.db.pool);
    const campaign = await createCampaign(p, { rules: { holder_only: true } });
    held = uniqueCode('HELD');
    await createVoucher(p, campaign, held);
    await p.platform.db.query(`update vouchers set holder_customer_id = 'alice' where code = $1`, [held]);
    apiKeyId = (await p.platform.db.query<{ id: string }>('select id from api_keys limit 1')).rows[0]?.id as string;
  });

  const ctx = (): RedeemContext => ({ actor: apiKeyId, apiKeyId, idempotencyTtlSeconds: 3600, now: new Date() });
  const xmax = async (code: string) =>
    (await p.platform.db.query<{ xmax: string }>('select xmax::text from vouchers where code = $1', [code])).rows[0]?.xmax;
  const redeemProbed = async (body: { code: string; customer?: { id: string } }) => {
    const result = await redeemVoucher(db, redemptionRequestSchema.parse(body), ctx());
    return { result, probe: db.probes.at(-1) };
  };

  it('an unknown code and a code held by another customer both end with no transaction id and no row lock', async () => {
    const unknown = await redeemProbed({ code: 'NO-SUCH-CODE-1', customer: { id: 'bob' } });
    const heldByAlice = await redeemProbed({ code: held, customer: { id: 'bob' } });
    const heldNoCustomer = await redeemProbed({ code: held });

    for (const { result, probe } of [unknown, heldByAlice, heldNoCustomer]) {
      expect(result.response).toEqual({ status: 422, body: { reason: 'not_found', detail: 'No voucher with this code.' } });
      expect(result.guess).toBe(true);
      expect(probe).toEqual({ xid: null, xidLocks: 0 });
    }
    // The held row was never locked: a lock would have left the locker's transaction id in its xmax.
    expect(await xmax(held)).toBe('0');
  });

  it('the probe sees the work of a redemption that does lock and write (the holder redeeming)', async () => {
    const { result, probe } = await redeemProbed({ code: held, customer: { id: 'alice' } });
    expect(result.response.status).toBe(201);
    expect(probe?.xid).not.toBeNull();
    expect(probe?.xidLocks).toBe(1);
    expect(await xmax(held)).not.toBe('0');
  });
});
