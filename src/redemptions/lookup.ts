import type { Queryable } from '../db/sql.ts';
import type { Candidate } from './rules.ts';

const CANDIDATE_COLUMNS = `v.id, v.code, v.campaign_id, v.generation_id, v.status, v.active, v.redemption_count, v.start_date,
  v.expiration_date, v.rules, v.metadata, v.holder_customer_id, v.created_at, v.updated_at,
  c.active as campaign_active, c.status as campaign_status, c.start_date as campaign_start_date,
  c.expiration_date as campaign_expiration_date, c.timezone, c.rules as campaign_rules`;

export interface CandidateWithCounts extends Candidate {
  customer_code_count: number;
  customer_campaign_count: number;
}

/**
 * The validation hot path: one statement over the unique code index, with the customer's succeeded redemptions
 * of this code and across the campaign counted through partial indexes (skipped without a customer).
 */
export async function findCandidate(db: Queryable, code: string, customerId: string | undefined): Promise<CandidateWithCounts | null> {
  const { rows } = await db.query<CandidateWithCounts>(
    `select ${CANDIDATE_COLUMNS},
       case when $2::text is null then 0 else (select count(*)::int from redemptions r
         where r.voucher_id = v.id and r.customer_id = $2 and r.status = 'succeeded') end as customer_code_count,
       case when $2::text is null then 0 else (select count(*)::int from redemptions r
         where r.campaign_id = v.campaign_id and r.customer_id = $2 and r.status = 'succeeded') end as customer_campaign_count
     from vouchers v join campaigns c on c.id = v.campaign_id
     where v.code = $1`,
    [code, customerId ?? null],
  );
  return rows[0] ?? null;
}

/** The voucher row locked for the rest of the transaction: every redemption of one code serializes here. */
export async function lockCandidate(tx: Queryable, code: string): Promise<Candidate | null> {
  const { rows } = await tx.query<Candidate>(
    `select ${CANDIDATE_COLUMNS} from vouchers v join campaigns c on c.id = v.campaign_id where v.code = $1 for update of v`,
    [code],
  );
  return rows[0] ?? null;
}

/**
 * A customer's succeeded redemptions of one code and across its campaign. Read after the voucher lock (and the
 * campaign-customer lock when a campaign limit applies), so in READ COMMITTED it sees every redemption that
 * committed before this one could start deciding.
 */
export async function customerCounts(
  tx: Queryable,
  voucherId: string,
  campaignId: string,
  customerId: string,
): Promise<{ code: number; campaign: number }> {
  const { rows } = await tx.query<{ code: number; campaign: number }>(
    `select (select count(*)::int from redemptions where voucher_id = $1 and customer_id = $3 and status = 'succeeded') as code,
            (select count(*)::int from redemptions where campaign_id = $2 and customer_id = $3 and status = 'succeeded') as campaign`,
    [voucherId, campaignId, customerId],
  );
  return rows[0] as { code: number; campaign: number };
}

/**
 * Serializes one customer's redemptions across a campaign (different codes lock different voucher rows), so a
 * per_customer_campaign_limit holds under concurrency. A transaction-scoped advisory lock: released at commit.
 */
export async function lockCustomerInCampaign(tx: Queryable, campaignId: string, customerId: string): Promise<void> {
  await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`redeem:${campaignId}:${customerId}`]);
}
