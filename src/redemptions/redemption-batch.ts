import { allOrNothing, type BatchCharge, type BudgetCounter, chargeBatchWithin } from '../campaigns/budgets.ts';
import { readCustomerContext } from '../customers/checkout-context.ts';
import type { Database, Queryable } from '../db/sql.ts';
import { outboxEventsFromColumn } from '../events/outbox.ts';
import type { CodeResult } from '../rules/checkout.ts';
import { type EffectiveRules, effectiveRules, heldByAnother } from '../rules/index.ts';
import { DatabaseUnavailableError, DomainError, ServiceUnavailableError } from '../shared/errors.ts';
import { redemptionBatches, redemptionBatchItems } from '../shared/metrics.ts';
import { tickBatcher } from '../shared/tick-batch.ts';
import { expectedCharges } from './budget-charges.ts';
import { type CodeEvaluation, evaluateCheckout, type FoundCode } from './checkout.ts';
import { recordFailures } from './failures.ts';
import { type Candidate, customerCounts, lockBatchForRedemption } from './lookup.ts';
import {
  emitRefusals,
  guessesOf,
  type RedeemContext,
  type RedeemResult,
  type RedemptionRecord,
  type RedemptionRow,
  type RequestInput,
  redemptionDraft,
  redemptionRecord,
  redemptionView,
  refusalOf,
} from './redemptions.ts';
import type { RedemptionRequest } from './schemas.ts';

/**
 * Group commit of single-code redemptions. The ones that arrive in the same turn of the event loop (or while the
 * previous batch's transaction is out) run in one transaction: one statement locks all their vouchers in id order
 * and counts each one's customer's uses, each is decided in memory exactly as alone (evaluateCheckout), and one
 * statement writes every accepted use, redemption, lifecycle entry and outbox event, taking each budgeted campaign's
 * uses from its counter at once; one COMMIT. Each request gets its own answer after that commit.
 *
 * Whatever a batch cannot decide exactly goes the one-by-one way (redeemVoucher), after the batch committed: a code
 * asked twice in the batch (the second one), a code another transaction holds locked (the batch does not wait for
 * it), a per-customer campaign limit (which takes its advisory lock), a budget
 * that grants partially or per customer, a campaign whose budget has no room for all of the batch's uses of it, a
 * request whose evaluation threw; and every request of a batch whose transaction failed (a conflict, a statement
 * error: it rolled back, so nothing of it happened). A lost connection, whose COMMIT may or may not have happened,
 * answers every request of the batch with the error, as one request alone would (503).
 */

/** A single-code redemption without an Idempotency-Key, as redeemVoucher received it. */
export interface BatchedRedemption {
  request: RedemptionRequest;
  input: RequestInput;
  ctx: RedeemContext;
}

/** A batch's answer to one request; null: run it one by one. */
export type BatchAnswer = RedeemResult | null;

/** Most requests in one batch, and batch transactions out at once (each holds one pooled connection). */
const BATCH_OPTIONS = { maxBatch: 64, maxInFlight: 2 };

const batchers = new WeakMap<Database, (item: BatchedRedemption) => Promise<BatchAnswer>>();

/** Hands the redemption to this pool's batcher: its answer from a batch, or null to run it alone. */
export function redeemInBatch(db: Database, item: BatchedRedemption): Promise<BatchAnswer> {
  let batcher = batchers.get(db);
  if (!batcher) {
    batcher = tickBatcher((items: BatchedRedemption[]) => runBatch(db, items), BATCH_OPTIONS);
    batchers.set(db, batcher);
  }
  return batcher(item);
}

async function runBatch(db: Database, items: readonly BatchedRedemption[]): Promise<BatchAnswer[]> {
  const answers: BatchAnswer[] = items.map(() => null);
  // A request alone gains nothing from a batch; a code's second request waits for the first one's commit.
  const firsts = new Map<string, number>();
  items.forEach((item, i) => {
    if (!firsts.has(item.input.codes[0] as string)) firsts.set(item.input.codes[0] as string, i);
  });
  const together = [...firsts.values()];
  if (together.length < 2) return answers;
  try {
    const decided = await db.transaction((tx) =>
      redeemTogether(
        tx,
        together.map((i) => items[i] as BatchedRedemption),
      ),
    );
    decided.forEach((answer, k) => {
      answers[together[k] as number] = answer;
    });
    redemptionBatches.inc({ outcome: 'committed' });
  } catch (error) {
    if (error instanceof DatabaseUnavailableError) throw error;
    redemptionBatches.inc({ outcome: 'failed' });
  }
  const batched = answers.filter((a) => a !== null).length;
  redemptionBatchItems.inc({ answered: 'batch' }, batched);
  redemptionBatchItems.inc({ answered: 'alone' }, items.length - batched);
  return answers;
}

/** An accepted request's write: its record, its code's limit, and the budget (all or nothing) its use is taken from. */
interface Accepted {
  index: number;
  record: RedemptionRecord;
  perCodeLimit: number | null;
  charge: BatchCharge | null;
  guessFields: Pick<RedeemResult, 'guess' | 'campaignId' | 'guesses'>;
}

async function redeemTogether(tx: Queryable, items: readonly BatchedRedemption[]): Promise<BatchAnswer[]> {
  const locked = await lockBatchForRedemption(
    tx,
    items.map(({ input, request }) => ({
      code: input.codes[0] as string,
      customerId: request.customer?.id ?? null,
      emailKey: input.emailKey,
    })),
  );
  const answers: BatchAnswer[] = items.map(() => null);
  const accepted: Accepted[] = [];
  for (const [index, { request, input, ctx }] of items.entries()) {
    const found = await foundCode(tx, locked[index], request.customer?.id, input.emailKey);
    if (!found) continue;
    const evaluation = await evaluateCheckout(input, [found], (id, segments) => readCustomerContext(tx, id, segments)).catch(
      (error: unknown) => {
        // The request's own refusal (currency_mismatch) is answered alone; anything else (the database) fails the batch.
        if (error instanceof DomainError && !(error instanceof ServiceUnavailableError)) return null;
        throw error;
      },
    );
    if (!evaluation) continue;
    const guesses = guessesOf(evaluation.codes);
    const guessFields = { guess: guesses.length > 0, campaignId: guesses[0] ?? null, guesses };
    const result = evaluation.answer.codes[0] as CodeResult;
    if (!result.valid) {
      await emitRefusals(tx, evaluation, input, request.metadata);
      await recordFailures(tx, evaluation, input, 'redemption', ctx.apiKeyId);
      answers[index] = { response: { status: 422, body: refusalOf(evaluation.answer, true) }, replayed: false, ...guessFields };
      continue;
    }
    const evaluated = evaluation.codes[0] as CodeEvaluation;
    const candidate = evaluated.candidate as Candidate;
    const budget = candidate.campaign_budget ?? null;
    if (budget && !allOrNothing(budget)) continue;
    const expected = expectedCharges(evaluation, input)[0] ?? null;
    accepted.push({
      index,
      record: redemptionRecord(evaluated, result, input, request, ctx, null, expected),
      perCodeLimit: (evaluated.rules as EffectiveRules).perCodeLimit,
      charge: budget ? { campaignId: candidate.campaign_id, budget, uses: 1, discount: expected ?? 0 } : null,
      guessFields,
    });
  }
  if (accepted.length === 0) return answers;
  const written = await writeTogether(tx, accepted);
  for (const a of accepted) {
    const row = written.get(a.record.voucher.id);
    if (row) answers[a.index] = { response: { status: 201, body: redemptionView(row) }, replayed: false, ...a.guessFields };
  }
  return answers;
}

/**
 * A request's code as the batch's lock found it, as findForRedemption would give it; undefined when only the
 * one-by-one path can decide it: a voucher the batch did not lock that is not someone else's (another transaction
 * holds it), or a per-customer campaign limit (which serializes the customer across the campaign).
 */
async function foundCode(
  tx: Queryable,
  row: Awaited<ReturnType<typeof lockBatchForRedemption>>[number],
  customerId: string | undefined,
  emailKey: string | null,
): Promise<FoundCode | undefined> {
  if (!row) return { candidate: null, counts: { code: 0, campaign: 0 } };
  const { candidate } = row;
  const rules = effectiveRules(candidate);
  if (!row.locked) return heldByAnother(candidate, rules, customerId) ? { candidate, counts: { code: 0, campaign: 0 } } : undefined;
  if (!customerId) return { candidate, counts: { code: 0, campaign: 0 } };
  if (rules.perCustomerCampaignLimit !== null) return undefined;
  if (rules.perCustomerLimit === null && (rules.conditions?.length ?? 0) === 0) return { candidate, counts: { code: 0, campaign: 0 } };
  const counts = row.fresh
    ? row.counts
    : await customerCounts(tx, candidate.id, candidate.campaign_id, customerId, emailKey, candidate.customer_identity);
  return { candidate, counts };
}

/**
 * Every accepted use in one statement: the budgets' charges (one per campaign), the counted uses on their locked
 * rows (each conditional on its limit, and a budgeted one on its campaign's charge), the redemptions, their
 * lifecycle entries and their outbox events. Returns the redemptions written, by voucher id; a request missing from
 * it is one whose campaign's budget had too little room for the batch (charged nothing, written nothing).
 */
async function writeTogether(tx: Queryable, accepted: readonly Accepted[]): Promise<Map<string, RedemptionRow>> {
  // One use per voucher: the voucher UPDATE below counts a row once, however many inputs name it.
  if (new Set(accepted.map((a) => a.record.voucher.id)).size !== accepted.length) throw new Error('a voucher twice in one batch');
  const charges = new Map<string, BatchCharge>();
  for (const { charge } of accepted) {
    if (!charge) continue;
    const sum = charges.get(charge.campaignId);
    charges.set(charge.campaignId, sum ? { ...sum, uses: sum.uses + 1, discount: sum.discount + charge.discount } : { ...charge });
  }
  const drafts = accepted.map((a) => ({ ...redemptionDraft(a.record), accepted: a }));
  const column = <T>(of: (d: (typeof drafts)[number]) => T) => drafts.map(of);
  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
  const params: unknown[] = [
    column((d) => d.row.id),
    column((d) => d.row.voucher_id),
    column((d) => d.row.campaign_id),
    column((d) => d.row.code),
    column((d) => d.row.customer_id),
    column((d) => d.row.customer_email),
    column((d) => d.row.order_amount),
    column((d) => d.row.order_currency),
    column((d) => json(d.row.discount)),
    column((d) => d.row.discount_amount),
    column((d) => d.currency),
    column((d) => json(d.row.metadata)),
    column((d) => d.row.api_key_id),
    column((d) => d.accepted.record.now),
    column((d) => d.row.order_id),
    column((d) => d.row.budget_discount),
    column((d) => (d.accepted.record.customer ? d.accepted.record.emailKey : null)),
    column((d) => d.accepted.perCodeLimit),
    column((d) => d.accepted.record.actor),
    column((d) => json(d.lifecycle)),
    column((d) => json(d.event)),
    column((d) => d.accepted.charge?.campaignId ?? null),
  ];
  const now = (accepted[0] as Accepted).record.now;
  const charge = charges.size > 0 ? chargeBatchWithin([...charges.values()], now, params.length + 1) : null;
  if (charge) params.push(...charge.params);
  const { rows } = await tx.query<RedemptionRow & { budget_counters: BudgetCounter[] | null }>({
    // Named per shape (budgets charged or not): parsed and planned once per connection.
    name: `promo.redemption.write.batch${charge ? '.charge' : ''}`,
    text: `with input as (
         select * from unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[],
           $9::jsonb[], $10::bigint[], $11::text[], $12::jsonb[], $13::uuid[], $14::timestamptz[], $15::text[], $16::bigint[],
           $17::text[], $18::int[], $19::text[], $20::jsonb[], $21::jsonb[], $22::uuid[])
           as t(id, voucher_id, campaign_id, code, customer_id, customer_email, order_amount, order_currency, discount,
             discount_amount, currency, metadata, api_key_id, created_at, order_id, budget_discount, customer_email_key,
             per_code_limit, actor, details, event, budget_campaign)),
       ${charge ? `${charge.sql},` : ''}
       used as (
         update vouchers v set redemption_count = v.redemption_count + 1, updated_at = i.created_at from input i
         where v.id = i.voucher_id and (i.per_code_limit is null or v.redemption_count < i.per_code_limit)
           ${charge ? 'and (i.budget_campaign is null or i.budget_campaign in (select campaign_id from charge))' : ''}
         returning v.id),
       written as (select i.* from input i join used on used.id = i.voucher_id),
       redemption as (
         insert into redemptions (id, voucher_id, campaign_id, code, customer_id, customer_email, status, order_amount, order_currency,
           discount, discount_amount, currency, metadata, api_key_id, created_at, order_id, budget_discount, customer_email_key)
         select id, voucher_id, campaign_id, code, customer_id, customer_email, 'succeeded', order_amount, order_currency,
           discount, discount_amount, currency, metadata, api_key_id, created_at, order_id, budget_discount, customer_email_key
         from written
         returning *),
       lifecycle as (insert into voucher_events (voucher_id, type, actor, details) select voucher_id, 'redeemed', actor, details from written),
       event as (${outboxEventsFromColumn('voucher.redemption.succeeded', 'event', 'written')})
     select redemption.*, ${charge ? '(select jsonb_agg(to_jsonb(c)) from charge c)' : 'null::jsonb'} as budget_counters
     from (values (1)) as one left join redemption on true`,
    values: params,
  });
  const counters = rows[0]?.budget_counters ?? [];
  const written = new Map<string, RedemptionRow>();
  for (const { budget_counters: _, ...row } of rows) if (row.id) written.set(row.voucher_id, row);
  const charged = new Set(counters.map((c) => c.campaign_id));
  // Every use is counted under its lock, so only a campaign's charge can leave uses out, and then all of them.
  for (const a of accepted) {
    const expected = a.charge === null || charged.has(a.charge.campaignId);
    if (expected !== written.has(a.record.voucher.id)) throw new Error('a batched use was not recorded under its lock');
  }
  await charge?.settle(tx, counters);
  return written;
}
