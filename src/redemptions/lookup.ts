import type { Database, Queryable } from '../db/sql.ts';
import type { DecisionSubject, Rules } from '../rules/index.ts';
import { tickBatcher } from '../shared/tick-batch.ts';
import type { VoucherRow } from '../vouchers/vouchers.ts';

/** A voucher joined with its campaign: everything a decision reads, from one indexed lookup. */
export interface Candidate extends Omit<VoucherRow, 'rules' | 'holder_customer_id'>, DecisionSubject {
  rules: Rules | null;
  holder_customer_id: string | null;
  campaign_start_date: Date | string | null;
  campaign_expiration_date: Date | string | null;
  campaign_rules: Rules | null;
  /** The row versions (xmin) of the campaign and the voucher: together they name exactly these rules (see rulesKey). */
  campaign_version?: string;
  voucher_version?: string;
}

const CANDIDATE_COLUMNS = `v.id, v.code, v.campaign_id, v.generation_id, v.import_id, v.status, v.active, v.redemption_count, v.start_date,
  v.expiration_date, v.rules, v.metadata, v.holder_customer_id, v.created_at, v.updated_at,
  c.active as campaign_active, c.status as campaign_status, c.start_date as campaign_start_date,
  c.expiration_date as campaign_expiration_date, c.timezone, c.rules as campaign_rules,
  c.xmin::text as campaign_version, v.xmin::text as voucher_version`;

/**
 * A key that stands for exactly the candidate's effective rules, so they are compiled once and found again without
 * serializing them (undefined for a candidate not read from the database): the campaign's row version, and the voucher's when it has rules of its own (a voucher row
 * changes on every redemption, so bulk codes, which have none, share their campaign's key).
 */
export function rulesKey(c: Candidate): string | undefined {
  if (c.campaign_version === undefined || c.voucher_version === undefined) return undefined;
  const own = c.rules !== null && Object.keys(c.rules).length > 0;
  return own ? `${c.campaign_id}@${c.campaign_version}/${c.id}@${c.voucher_version}` : `${c.campaign_id}@${c.campaign_version}`;
}

export interface CandidateWithCounts extends Candidate {
  customer_code_count: number;
  customer_campaign_count: number;
  /** The stored customer's metadata (null when the customer is not stored, none was given, or no conditions read it). */
  customer_metadata: Record<string, unknown> | null;
  /** The segment catalogue's version as this statement saw it (see SegmentCache). */
  segments_version: string;
}

const CUSTOMER_COUNTS = `case when q.customer_id is null then 0 else (select count(*)::int from redemptions r
    where r.voucher_id = v.id and r.customer_id = q.customer_id and r.status = 'succeeded') end as customer_code_count,
  case when q.customer_id is null then 0 else (select count(*)::int from redemptions r
    where r.campaign_id = v.campaign_id and r.customer_id = q.customer_id and r.status = 'succeeded') end as customer_campaign_count,
  case when q.customer_id is not null and (c.rules ? 'conditions' or v.rules ? 'conditions')
    then (select cu.metadata from customers cu where cu.id = q.customer_id) end as customer_metadata,
  (select sc.version::text from segment_catalogue sc) as segments_version`;

/**
 * The validation hot path. Every lookup asked for in one turn of the event loop goes to PostgreSQL as one
 * prepared statement over the unique code index (`unnest` of the codes and customers, in order): under load,
 * dozens of concurrent validations cost one round trip and one backend wake-up instead of one each. The
 * customer's succeeded redemptions of the code and across its campaign are counted through partial indexes, and the
 * stored customer's metadata read by its key (skipped without a customer, or when neither the campaign nor the
 * voucher has conditions, which alone read it), with the segment catalogue's version,
 * so conditions over stored customers and segments cost no second round trip. A batch whose connection is lost is read again once; a batch PostgreSQL refuses
 * (one code it cannot take) is answered lookup by lookup, so the one bad lookup fails alone.
 */
export class CandidateLookup {
  static readonly STATEMENT = {
    name: 'promo.validation.candidates',
    text: `select q.i::int as lookup_index, ${CANDIDATE_COLUMNS}, ${CUSTOMER_COUNTS}
      from unnest($1::text[], $2::text[]) with ordinality as q(code, customer_id, i)
      join vouchers v on v.code = q.code
      join campaigns c on c.id = v.campaign_id`,
  };
  readonly #lookup: (item: { code: string; customerId: string | null }) => Promise<CandidateWithCounts | null>;

  constructor(db: Database) {
    this.#lookup = tickBatcher(
      async (items) => {
        const { rows } = await db.read<CandidateWithCounts & { lookup_index: number }>(CandidateLookup.STATEMENT, [
          items.map((l) => l.code),
          items.map((l) => l.customerId),
        ]);
        const found = new Map<number, CandidateWithCounts>();
        for (const { lookup_index, ...candidate } of rows) found.set(lookup_index, candidate);
        return items.map((_, i) => found.get(i + 1) ?? null);
      },
      { isolateFailures: true },
    );
  }

  /** The voucher with this (normalized) code and its campaign, or null. */
  find(code: string, customerId: string | undefined): Promise<CandidateWithCounts | null> {
    return this.#lookup({ code, customerId: customerId ?? null });
  }
}

/**
 * The vouchers of these (normalized) codes and their campaigns as they stand, without a lock: a redemption decides
 * from this whether a code is someone else's before it locks anything, so refusing a held code does exactly the
 * work of refusing an unknown one.
 */
export async function readCandidates(tx: Queryable, codes: readonly string[]): Promise<Map<string, Candidate>> {
  const { rows } = await tx.query<Candidate>(
    `select ${CANDIDATE_COLUMNS} from vouchers v join campaigns c on c.id = v.campaign_id where v.code = any($1::text[])`,
    [codes],
  );
  return new Map(rows.map((row) => [row.code, row]));
}

/**
 * The voucher rows of these codes locked for the rest of the transaction, in one canonical order (by voucher id,
 * whatever the order of the request): every redemption of one code serializes here, and two redemptions of
 * overlapping codes never wait for each other in a cycle.
 */
export async function lockCandidates(tx: Queryable, codes: readonly string[]): Promise<Map<string, Candidate>> {
  if (codes.length === 0) return new Map();
  const { rows } = await tx.query<Candidate>(
    `select ${CANDIDATE_COLUMNS} from vouchers v join campaigns c on c.id = v.campaign_id
     where v.code = any($1::text[]) order by v.id for update of v`,
    [codes],
  );
  return new Map(rows.map((row) => [row.code, row]));
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
