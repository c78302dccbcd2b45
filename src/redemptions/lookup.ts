import type { Budget } from '../campaigns/budgets.ts';
import type { CustomerIdentity } from '../customers/identity.ts';
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
  /** The campaign's budget as set (null: none, and nothing to charge). */
  campaign_budget?: Budget | null;
  /** Uses held by open reservations (counted in redemption_count too). */
  held_count?: number;
  /** What the campaign's per-customer limits count (src/customers/identity.ts). */
  customer_identity?: CustomerIdentity;
  /** The row versions (xmin) of the campaign and the voucher: together they name exactly these rules (see rulesKey). */
  campaign_version?: string;
  voucher_version?: string;
}

const CANDIDATE_COLUMNS = `v.id, v.code, v.campaign_id, v.generation_id, v.import_id, v.status, v.active, v.redemption_count, v.start_date,
  v.expiration_date, v.rules, v.metadata, v.holder_customer_id, v.created_at, v.updated_at,
  c.active as campaign_active, c.status as campaign_status, c.start_date as campaign_start_date,
  c.expiration_date as campaign_expiration_date, c.timezone, c.rules as campaign_rules,
  c.xmin::text as campaign_version, v.xmin::text as voucher_version, v.held_count, c.budget as campaign_budget,
  c.customer_identity`;

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

/**
 * A customer's uses of a code (`voucher_id`) or across its campaign (`campaign_id`): succeeded redemptions plus uses
 * held by open reservations, counted by the campaign's customer_identity: by customer id, by normalized e-mail
 * (falling back to the id without one), or the larger of both (`id_or_email`: a limit holds once either reaches it).
 * A CASE evaluates only the branch it takes, so a campaign counting by id reads no e-mail index.
 */
export function customerUsesSql(scope: 'voucher_id' | 'campaign_id', target: string, id: string, email: string, identity: string): string {
  const count = (key: 'customer_id' | 'customer_email_key', value: string) =>
    `((select count(*)::int from redemptions r where r.${scope} = ${target} and r.${key} = ${value} and r.status = 'succeeded')
      + (select count(*)::int from reservation_uses u where u.${scope} = ${target} and u.${key} = ${value} and u.status = 'held'))`;
  return `case when ${identity} = 'id' or ${email} is null then ${count('customer_id', id)}
    when ${identity} = 'email' then ${count('customer_email_key', email)}
    else greatest(${count('customer_id', id)}, ${count('customer_email_key', email)}) end`;
}

const CUSTOMER_COUNTS = `case when q.customer_id is null then 0 else
    ${customerUsesSql('voucher_id', 'v.id', 'q.customer_id', 'q.email_key', 'c.customer_identity')} end as customer_code_count,
  case when q.customer_id is null then 0 else
    ${customerUsesSql('campaign_id', 'v.campaign_id', 'q.customer_id', 'q.email_key', 'c.customer_identity')} end as customer_campaign_count,
  case when q.customer_id is not null and (c.rules ? 'conditions' or v.rules ? 'conditions')
    then (select cu.metadata from customers cu where cu.id = q.customer_id) end as customer_metadata,
  (select sc.version::text from segment_catalogue sc) as segments_version`;

/** Who holds a code, read only for a code with held uses (src/reservations/holds.ts). */
const HOLDS = `case when v.held_count > 0 then (select jsonb_agg(jsonb_build_object('reservation_id', u.reservation_id,
    'customer_id', u.customer_id)) from reservation_uses u where u.voucher_id = v.id and u.status = 'held') end as holds`;

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
    text: `select q.i::int as lookup_index, ${CANDIDATE_COLUMNS}, ${CUSTOMER_COUNTS}, ${HOLDS}
      from unnest($1::text[], $2::text[], $3::text[]) with ordinality as q(code, customer_id, email_key, i)
      join vouchers v on v.code = q.code
      join campaigns c on c.id = v.campaign_id`,
  };
  readonly #lookup: (item: { code: string; customerId: string | null; emailKey: string | null }) => Promise<CandidateWithCounts | null>;

  constructor(db: Database) {
    this.#lookup = tickBatcher(
      async (items) => {
        const { rows } = await db.read<CandidateWithCounts & { lookup_index: number }>(CandidateLookup.STATEMENT, [
          items.map((l) => l.code),
          items.map((l) => l.customerId),
          items.map((l) => l.emailKey),
        ]);
        const found = new Map<number, CandidateWithCounts>();
        for (const { lookup_index, ...candidate } of rows) found.set(lookup_index, candidate);
        return items.map((_, i) => found.get(i + 1) ?? null);
      },
      { isolateFailures: true },
    );
  }

  /** The voucher with this (normalized) code and its campaign, or null. */
  find(code: string, customerId: string | undefined, emailKey: string | null = null): Promise<CandidateWithCounts | null> {
    return this.#lookup({ code, customerId: customerId ?? null, emailKey: customerId ? emailKey : null });
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
 * Whether a code is someone else's (heldByAnother in src/rules/decide.ts, in SQL over `v` and `c`, with the customer
 * as $2): the effective `holder_only` (the voucher's own when it sets one) and a holder who is not this customer.
 */
const heldByAnotherSql = (
  customer: string,
) => `coalesce((case when v.rules ? 'holder_only' then v.rules -> 'holder_only' else c.rules -> 'holder_only' end) = 'true'::jsonb
    and (v.holder_customer_id is null or v.holder_customer_id is distinct from ${customer}), false)`;
const HELD_BY_ANOTHER = heldByAnotherSql('$2::text');

const usesOf = (scope: 'voucher_id' | 'campaign_id', target: string, customer: string, email: string) =>
  `case when ${customer} is null then 0 else ${customerUsesSql(scope, target, customer, email, 'l.customer_identity')} end`;
const uses = (scope: 'voucher_id' | 'campaign_id', target: string) => usesOf(scope, target, '$2::text', '$3::text');

/** lockForRedemption's statement: named, so each pooled connection parses and plans it once. */
const LOCK_FOR_REDEMPTION = {
  name: 'promo.redemption.lock',
  text: `with locked as (
       select ${CANDIDATE_COLUMNS}, (select s.xmin::text from vouchers s where s.id = v.id) as seen_version
       from vouchers v join campaigns c on c.id = v.campaign_id
       where v.code = any($1::text[]) and not ${HELD_BY_ANOTHER}
       order by v.id for update of v
     )
     select l.*, true as locked, ${uses('voucher_id', 'l.id')} as code_uses, ${uses('campaign_id', 'l.campaign_id')} as campaign_uses
     from locked l
     union all
     select ${CANDIDATE_COLUMNS}, null::text, false, 0, 0 from vouchers v join campaigns c on c.id = v.campaign_id
     where v.code = any($1::text[]) and v.id not in (select id from locked)`,
};

/** A code's voucher as a redemption found it: locked or not (someone else's), with the customer's uses of it. */
export interface LockedCandidate {
  candidate: Candidate;
  locked: boolean;
  /** The customer's uses of the code and across its campaign, as the statement's snapshot saw them. */
  counts: { code: number; campaign: number };
  /** False when the lock waited for a change to the row: the counts predate it and must be read again. */
  fresh: boolean;
}

/**
 * The vouchers of these codes in one statement: the ones that are no one else's locked for the rest of the
 * transaction in one canonical order (by voucher id, whatever the order of the request), so every redemption of one
 * code serializes here and two redemptions of overlapping codes never wait for each other in a cycle; someone
 * else's read without a lock (refusing a held code does exactly the work of refusing an unknown one); and the
 * customer's uses of each locked code counted in the same statement. Those counts are exact unless the lock waited
 * for a transaction that changed the row (every use and give-back of a code updates its row): then the locked
 * row's version differs from the one the snapshot saw, and `fresh` is false.
 */
export async function lockForRedemption(
  tx: Queryable,
  codes: readonly string[],
  customerId: string | null,
  emailKey: string | null,
): Promise<Map<string, LockedCandidate>> {
  const { rows } = await tx.query<Candidate & { seen_version: string | null; locked: boolean; code_uses: number; campaign_uses: number }>({
    ...LOCK_FOR_REDEMPTION,
    values: [codes, customerId, customerId ? emailKey : null],
  });
  return new Map(
    rows.map(({ seen_version, locked, code_uses, campaign_uses, ...candidate }) => [
      candidate.code,
      { candidate, locked, counts: { code: code_uses, campaign: campaign_uses }, fresh: seen_version === candidate.voucher_version },
    ]),
  );
}

/**
 * lockForRedemption for a batch of single-code redemptions (src/redemptions/redemption-batch.ts), distinct codes
 * each with its own customer: one statement locks every voucher that is no one else's in voucher id order and
 * counts each one's customer's uses, as lockForRedemption does for one request. A voucher another transaction has
 * locked is skipped (returned unlocked), so a batch never waits behind one busy code: that request runs alone.
 * Named: planned once per connection.
 */
const LOCK_BATCH_FOR_REDEMPTION = {
  name: 'promo.redemption.lock.batch',
  text: `with q as (
       select * from unnest($1::text[], $2::text[], $3::text[]) with ordinality as q(code, customer_id, email_key, i)
     ),
     locked as materialized (
       select q.i, q.customer_id as q_customer_id, q.email_key as q_email_key, ${CANDIDATE_COLUMNS},
         (select s.xmin::text from vouchers s where s.id = v.id) as seen_version
       from q join vouchers v on v.code = q.code join campaigns c on c.id = v.campaign_id
       where not ${heldByAnotherSql('q.customer_id')}
       order by v.id for update of v skip locked
     )
     select l.*, true as locked,
       ${usesOf('voucher_id', 'l.id', 'l.q_customer_id', 'l.q_email_key')} as code_uses,
       ${usesOf('campaign_id', 'l.campaign_id', 'l.q_customer_id', 'l.q_email_key')} as campaign_uses
     from locked l
     union all
     select q.i, q.customer_id, q.email_key, ${CANDIDATE_COLUMNS}, null::text, false, 0, 0
     from q join vouchers v on v.code = q.code join campaigns c on c.id = v.campaign_id
     where q.i not in (select i from locked)`,
};

/**
 * lockForRedemption for a batch: `items[i]`'s code found at index i (locked; or not: someone else's, or locked by
 * another transaction), or undefined.
 */
export async function lockBatchForRedemption(
  tx: Queryable,
  items: readonly { code: string; customerId: string | null; emailKey: string | null }[],
): Promise<(LockedCandidate | undefined)[]> {
  const { rows } = await tx.query<
    Candidate & {
      i: string;
      q_customer_id: unknown;
      q_email_key: unknown;
      seen_version: string | null;
      locked: boolean;
      code_uses: number;
      campaign_uses: number;
    }
  >({
    ...LOCK_BATCH_FOR_REDEMPTION,
    values: [items.map((i) => i.code), items.map((i) => i.customerId), items.map((i) => (i.customerId ? i.emailKey : null))],
  });
  const found: (LockedCandidate | undefined)[] = items.map(() => undefined);
  for (const { i, q_customer_id: _, q_email_key: __, seen_version, locked, code_uses, campaign_uses, ...candidate } of rows) {
    found[Number(i) - 1] = {
      candidate,
      locked,
      counts: { code: code_uses, campaign: campaign_uses },
      fresh: seen_version === candidate.voucher_version,
    };
  }
  return found;
}

/**
 * A customer's succeeded redemptions (and held uses) of one code and across its campaign. Read after the voucher lock (and the
 * campaign-customer lock when a campaign limit applies), so in READ COMMITTED it sees every redemption that
 * committed before this one could start deciding.
 */
export async function customerCounts(
  tx: Queryable,
  voucherId: string,
  campaignId: string,
  customerId: string,
  emailKey: string | null = null,
  identity: CustomerIdentity = 'id',
): Promise<{ code: number; campaign: number }> {
  const { rows } = await tx.query<{ code: number; campaign: number }>(
    `select ${customerUsesSql('voucher_id', '$1::bigint', '$3::text', '$4::text', '$5::text')} as code,
            ${customerUsesSql('campaign_id', '$2::uuid', '$3::text', '$4::text', '$5::text')} as campaign`,
    [voucherId, campaignId, customerId, emailKey, identity],
  );
  return rows[0] as { code: number; campaign: number };
}

/**
 * Serializes one customer's redemptions across a campaign (different codes lock different voucher rows), so a
 * per_customer_campaign_limit holds under concurrency. A transaction-scoped advisory lock: released at commit.
 */
export async function lockCustomerInCampaign(
  tx: Queryable,
  campaignId: string,
  customerId: string,
  emailKey: string | null = null,
): Promise<void> {
  await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`redeem:${campaignId}:${customerId}`]);
  // Counted by e-mail too: the same person under another id waits here. Every id lock of a campaign is taken before
  // its e-mail lock, and one of each per transaction, so no two redemptions wait for each other in a cycle.
  if (emailKey) await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`redeem:${campaignId}:email:${emailKey}`]);
}
