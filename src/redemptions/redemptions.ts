import { createHash } from 'node:crypto';
import { normalizeCode } from '../codes/index.ts';
import type { Database, Queryable } from '../db/sql.ts';
import { emitEvent } from '../events/outbox.ts';
import { type AppliedDiscount, type Decision, decide, effectiveRules, heldByAnother, type RefusalReason } from '../rules/index.ts';
import { DomainError, NotFoundError } from '../shared/errors.ts';
import type { Actor } from '../shared/events.ts';
import { isoTime } from '../shared/fields.ts';
import { redemptions as redemptionsMetric, validations as validationsMetric } from '../shared/metrics.ts';
import { pageOf } from '../shared/paging.ts';
import { isUuid } from '../shared/uuid.ts';
import type { ValidationView } from '../vouchers/schemas.ts';
import { recordVoucherEvent } from '../vouchers/voucher-events.ts';
import { voucherView } from '../vouchers/vouchers.ts';
import { claimIdempotencyKey } from './idempotency-keys.ts';
import { type Candidate, type CandidateLookup, customerCounts, lockCandidate, lockCustomerInCampaign, readCandidate } from './lookup.ts';
import type { RedemptionRequest, RedemptionView, ValidationRequest } from './schemas.ts';

export const REASON_DETAILS: Record<RefusalReason, string> = {
  not_found: 'No voucher with this code.',
  not_active_yet: 'The voucher is not active yet.',
  expired: 'The voucher has expired.',
  disabled: 'The voucher is disabled.',
  campaign_inactive: "The voucher's campaign is not active.",
  outside_validity_window: 'The voucher cannot be used at this day or time.',
  quantity_exceeded: 'The voucher has been redeemed as many times as it allows.',
  customer_limit_exceeded: 'This customer has redeemed as many times as the voucher or campaign allows.',
  order_amount_too_low: 'The order amount is below the minimum this voucher needs.',
  customer_required: 'This voucher has a per-customer limit; the request must name the customer.',
};

/** The result of a lookup; `guess` marks a failed lookup the guessing defence counts. */
export type ValidationOutcome = Decision<Candidate>;

/** Validation changes nothing: one indexed statement, then the rules in memory. */
export async function validateCode(candidates: CandidateLookup, input: ValidationRequest, now: Date): Promise<ValidationOutcome> {
  const code = normalizeCode(input.code);
  const candidate = await candidates.find(code, input.customer?.id);
  const outcome = decide(candidate, code, input, now, {
    code: candidate?.customer_code_count ?? 0,
    campaign: candidate?.customer_campaign_count ?? 0,
  });
  validationsMetric.inc({ result: outcome.valid ? 'valid' : 'invalid', reason: outcome.valid ? 'none' : outcome.reason });
  return outcome;
}

export function validationView(outcome: ValidationOutcome): ValidationView {
  if (!outcome.valid) return { valid: false, code: outcome.code, reason: outcome.reason };
  const rules = effectiveRules(outcome.candidate);
  const limit = rules.perCodeLimit;
  return {
    valid: true,
    code: outcome.code,
    discount: outcome.discount,
    voucher: {
      ...voucherView(outcome.candidate),
      redemption: {
        per_code_limit: limit,
        redeemed: outcome.candidate.redemption_count,
        remaining: limit === null ? null : Math.max(0, limit - outcome.candidate.redemption_count),
      },
    },
  };
}

export interface RedemptionRow {
  id: string;
  seq: string;
  voucher_id: string;
  campaign_id: string;
  code: string;
  customer_id: string | null;
  customer_email: string | null;
  status: 'succeeded' | 'rolled_back';
  order_amount: string | null;
  order_currency: string | null;
  discount: AppliedDiscount | null;
  discount_amount: string | null;
  currency: string | null;
  metadata: Record<string, unknown>;
  api_key_id: string | null;
  created_at: Date | string;
  rolled_back_at: Date | string | null;
  rollback_reason: string | null;
}

export function redemptionView(r: RedemptionRow): RedemptionView {
  return {
    id: r.id,
    status: r.status,
    code: r.code,
    campaign_id: r.campaign_id,
    customer: r.customer_id ? { id: r.customer_id, ...(r.customer_email ? { email: r.customer_email } : {}) } : null,
    order: r.order_amount !== null ? { amount: Number(r.order_amount), currency: r.order_currency } : null,
    discount: r.discount,
    discount_amount: r.discount_amount === null ? null : Number(r.discount_amount),
    currency: r.currency,
    metadata: r.metadata,
    created_at: isoTime(r.created_at),
    rolled_back_at: isoTime(r.rolled_back_at),
    rollback_reason: r.rollback_reason,
  };
}

/** What a redemption answered; stored with its idempotency key and replayed verbatim. */
export type RedemptionResponse = { status: 201; body: RedemptionView } | { status: 422; body: { reason: RefusalReason; detail: string } };

export interface RedeemResult {
  response: RedemptionResponse;
  replayed: boolean;
  /** For the guessing defence: whether this attempt was a failed lookup, and of which campaign if known. */
  guess: boolean;
  campaignId: string | null;
}

export interface RedeemContext {
  actor: Actor;
  apiKeyId: string;
  idempotencyKey?: string;
  /** How long a key is remembered; an older one counts as new. */
  idempotencyTtlSeconds: number;
  now: Date;
}

/** Same key + same body replays; the hash covers the parsed body, so formatting and key order do not matter. */
function requestHash(input: RedemptionRequest): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(input)))
    .digest('hex');
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * Redeems a code in one transaction: claim the idempotency key, read the voucher (an unknown code, or one held by
 * another customer, is refused here, with no lock taken), lock its row (every redemption of one code serializes there), lock the customer within the campaign when a campaign-wide limit applies, count, decide,
 * then write the use, the redemption, the lifecycle entry and the outbox event. A refusal commits only its
 * idempotency record and its `voucher.redemption.failed` event.
 */
export async function redeemVoucher(db: Database, input: RedemptionRequest, ctx: RedeemContext): Promise<RedeemResult> {
  const code = normalizeCode(input.code);
  const result = await db.transaction(async (tx): Promise<RedeemResult> => {
    if (ctx.idempotencyKey) {
      const hash = requestHash({ ...input, code });
      const claimed = await claimIdempotencyKey(tx, {
        apiKeyId: ctx.apiKeyId,
        key: ctx.idempotencyKey,
        requestHash: hash,
        now: ctx.now,
        ttlSeconds: ctx.idempotencyTtlSeconds,
      });
      if (!claimed) {
        // Another request with this key committed first (the insert waited for it): replay, or refuse a different body.
        const { rows } = await tx.query<{ request_hash: string; response_status: number; response_body: RedemptionResponse['body'] }>(
          'select request_hash, response_status, response_body from redemption_idempotency_keys where api_key_id = $1 and key = $2',
          [ctx.apiKeyId, ctx.idempotencyKey],
        );
        const stored = rows[0];
        if (!stored || stored.request_hash !== hash) {
          throw new DomainError('unprocessable', 'idempotency_key_reused', 'This Idempotency-Key was used with a different request body.');
        }
        const response = { status: stored.response_status, body: stored.response_body } as RedemptionResponse;
        return { response, replayed: true, guess: false, campaignId: null };
      }
    }
    const outcome = await attempt(tx, code, input, ctx);
    if (ctx.idempotencyKey) {
      await tx.query('update redemption_idempotency_keys set response_status = $3, response_body = $4 where api_key_id = $1 and key = $2', [
        ctx.apiKeyId,
        ctx.idempotencyKey,
        outcome.response.status,
        outcome.response.body,
      ]);
    }
    return outcome;
  });
  if (!result.replayed) {
    const r = result.response;
    redemptionsMetric.inc(r.status === 201 ? { result: 'succeeded', reason: 'none' } : { result: 'refused', reason: r.body.reason });
  }
  return result;
}

async function attempt(tx: Queryable, code: string, input: RedemptionRequest, ctx: RedeemContext): Promise<RedeemResult> {
  const customerId = input.customer?.id;
  // Unknown and held-by-another are decided before any lock: a row lock assigns a transaction id and writes WAL at
  // commit, which would make a held code measurably slower to refuse than an unknown one.
  const seen = await readCandidate(tx, code);
  const isGuess = !seen || heldByAnother(seen, effectiveRules(seen), customerId);
  const candidate = isGuess ? seen : await lockCandidate(tx, code);
  let counts = { code: 0, campaign: 0 };
  if (candidate && customerId) {
    const rules = effectiveRules(candidate);
    if (rules.perCustomerCampaignLimit !== null) await lockCustomerInCampaign(tx, candidate.campaign_id, customerId);
    if (rules.perCustomerLimit !== null || rules.perCustomerCampaignLimit !== null) {
      counts = await customerCounts(tx, candidate.id, candidate.campaign_id, customerId);
    }
  }
  const outcome = decide(candidate, code, input, ctx.now, counts);
  if (!outcome.valid) {
    const refused: RedeemResult = {
      response: { status: 422, body: { reason: outcome.reason, detail: REASON_DETAILS[outcome.reason] } },
      replayed: false,
      guess: outcome.guess,
      campaignId: outcome.candidate?.campaign_id ?? null,
    };
    // A refusal of a real code is news for the merchant; a guess (unknown or someone else's code) is not.
    if (outcome.candidate && !outcome.guess) {
      await emitEvent(tx, 'voucher.redemption.failed', {
        code,
        campaign_id: outcome.candidate.campaign_id,
        reason: outcome.reason,
        customer_id: customerId ?? null,
        order: input.order ?? null,
        metadata: input.metadata,
        attempted_at: ctx.now.toISOString(),
      });
    }
    return refused;
  }

  const voucher = outcome.candidate;
  const limit = effectiveRules(voucher).perCodeLimit;
  // The row is locked, so this cannot miss; the condition keeps the count exact even if a caller skipped the lock.
  const used = await tx.query(
    'update vouchers set redemption_count = redemption_count + 1, updated_at = $2 where id = $1 and ($3::int is null or redemption_count < $3)',
    [voucher.id, ctx.now, limit],
  );
  if (used.rowCount !== 1) throw new Error('voucher use could not be recorded under its lock');
  const discount = outcome.discount;
  const currency = input.order?.currency ?? discount?.currency ?? null;
  const { rows } = await tx.query<RedemptionRow>(
    `insert into redemptions (voucher_id, campaign_id, code, customer_id, customer_email, status, order_amount, order_currency,
       discount, discount_amount, currency, metadata, api_key_id, idempotency_key, created_at)
     values ($1, $2, $3, $4, $5, 'succeeded', $6, $7, $8, $9, $10, $11, $12, $13, $14) returning *`,
    [
      voucher.id,
      voucher.campaign_id,
      voucher.code,
      customerId ?? null,
      input.customer?.email ?? null,
      input.order?.amount ?? null,
      input.order?.currency ?? null,
      discount,
      discount?.amount ?? null,
      currency,
      input.metadata,
      ctx.apiKeyId,
      ctx.idempotencyKey ?? null,
      ctx.now,
    ],
  );
  const redemption = rows[0] as RedemptionRow;
  const view = redemptionView(redemption);
  await recordVoucherEvent(tx, voucher.id, 'redeemed', ctx.actor, {
    redemption_id: redemption.id,
    customer_id: customerId ?? null,
    discount_amount: view.discount_amount,
    currency,
    redemption_count: voucher.redemption_count + 1,
  });
  await emitEvent(tx, 'voucher.redemption.succeeded', { ...view, voucher_id: voucher.id });
  return { response: { status: 201, body: view }, replayed: false, guess: false, campaignId: voucher.campaign_id };
}

/**
 * Gives a redemption's use back, once: the conditional UPDATE lets exactly one of any number of concurrent
 * rollbacks through; the rest find it rolled back (409 already_rolled_back).
 */
export async function rollbackRedemption(
  db: Database,
  id: string,
  reason: string | undefined,
  actor: Actor,
  now: Date,
): Promise<RedemptionView> {
  if (!isUuid(id)) throw new NotFoundError('redemption', id);
  const view = await db.transaction(async (tx) => {
    const { rows } = await tx.query<RedemptionRow>(
      `update redemptions set status = 'rolled_back', rolled_back_at = $2, rollback_reason = $3
       where id = $1 and status = 'succeeded' returning *`,
      [id, now, reason ?? null],
    );
    const redemption = rows[0];
    if (!redemption) {
      const exists = await tx.query('select 1 from redemptions where id = $1', [id]);
      if (exists.rowCount === 0) throw new NotFoundError('redemption', id);
      throw new DomainError('conflict', 'already_rolled_back', 'This redemption has already been rolled back.');
    }
    const voucher = await tx.query<{ redemption_count: number }>(
      'update vouchers set redemption_count = redemption_count - 1, updated_at = $2 where id = $1 returning redemption_count',
      [redemption.voucher_id, now],
    );
    const result = redemptionView(redemption);
    await recordVoucherEvent(tx, redemption.voucher_id, 'rolled_back', actor, {
      redemption_id: redemption.id,
      reason: reason ?? null,
      redemption_count: voucher.rows[0]?.redemption_count ?? null,
    });
    await emitEvent(tx, 'voucher.redemption.rolled_back', { ...result, voucher_id: redemption.voucher_id });
    return result;
  });
  redemptionsMetric.inc({ result: 'rolled_back', reason: 'none' });
  return view;
}

export async function getRedemption(db: Queryable, id: string): Promise<RedemptionView> {
  const { rows } = isUuid(id) ? await db.query<RedemptionRow>('select * from redemptions where id = $1', [id]) : { rows: [] };
  if (!rows[0]) throw new NotFoundError('redemption', id);
  return redemptionView(rows[0]);
}

/** Newest first, keyset-paginated on the insertion sequence. */
export async function listRedemptions(
  db: Queryable,
  filter: { code?: string; customer_id?: string; campaign_id?: string; limit: number; cursor?: readonly [string] },
): Promise<{ data: RedemptionView[]; next_cursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.code) {
    params.push(normalizeCode(filter.code));
    where.push(`voucher_id = (select id from vouchers where code = $${params.length})`);
  }
  if (filter.customer_id) {
    params.push(filter.customer_id);
    where.push(`customer_id = $${params.length}`);
  }
  if (filter.campaign_id) {
    params.push(filter.campaign_id);
    where.push(`campaign_id = $${params.length}`);
  }
  if (filter.cursor) {
    params.push(filter.cursor[0]);
    where.push(`seq < $${params.length}`);
  }
  params.push(filter.limit + 1);
  const { rows } = await db.query<RedemptionRow>(
    `select * from redemptions ${where.length ? `where ${where.join(' and ')}` : ''} order by seq desc limit $${params.length}`,
    params,
  );
  const page = pageOf(rows, filter.limit, (r) => [String(r.seq)]);
  return { data: page.data.map(redemptionView), next_cursor: page.next_cursor };
}
