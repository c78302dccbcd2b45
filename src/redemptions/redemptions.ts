import { createHash, randomUUID } from 'node:crypto';
import { type BudgetCharge, type BudgetCounter, type BudgetRefund, chargeWithin, refundBudgets } from '../campaigns/budgets.ts';
import { normalizeCode } from '../codes/index.ts';
import { readCustomerContext, type SegmentCache } from '../customers/checkout-context.ts';
import { emailKey } from '../customers/identity.ts';
import { type Database, type Queryable, seqPage, type TransactionOptions } from '../db/sql.ts';
import { emitEvent, outboxEventPerRow } from '../events/outbox.ts';
import { creditOwnHolds, markHolds } from '../reservations/holds.ts';
import type { CheckoutAnswer, CheckoutReason, CodeResult } from '../rules/checkout.ts';
import { type AppliedDiscount, appliedDiscount, type EffectiveRules, effectiveRules, heldByAnother } from '../rules/index.ts';
import { type NormalizedOrder, normalizeOrder } from '../rules/order.ts';
import type { PricedOrder } from '../rules/order-discount.ts';
import { DomainError, NotFoundError, ValidationError } from '../shared/errors.ts';
import type { Actor } from '../shared/events.ts';
import { isoTime } from '../shared/fields.ts';
import { redemptions as redemptionsMetric, validations as validationsMetric } from '../shared/metrics.ts';
import { isUuid } from '../shared/uuid.ts';
import type { ValidationView } from '../vouchers/schemas.ts';
import { recordVoucherEvent, voucherEventsFromRows } from '../vouchers/voucher-events.ts';
import { voucherView } from '../vouchers/vouchers.ts';
import { chargeCheckoutBudgets, expectedCharges, inlineCharge } from './budget-charges.ts';
import { type CheckoutEvaluation, type CheckoutInput, type CodeEvaluation, evaluateCheckout, type FoundCode } from './checkout.ts';
import { type FailedRedemptionView, listFailedRedemptions, recordFailures } from './failures.ts';
import { claimIdempotencyKey } from './idempotency-keys.ts';
import {
  type Candidate,
  type CandidateLookup,
  type CandidateWithCounts,
  customerCounts,
  lockCustomerInCampaign,
  lockForRedemption,
} from './lookup.ts';
import { redeemInBatch } from './redemption-batch.ts';
import type { RedemptionGroupView, RedemptionRefusal, RedemptionRequest, RedemptionView, ValidationRequest } from './schemas.ts';

export const REASON_DETAILS: Record<CheckoutReason, string> = {
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
  rule_not_met: 'The order or the customer does not meet a condition of this voucher.',
  not_combinable: 'The voucher cannot be combined with another code of this order.',
  budget_exhausted: "The campaign's budget does not allow this redemption.",
  reserved: 'The voucher is held by a reservation for another order.',
};

/** The request's codes, normalized, and which form they came in (`code`: the single-code answer; `codes`: the checkout answer). */
export function requestCodes(input: { code?: string; codes?: string[] }): { codes: string[]; single: boolean } {
  return input.codes
    ? { codes: input.codes.map(normalizeCode), single: false }
    : { codes: [normalizeCode(input.code as string)], single: true };
}

/** A checkout's input, with the customer's e-mail as per-customer limits compare it (src/customers/identity.ts). */
export type RequestInput = CheckoutInput & { emailKey: string | null };

export function checkoutInput(
  input: Pick<ValidationRequest, 'customer' | 'order' | 'metadata'>,
  codes: string[],
  now: Date,
  emailTagDomains?: readonly string[],
): RequestInput {
  return {
    codes,
    customer: input.customer ?? null,
    order: input.order ? normalizeOrder(input.order) : null,
    metadata: input.metadata ?? null,
    now,
    emailKey: emailKey(input.customer?.email, emailTagDomains),
  };
}

/** A decided validation: the checkout, and whether the request asked in the single-code form. */
export interface ValidationOutcome {
  single: boolean;
  input: CheckoutInput;
  evaluation: CheckoutEvaluation;
}

export interface ValidationLookups {
  candidates: CandidateLookup;
  segments: SegmentCache;
}

/**
 * Validation changes nothing: the codes' candidates, the stored customer's metadata and the segment catalogue's
 * version in one batched statement (shared with concurrent requests), then the rules in memory (segments from the
 * process's copy, reloaded only when their version moved).
 */
export async function validateCodes(
  lookups: ValidationLookups,
  request: ValidationRequest,
  now: Date,
  emailTagDomains?: readonly string[],
): Promise<ValidationOutcome> {
  const { codes, single } = requestCodes(request);
  const input = checkoutInput(request, codes, now, emailTagDomains);
  const customerId = request.customer?.id;
  const candidates = await Promise.all(codes.map((code) => lookups.candidates.find(code, customerId, input.emailKey)));
  const found = candidates.map(
    (candidate): FoundCode => ({
      candidate,
      counts: { code: candidate?.customer_code_count ?? 0, campaign: candidate?.customer_campaign_count ?? 0 },
    }),
  );
  // Asked only when some code was found and has conditions: the rows carry the customer and the segments' version.
  const customers = async () => {
    const row = candidates.find((c) => c !== null) as CandidateWithCounts;
    return { metadata: row.customer_metadata, segments: await lookups.segments.at(row.segments_version) };
  };
  const holds = creditOwnHolds(found, customerId);
  const evaluation = await evaluateCheckout(input, found, customers);
  markHolds(evaluation, holds);
  for (const code of evaluation.answer.codes) {
    validationsMetric.inc({ result: code.valid ? 'valid' : 'invalid', reason: code.valid ? 'none' : (code.reason as string) });
  }
  return { single, input, evaluation };
}

/** The guesses among the codes (unknown, or held by another customer), each with its campaign when known. */
export function guessesOf(codes: readonly CodeEvaluation[]): (string | null)[] {
  return codes.filter((c) => c.guess).map((c) => c.candidate?.campaign_id ?? null);
}

/** The discount as the single-code answers show it, with what it took off this order. */
export function shownDiscount(rules: EffectiveRules, result: CodeResult, order: NormalizedOrder | null): AppliedDiscount | null {
  const discount = rules.discount;
  if (!discount) return null;
  const currency = order?.currency ?? (discount.type === 'unit' ? null : (discount.currency ?? null));
  return appliedDiscount(discount, result.discount_amount, currency);
}

/** The single-code answer (`code`), as before the checkout engine; with items, the order line by line too. */
export function validationView(outcome: ValidationOutcome): ValidationView | CheckoutAnswer {
  const { answer, codes } = outcome.evaluation;
  if (!outcome.single) return answer;
  const result = answer.codes[0] as CodeResult;
  const evaluation = codes[0] as CodeEvaluation;
  if (!result.valid) {
    return { valid: false, code: result.code, reason: result.reason as CheckoutReason, ...(result.rule ? { rule: result.rule } : {}) };
  }
  const candidate = evaluation.candidate as Candidate;
  const rules = evaluation.rules as EffectiveRules;
  const limit = rules.perCodeLimit;
  return {
    valid: true,
    code: result.code,
    discount: shownDiscount(rules, result, outcome.input.order),
    ...(result.reservation_id ? { reservation_id: result.reservation_id } : {}),
    ...(outcome.input.order?.items && answer.order ? { order: answer.order } : {}),
    voucher: {
      ...voucherView(candidate),
      redemption: {
        per_code_limit: limit,
        redeemed: candidate.redemption_count,
        remaining: limit === null ? null : Math.max(0, limit - candidate.redemption_count),
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
  order_id: string | null;
  group_id: string | null;
  budget_discount: string | null;
}

export function redemptionView(r: RedemptionRow): RedemptionView {
  return {
    id: r.id,
    status: r.status,
    code: r.code,
    campaign_id: r.campaign_id,
    customer: r.customer_id ? { id: r.customer_id, ...(r.customer_email ? { email: r.customer_email } : {}) } : null,
    order:
      r.order_amount !== null
        ? { ...(r.order_id === null ? {} : { id: r.order_id }), amount: Number(r.order_amount), currency: r.order_currency }
        : null,
    ...(r.group_id === null ? {} : { group_id: r.group_id }),
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
export type RedemptionResponse =
  | { status: 201; body: RedemptionView }
  | { status: 201; body: RedemptionGroupView }
  | { status: 422; body: RedemptionRefusal };

export interface RedeemResult {
  response: RedemptionResponse;
  replayed: boolean;
  /** For the guessing defence: whether any code was a failed lookup, and of which campaign if known (the first). */
  guess: boolean;
  campaignId: string | null;
  /** Every failed lookup of the request (each unknown code is one guess), with its campaign when known. */
  guesses: (string | null)[];
}

export interface RedeemContext {
  actor: Actor;
  apiKeyId: string;
  idempotencyKey?: string;
  /** How long a key is remembered; an older one counts as new. */
  idempotencyTtlSeconds: number;
  now: Date;
  /** EMAIL_TAG_DOMAINS (default: gmail.com, googlemail.com). */
  emailTagDomains?: readonly string[];
}

/** Same key + same body replays; the hash covers the parsed body, so formatting and key order do not matter. */
export function requestHash(input: unknown): string {
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

export interface GroupRow {
  id: string;
  status: 'succeeded' | 'rolled_back';
  mode: 'all' | 'partial';
  order_id: string | null;
  order: PricedOrder | null;
  codes: CodeResult[];
  customer_id: string | null;
  customer_email: string | null;
  metadata: Record<string, unknown>;
  created_at: Date | string;
  rolled_back_at: Date | string | null;
  rollback_reason: string | null;
}

export function groupView(g: GroupRow, redemptions: readonly RedemptionRow[]): RedemptionGroupView {
  return {
    id: g.id,
    status: g.status,
    mode: g.mode,
    valid: g.codes.every((c) => c.valid),
    codes: g.codes,
    redemptions: redemptions.map(redemptionView),
    order: g.order,
    customer: g.customer_id ? { id: g.customer_id, ...(g.customer_email ? { email: g.customer_email } : {}) } : null,
    metadata: g.metadata,
    created_at: isoTime(g.created_at),
    rolled_back_at: isoTime(g.rolled_back_at),
    rollback_reason: g.rollback_reason,
  };
}

/** A checkout write (redemption, reservation) that meets a deadlock or serialization failure runs again, up to 3 times. */
export const CHECKOUT_TRANSACTION: TransactionOptions = { conflictRetries: 3 };

/**
 * Redeems one code (`code`) or several (`codes`) in one transaction: claim the idempotency key; read the vouchers
 * (an unknown code, or one held by another customer, is refused here, with no lock taken); lock the other voucher
 * rows in one canonical order (by id), then the customer within each campaign whose campaign-wide limit applies
 * (in campaign order); count; decide every code (rules.md); then write each use, redemption, lifecycle entry and
 * outbox event, and for `codes` the group and its event. With `codes`, mode `all` redeems every code or none,
 * `partial` the valid ones. A refusal commits only its idempotency record and its `voucher.redemption.failed` events.
 */
export async function redeemVoucher(db: Database, request: RedemptionRequest, ctx: RedeemContext): Promise<RedeemResult> {
  const { codes, single } = requestCodes(request);
  const input = checkoutInput(request, codes, ctx.now, ctx.emailTagDomains);
  const hash = ctx.idempotencyKey ? requestHash(single ? { ...request, code: codes[0] } : { ...request, codes }) : '';
  // Concurrent single-code redemptions share one transaction (redemption-batch.ts); what it cannot decide runs here.
  const batched = single && !ctx.idempotencyKey ? await redeemInBatch(db, { request, input, ctx }) : null;
  const result =
    batched ??
    (await db.transaction(async (tx): Promise<RedeemResult> => {
      const outcome = await idempotent(tx, ctx, hash, () => attempt(tx, input, single, request, ctx));
      return 'replayed' in outcome
        ? { response: outcome.replayed as RedemptionResponse, replayed: true, guess: false, campaignId: null, guesses: [] }
        : outcome.fresh;
    }, CHECKOUT_TRANSACTION));
  if (!result.replayed) {
    const r = result.response;
    if (r.status === 422) redemptionsMetric.inc({ result: 'refused', reason: r.body.reason });
    else redemptionsMetric.inc({ result: 'succeeded', reason: 'none' }, 'redemptions' in r.body ? r.body.redemptions.length : 1);
  }
  return result;
}

/**
 * Runs `attempt` once per Idempotency-Key (scoped to the API key), in the caller's transaction: the key is claimed
 * first (a concurrent request with the same key waits for this one's commit), the answer is stored with it, and a
 * later request with the key and the same body (`hash`) gets the stored answer back; with another body, 422
 * idempotency_key_reused.
 */
export async function idempotent<R extends { response: { status: number; body: unknown } }>(
  tx: Queryable,
  ctx: { apiKeyId: string; idempotencyKey?: string; idempotencyTtlSeconds: number; now: Date },
  hash: string,
  attempt: () => Promise<R>,
): Promise<{ fresh: R } | { replayed: { status: number; body: unknown } }> {
  if (!ctx.idempotencyKey) return { fresh: await attempt() };
  const claimed = await claimIdempotencyKey(tx, {
    apiKeyId: ctx.apiKeyId,
    key: ctx.idempotencyKey,
    requestHash: hash,
    now: ctx.now,
    ttlSeconds: ctx.idempotencyTtlSeconds,
  });
  if (!claimed) {
    // Another request with this key committed first (the insert waited for it): replay, or refuse a different body.
    const { rows } = await tx.query<{ request_hash: string; response_status: number; response_body: unknown }>(
      'select request_hash, response_status, response_body from redemption_idempotency_keys where api_key_id = $1 and key = $2',
      [ctx.apiKeyId, ctx.idempotencyKey],
    );
    const stored = rows[0];
    if (!stored || stored.request_hash !== hash) {
      throw new DomainError('unprocessable', 'idempotency_key_reused', 'This Idempotency-Key was used with a different request body.');
    }
    return { replayed: { status: stored.response_status, body: stored.response_body } };
  }
  const outcome = await attempt();
  await tx.query('update redemption_idempotency_keys set response_status = $3, response_body = $4 where api_key_id = $1 and key = $2', [
    ctx.apiKeyId,
    ctx.idempotencyKey,
    outcome.response.status,
    outcome.response.body,
  ]);
  return { fresh: outcome };
}

/**
 * The codes' vouchers, locked (the ones that are no guess) in canonical order with the customer's counts, in one
 * statement; then the customer within each campaign whose campaign-wide limit applies (in campaign order), whose
 * counts are read after that lock, as are the counts of a code whose lock waited for another use of it.
 */
export async function findForRedemption(
  tx: Queryable,
  codes: readonly string[],
  customerId: string | undefined,
  emailKey: string | null = null,
): Promise<FoundCode[]> {
  // Unknown and held-by-another are refused without a lock: a row lock assigns a transaction id and writes WAL at
  // commit, which would make a held code measurably slower to refuse than an unknown one.
  const seen = await lockForRedemption(tx, codes, customerId ?? null, emailKey);
  const campaigns = new Map<string, string | null>();
  for (const { candidate, locked } of seen.values()) {
    if (locked && customerId && effectiveRules(candidate).perCustomerCampaignLimit !== null) {
      campaigns.set(candidate.campaign_id, (candidate.customer_identity ?? 'id') === 'id' ? null : emailKey);
    }
  }
  for (const campaignId of [...campaigns.keys()].sort()) {
    await lockCustomerInCampaign(tx, campaignId, customerId as string, campaigns.get(campaignId) ?? null);
  }
  const found: FoundCode[] = [];
  for (const code of codes) {
    const row = seen.get(code);
    if (!row) {
      found.push({ candidate: null, counts: { code: 0, campaign: 0 } });
      continue;
    }
    const { candidate } = row;
    const rules = effectiveRules(candidate);
    if (!row.locked) {
      // Someone else's (a guess); a row the lock found changed into another shape since the snapshot is unknown now.
      found.push({ candidate: heldByAnother(candidate, rules, customerId) ? candidate : null, counts: { code: 0, campaign: 0 } });
      continue;
    }
    let counts = { code: 0, campaign: 0 };
    if (customerId && (rules.perCustomerLimit !== null || rules.perCustomerCampaignLimit !== null || (rules.conditions?.length ?? 0) > 0)) {
      counts =
        row.fresh && !campaigns.has(candidate.campaign_id)
          ? row.counts
          : await customerCounts(tx, candidate.id, candidate.campaign_id, customerId, emailKey, candidate.customer_identity);
    }
    found.push({ candidate, counts });
  }
  return found;
}

async function attempt(
  tx: Queryable,
  input: RequestInput,
  single: boolean,
  request: RedemptionRequest,
  ctx: RedeemContext,
): Promise<RedeemResult> {
  const customerId = request.customer?.id;
  const found = await findForRedemption(tx, input.codes, customerId, input.emailKey);
  const evaluation = await evaluateCheckout(input, found, (id, segments) => readCustomerContext(tx, id, segments));
  const guesses = guessesOf(evaluation.codes);
  const guessFields = { guess: guesses.length > 0, campaignId: guesses[0] ?? null, guesses };
  const mode = request.mode ?? 'all';
  const redeemable = (answer: CheckoutAnswer) => (mode === 'all' ? answer.valid : answer.codes.some((c) => c.valid));
  const expected = expectedCharges(evaluation, input);
  const inline = single && redeemable(evaluation.answer) ? inlineCharge(evaluation, input) : null;
  if (inline) {
    // One code whose budget grants all or nothing: charged inside the statement that writes its use, so the counter
    // row stays locked from that statement to COMMIT. No room: nothing was written, and it is refused below.
    const written = await recordRedemption(
      tx,
      evaluation.codes[0] as CodeEvaluation,
      evaluation.answer.codes[0] as CodeResult,
      input,
      request,
      ctx,
      null,
      expected[0] ?? null,
      inline,
    );
    if (written) return { response: { status: 201, body: redemptionView(written) }, replayed: false, ...guessFields };
  } else if (expected.some((amount) => amount !== null) && redeemable(evaluation.answer)) {
    // Budgets are charged last, so a campaign's counter row stays locked only from its UPDATE to the commit (every
    // redemption of the campaign waits there). When the charge is not the full discount expected (refused, or a
    // partial grant), the writes are undone and the checkout is written again with what the budgets gave.
    const pristine = structuredClone(evaluation.answer);
    await tx.query('savepoint checkout_writes');
    const written = await writeCheckout(tx, evaluation, input, single, request, ctx, expected);
    const charged = await chargeCheckoutBudgets(tx, evaluation, input, mode === 'all');
    if (charged.every((amount, i) => amount === expected[i])) {
      // The savepoint is left to COMMIT: releasing it would cost a round trip with the counter row locked.
      await emitRefusals(tx, evaluation, input, request.metadata);
      await recordFailures(tx, evaluation, input, 'redemption', ctx.apiKeyId);
      return { response: written, replayed: false, ...guessFields };
    }
    await tx.query('rollback to savepoint checkout_writes');
    evaluation.answer = pristine;
  }
  const charged = await chargeCheckoutBudgets(tx, evaluation, input, mode === 'all');
  await emitRefusals(tx, evaluation, input, request.metadata);
  await recordFailures(tx, evaluation, input, 'redemption', ctx.apiKeyId);
  if (!redeemable(evaluation.answer)) {
    return { response: { status: 422, body: refusalOf(evaluation.answer, single) }, replayed: false, ...guessFields };
  }
  return { response: await writeCheckout(tx, evaluation, input, single, request, ctx, charged), replayed: false, ...guessFields };
}

/** The usable codes' redemptions (and with `codes` their group and its event), each with what it took from its budget. */
async function writeCheckout(
  tx: Queryable,
  evaluation: CheckoutEvaluation,
  input: RequestInput,
  single: boolean,
  request: RedemptionRequest,
  ctx: RedeemContext,
  charged: readonly (number | null)[],
): Promise<RedemptionResponse> {
  const { answer } = evaluation;
  const group = single
    ? null
    : await writeGroup(tx, {
        mode: request.mode ?? 'all',
        orderId: input.order?.id ?? null,
        order: answer.order,
        codes: answer.codes,
        customer: request.customer ?? null,
        metadata: request.metadata,
        apiKeyId: ctx.apiKeyId,
        now: ctx.now,
      });
  const redeemed: RedemptionRow[] = [];
  for (const [i, result] of answer.codes.entries()) {
    if (!result.valid) continue;
    const evaluated = evaluation.codes[i] as CodeEvaluation;
    redeemed.push(
      (await recordRedemption(tx, evaluated, result, input, request, ctx, group?.id ?? null, charged[i] ?? null)) as RedemptionRow,
    );
  }
  if (!group) return { status: 201, body: redemptionView(redeemed[0] as RedemptionRow) };
  const view = groupView(group, redeemed);
  await emitEvent(tx, 'redemption.group.succeeded', view);
  return { status: 201, body: view };
}

/** A refusal of a real code is news for the merchant (`voucher.redemption.failed`); a guess (unknown or someone else's code) is not. */
export async function emitRefusals(
  tx: Queryable,
  evaluation: CheckoutEvaluation,
  input: CheckoutInput,
  metadata: Record<string, unknown>,
): Promise<void> {
  const order = input.order;
  const orderSummary = order ? { ...(order.id === null ? {} : { id: order.id }), amount: order.amount, currency: order.currency } : null;
  for (const [i, result] of evaluation.answer.codes.entries()) {
    const evaluated = evaluation.codes[i] as CodeEvaluation;
    if (result.valid || !evaluated.candidate || evaluated.guess) continue;
    await emitEvent(tx, 'voucher.redemption.failed', {
      code: result.code,
      campaign_id: evaluated.candidate.campaign_id,
      reason: result.reason as CheckoutReason,
      ...(result.rule ? { rule: result.rule } : {}),
      customer_id: input.customer?.id ?? null,
      order: orderSummary,
      metadata,
      attempted_at: input.now.toISOString(),
    });
  }
}

/** The 422 body of a refused checkout: the first reason, the failed rule, and with `codes` each code's answer. */
export function refusalOf(answer: CheckoutAnswer, single: boolean): RedemptionRefusal {
  const first = answer.codes.find((c) => !c.valid) as CodeResult;
  const reason = first.reason as CheckoutReason;
  return {
    reason,
    detail: REASON_DETAILS[reason],
    ...(first.rule ? { rule: first.rule } : {}),
    ...(single ? {} : { codes: answer.codes }),
  };
}

/** A redemption group's row (its redemptions and its event are the caller's). */
export async function writeGroup(
  tx: Queryable,
  g: {
    mode: 'all' | 'partial';
    orderId: string | null;
    order: PricedOrder | null;
    codes: CodeResult[];
    customer: { id: string; email?: string } | null;
    metadata: Record<string, unknown>;
    apiKeyId: string | null;
    now: Date;
  },
): Promise<GroupRow> {
  const { rows } = await tx.query<GroupRow>(
    `insert into redemption_groups (status, mode, order_id, "order", codes, customer_id, customer_email, metadata, api_key_id, created_at)
     values ('succeeded', $1, $2, $3, $4, $5, $6, $7, $8, $9) returning *`,
    [g.mode, g.orderId, g.order, JSON.stringify(g.codes), g.customer?.id ?? null, g.customer?.email ?? null, g.metadata, g.apiKeyId, g.now],
  );
  return rows[0] as GroupRow;
}

/**
 * One code's use: the counted use on its locked row, the redemption, the lifecycle entry and the outbox event; with
 * `charge`, taken from its budget in the same statement (null: the budget had no room, nothing written).
 */
async function recordRedemption(
  tx: Queryable,
  evaluated: CodeEvaluation,
  result: CodeResult,
  input: RequestInput,
  request: RedemptionRequest,
  ctx: RedeemContext,
  groupId: string | null,
  budgetDiscount: number | null,
  charge?: BudgetCharge,
): Promise<RedemptionRow | null> {
  const rules = evaluated.rules as EffectiveRules;
  const record = redemptionRecord(evaluated, result, input, request, ctx, groupId, budgetDiscount);
  return insertRedemption(tx, record, { perCodeLimit: rules.perCodeLimit, charge });
}

/** What one decided code's redemption writes down (its use counted: the voucher's count after it). */
export function redemptionRecord(
  evaluated: CodeEvaluation,
  result: CodeResult,
  input: RequestInput,
  request: RedemptionRequest,
  ctx: RedeemContext,
  groupId: string | null,
  budgetDiscount: number | null,
): RedemptionRecord {
  const voucher = evaluated.candidate as Candidate;
  const rules = evaluated.rules as EffectiveRules;
  return {
    voucher: { id: voucher.id, campaign_id: voucher.campaign_id, code: voucher.code, redemption_count: voucher.redemption_count + 1 },
    customer: request.customer ?? null,
    emailKey: input.emailKey,
    order: input.order,
    discount: shownDiscount(rules, result, input.order),
    metadata: request.metadata,
    apiKeyId: ctx.apiKeyId,
    idempotencyKey: ctx.idempotencyKey ?? null,
    actor: ctx.actor,
    now: ctx.now,
    groupId,
    budgetDiscount,
  };
}

/** A use already counted on its voucher (a redemption's, or a confirmed reservation's held use), written down. */
export interface RedemptionRecord {
  voucher: { id: string; campaign_id: string; code: string; redemption_count: number };
  customer: { id: string; email?: string } | null;
  /** The customer's e-mail as limits compare it. */
  emailKey: string | null;
  order: { id: string | null; amount: number; currency: string } | null;
  discount: AppliedDiscount | null;
  metadata: Record<string, unknown>;
  apiKeyId: string | null;
  idempotencyKey: string | null;
  actor: Actor;
  now: Date;
  groupId: string | null;
  budgetDiscount: number | null;
}

/** The redemption row, its lifecycle entry and its outbox event, for a use already counted (a confirmed reservation's). */
export async function writeRedemption(tx: Queryable, r: RedemptionRecord): Promise<RedemptionRow> {
  return (await insertRedemption(tx, r)) as RedemptionRow;
}

/** A redemption about to be written: its row (its id chosen here), its lifecycle entry's details and its event's payload. */
export interface RedemptionDraft {
  row: Omit<RedemptionRow, 'seq'>;
  currency: string | null;
  lifecycle: Record<string, unknown>;
  event: RedemptionView & { voucher_id: string };
}

export function redemptionDraft(r: RedemptionRecord): RedemptionDraft {
  const { voucher, order, discount } = r;
  const currency = order?.currency ?? discount?.currency ?? null;
  const row: Omit<RedemptionRow, 'seq'> = {
    id: randomUUID(),
    voucher_id: voucher.id,
    campaign_id: voucher.campaign_id,
    code: voucher.code,
    customer_id: r.customer?.id ?? null,
    customer_email: r.customer?.email ?? null,
    status: 'succeeded',
    order_amount: order ? String(order.amount) : null,
    order_currency: order?.currency ?? null,
    discount,
    discount_amount: discount ? String(discount.amount) : null,
    currency,
    metadata: r.metadata,
    api_key_id: r.apiKeyId,
    created_at: r.now,
    rolled_back_at: null,
    rollback_reason: null,
    order_id: order?.id ?? null,
    group_id: r.groupId,
    budget_discount: r.budgetDiscount === null ? null : String(r.budgetDiscount),
  };
  const view = redemptionView({ ...row, seq: '' });
  const lifecycle = {
    redemption_id: row.id,
    customer_id: row.customer_id,
    discount_amount: view.discount_amount,
    currency,
    redemption_count: voucher.redemption_count,
    ...(r.groupId ? { group_id: r.groupId } : {}),
  };
  return { row, currency, lifecycle, event: { ...view, voucher_id: voucher.id } };
}

/**
 * The redemption row, its lifecycle entry and its outbox event, in one statement (the row's id is chosen here, so
 * the entry and the event are known before it runs). With `use`, the same statement also counts the use on the
 * voucher row (locked by the caller; the condition keeps the count exact even if a caller skipped the lock), and
 * with `use.charge` takes it from the campaign's budget first (chargeWithin): null when the budget had no room, and
 * then nothing was written.
 */
async function insertRedemption(
  tx: Queryable,
  r: RedemptionRecord,
  use?: { perCodeLimit: number | null; charge?: BudgetCharge },
): Promise<RedemptionRow | null> {
  const { voucher, order, discount } = r;
  const { row, currency, lifecycle, event: succeeded } = redemptionDraft(r);
  const params: unknown[] = [
    row.id,
    voucher.id,
    voucher.campaign_id,
    voucher.code,
    row.customer_id,
    row.customer_email,
    order?.amount ?? null,
    row.order_currency,
    discount,
    discount?.amount ?? null,
    currency,
    r.metadata,
    r.apiKeyId,
    r.idempotencyKey,
    r.now,
    row.order_id,
    r.groupId,
    r.budgetDiscount,
    r.customer ? r.emailKey : null,
    use?.perCodeLimit ?? null,
    r.actor,
    lifecycle,
  ];
  const event = outboxEventPerRow('voucher.redemption.succeeded', succeeded, 'used', params.length + 1);
  params.push(...event.params);
  const inline = use?.charge ? chargeWithin(use.charge, r.now, params.length + 1) : null;
  if (use?.charge && !inline) throw new Error('this budget charge cannot run inside the write');
  if (inline) params.push(...inline.params);
  const used = use
    ? `update vouchers set redemption_count = redemption_count + 1, updated_at = $15
       where id = $2 and ($20::int is null or redemption_count < $20::int) ${inline ? 'and exists (select 1 from charge)' : ''} returning id`
    : 'select $2::bigint as id where $20::int is null'; // $20 (no limit here) named so its type is known
  // Named per shape (a recorded use or not, a budget charged inside or not): parsed and planned once per connection.
  const name = `promo.redemption.write${use ? '.use' : ''}${inline ? '.charge' : ''}`;
  const { rows } = await tx.query<RedemptionRow & { charged?: boolean; budget_counter?: BudgetCounter | null }>({
    name,
    text: `with ${inline ? `charge as (${inline.sql}),` : ''} used as (${used}),
     redemption as (
       insert into redemptions (id, voucher_id, campaign_id, code, customer_id, customer_email, status, order_amount, order_currency,
         discount, discount_amount, currency, metadata, api_key_id, idempotency_key, created_at, order_id, group_id, budget_discount,
         customer_email_key)
       select $1, used.id, $3, $4, $5, $6, 'succeeded', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19 from used
       returning *),
     lifecycle as (${voucherEventsFromRows('used', { type: "'redeemed'", actor: '$21::text', details: '$22::jsonb' })}),
     event as (${event.sql})
     ${
       inline
         ? `select redemption.*, exists (select 1 from charge) as charged,
              (select to_jsonb(c) from charge c where c.last_exhausted) as budget_counter
            from (values (1)) as one left join redemption on true`
         : 'select * from redemption'
     }`,
    values: params,
  });
  const written = rows[0];
  // No room in the budget: the use waited for the charge, so nothing was written.
  if (inline && written?.charged === false) return null;
  if (!written?.id) throw new Error('voucher use could not be recorded under its lock');
  const { budget_counter, charged: _, ...redemption } = written;
  await inline?.settle(tx, budget_counter ?? null);
  return redemption;
}

/** Gives one redemption's use back (its row already marked rolled back): the count, the lifecycle entry, the event. */
async function giveBack(
  tx: Queryable,
  redemption: RedemptionRow,
  reason: string | undefined,
  actor: Actor,
  now: Date,
  refunds: BudgetRefund[],
): Promise<RedemptionView> {
  const voucher = await tx.query<{ redemption_count: number }>(
    'update vouchers set redemption_count = redemption_count - 1, updated_at = $2 where id = $1 returning redemption_count',
    [redemption.voucher_id, now],
  );
  if (redemption.budget_discount !== null) {
    refunds.push({ campaignId: redemption.campaign_id, customerId: redemption.customer_id, amount: Number(redemption.budget_discount) });
  }
  const result = redemptionView(redemption);
  await recordVoucherEvent(tx, redemption.voucher_id, 'rolled_back', actor, {
    redemption_id: redemption.id,
    reason: reason ?? null,
    redemption_count: voucher.rows[0]?.redemption_count ?? null,
  });
  await emitEvent(tx, 'voucher.redemption.rolled_back', { ...result, voucher_id: redemption.voucher_id });
  return result;
}

/**
 * Gives a redemption's use back, once, or every redemption of a group (the id of a redemption group): the
 * conditional UPDATE lets exactly one of any number of concurrent rollbacks through; the rest find it rolled back
 * (409 already_rolled_back). A group's voucher rows are updated in voucher order, as they were locked.
 */
export async function rollbackRedemption(
  db: Database,
  id: string,
  reason: string | undefined,
  actor: Actor,
  now: Date,
): Promise<RedemptionView | RedemptionGroupView> {
  if (!isUuid(id)) throw new NotFoundError('redemption', id);
  const rolledBack = await db.transaction(async (tx): Promise<{ view: RedemptionView | RedemptionGroupView; count: number }> => {
    const { rows } = await tx.query<RedemptionRow>(
      `update redemptions set status = 'rolled_back', rolled_back_at = $2, rollback_reason = $3
       where id = $1 and status = 'succeeded' returning *`,
      [id, now, reason ?? null],
    );
    const redemption = rows[0];
    const refunds: BudgetRefund[] = [];
    if (redemption) {
      const view = await giveBack(tx, redemption, reason, actor, now, refunds);
      await refundBudgets(tx, refunds);
      return { view, count: 1 };
    }
    if ((await tx.query('select 1 from redemptions where id = $1', [id])).rowCount !== 0) throw alreadyRolledBack();
    const groups = await tx.query<GroupRow>(
      `update redemption_groups set status = 'rolled_back', rolled_back_at = $2, rollback_reason = $3
       where id = $1 and status = 'succeeded' returning *`,
      [id, now, reason ?? null],
    );
    const group = groups.rows[0];
    if (!group) {
      if ((await tx.query('select 1 from redemption_groups where id = $1', [id])).rowCount !== 0) throw alreadyRolledBack();
      throw new NotFoundError('redemption', id);
    }
    const members = await tx.query<RedemptionRow>(
      `update redemptions set status = 'rolled_back', rolled_back_at = $2, rollback_reason = $3
       where group_id = $1 and status = 'succeeded' returning *`,
      [id, now, reason ?? null],
    );
    for (const member of [...members.rows].sort((a, b) => Number(a.voucher_id) - Number(b.voucher_id))) {
      await giveBack(tx, member, reason, actor, now, refunds);
    }
    await refundBudgets(tx, refunds);
    const all = await tx.query<RedemptionRow>('select * from redemptions where group_id = $1 order by seq', [id]);
    return { view: groupView(group, all.rows), count: members.rows.length };
  });
  redemptionsMetric.inc({ result: 'rolled_back', reason: 'none' }, rolledBack.count);
  return rolledBack.view;
}

/**
 * Rolls back every succeeded redemption of an order (and its groups), inside the caller's transaction, exactly once:
 * the same conditional UPDATEs as a manual rollback, so a concurrent rollback or a second cancellation finds them
 * rolled back and does nothing. Groups are taken first, as a manual group rollback takes them (no lock cycle);
 * vouchers are updated in id order; their budget refunds are the caller's (`refunds`, applied last with
 * refundBudgets). Returns the redemptions rolled back now.
 */
export async function rollbackOrderRedemptions(
  tx: Queryable,
  orderId: string,
  reason: string | undefined,
  actor: Actor,
  now: Date,
  refunds: BudgetRefund[],
): Promise<RedemptionView[]> {
  await tx.query(
    `update redemption_groups set status = 'rolled_back', rolled_back_at = $2, rollback_reason = $3
     where order_id = $1 and status = 'succeeded'`,
    [orderId, now, reason ?? null],
  );
  const { rows } = await tx.query<RedemptionRow>(
    `update redemptions set status = 'rolled_back', rolled_back_at = $2, rollback_reason = $3
     where order_id = $1 and status = 'succeeded' returning *`,
    [orderId, now, reason ?? null],
  );
  const views: RedemptionView[] = [];
  for (const redemption of [...rows].sort((a, b) => Number(a.voucher_id) - Number(b.voucher_id))) {
    views.push(await giveBack(tx, redemption, reason, actor, now, refunds));
  }
  if (views.length > 0) redemptionsMetric.inc({ result: 'rolled_back', reason: 'none' }, views.length);
  return views;
}

/** An order's redemptions, oldest first. */
export async function redemptionsOfOrder(db: Queryable, orderId: string): Promise<RedemptionView[]> {
  const { rows } = await db.query<RedemptionRow>('select * from redemptions where order_id = $1 order by seq', [orderId]);
  return rows.map(redemptionView);
}

function alreadyRolledBack(): DomainError {
  return new DomainError('conflict', 'already_rolled_back', 'This redemption has already been rolled back.');
}

/** A redemption group with its redemptions in order; null when no group has this id. */
export async function findRedemptionGroup(db: Queryable, id: string): Promise<RedemptionGroupView | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<GroupRow>('select * from redemption_groups where id = $1', [id]);
  if (!rows[0]) return null;
  const members = await db.query<RedemptionRow>('select * from redemptions where group_id = $1 order by seq', [id]);
  return groupView(rows[0], members.rows);
}

export async function getRedemption(db: Queryable, id: string): Promise<RedemptionView> {
  const { rows } = isUuid(id) ? await db.query<RedemptionRow>('select * from redemptions where id = $1', [id]) : { rows: [] };
  if (!rows[0]) throw new NotFoundError('redemption', id);
  return redemptionView(rows[0]);
}

type RedemptionFilter = {
  code?: string;
  customer_id?: string;
  campaign_id?: string;
  status?: 'succeeded' | 'rolled_back' | 'failed';
  reason?: string;
  limit: number;
  cursor?: readonly [string];
};

/** GET /v1/redemptions: redemptions, or with `status: failed` the refusals kept (failures.ts). */
export async function listRedemptionRecords(
  db: Queryable,
  filter: RedemptionFilter,
): Promise<{ data: (RedemptionView | FailedRedemptionView)[]; next_cursor: string | null }> {
  if (filter.status === 'failed') return listFailedRedemptions(db, filter);
  if (filter.reason) throw new ValidationError([{ field: 'reason', message: 'goes with status=failed' }]);
  return listRedemptions(db, { ...filter, status: filter.status });
}

/** Newest first, keyset-paginated on the insertion sequence. */
export async function listRedemptions(
  db: Queryable,
  filter: Omit<RedemptionFilter, 'status' | 'reason'> & { status?: 'succeeded' | 'rolled_back' },
): Promise<{ data: RedemptionView[]; next_cursor: string | null }> {
  const page = await seqPage<RedemptionRow>(
    db,
    'redemptions',
    [
      ['status = $?', filter.status || undefined],
      ['voucher_id = (select id from vouchers where code = $?)', filter.code ? normalizeCode(filter.code) : undefined],
      ['customer_id = $?', filter.customer_id || undefined],
      ['campaign_id = $?', filter.campaign_id || undefined],
    ],
    filter,
  );
  return { data: page.data.map(redemptionView), next_cursor: page.next_cursor };
}
