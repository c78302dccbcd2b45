import type { Queryable } from '../db/sql.ts';
import { emitEvent } from '../events/outbox.ts';
import { isoTime } from '../shared/fields.ts';
import type { Budget, BudgetUsage } from './schemas.ts';

export type { Budget, BudgetUsage };

/**
 * Campaign budgets: a cap on a campaign's redemptions and on the discount it gives (in total and per customer).
 * The budget as set is `campaigns.budget` (what the candidate lookup reads, so a campaign without one pays
 * nothing); its counter row in `campaign_budgets` (this module is its one writer) carries the limits it enforces
 * and what is used. Every change to a counter is one conditional statement on that row: PostgreSQL's row lock
 * serializes concurrent redemptions, and each re-checks the condition on the row as the previous one left it, so
 * no read-then-write can let two of them through on the same remainder.
 */

interface CounterRow {
  campaign_id: string;
  max_redemptions: number | null;
  max_discount_amount: string | null;
  currency: string | null;
  max_discount_per_customer: string | null;
  allow_partial: boolean;
  used_redemptions: number;
  used_discount: string;
  exhausted_at: Date | string | null;
  last_grant: string | null;
  last_exhausted: boolean;
}

const EXHAUSTED = (uses: string, discount: string) =>
  `((max_redemptions is not null and ${uses} >= max_redemptions) or
    (max_discount_amount is not null and ${discount} >= max_discount_amount))`;

/**
 * Sets (or with null clears) a campaign's budget counter limits, inside the transaction that stores
 * `campaigns.budget`. What is used stays; a raised budget that is no longer exhausted is armed again, so it
 * announces its exhaustion once more.
 */
export async function syncBudget(tx: Queryable, campaignId: string, budget: Budget | null): Promise<void> {
  await tx.query(
    `insert into campaign_budgets as b (campaign_id, max_redemptions, max_discount_amount, currency, max_discount_per_customer, allow_partial)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (campaign_id) do update set
       max_redemptions = excluded.max_redemptions, max_discount_amount = excluded.max_discount_amount,
       currency = excluded.currency, max_discount_per_customer = excluded.max_discount_per_customer,
       allow_partial = excluded.allow_partial, updated_at = now(),
       exhausted_at = case
         when ${EXHAUSTED('b.used_redemptions', 'b.used_discount').replaceAll('max_', 'excluded.max_')} then b.exhausted_at
         else null end`,
    [
      campaignId,
      budget?.max_redemptions ?? null,
      budget?.max_discount_amount ?? null,
      budget?.currency ?? null,
      budget?.max_discount_per_customer ?? null,
      budget?.allow_partial ?? false,
    ],
  );
}

/** The part of a discount a budget counts: a discount in another currency than the budget's is a use only. */
export function chargeableDiscount(budget: Budget, discount: number, currency: string | null): number {
  const counted = budget.max_discount_amount != null || budget.max_discount_per_customer != null;
  return counted && currency === budget.currency ? discount : 0;
}

/** One use asked of a budget: its campaign, the budget as the candidate read it, the discount and the customer. */
export interface BudgetCharge {
  campaignId: string;
  budget: Budget;
  /** The discount this use would give, in minor units (0 without an order). */
  discount: number;
  currency: string | null;
  customerId: string | undefined;
}

export type ChargeOutcome = { granted: number } | { refused: 'budget_exhausted' | 'customer_required' };

/**
 * Takes one use (and its discount) from the campaign's budget, in one conditional UPDATE of the counter row: it
 * matches only while the budget has room, so of any number of concurrent charges exactly as many succeed as the
 * budget allows. With `allow_partial` the use gets what is left when its discount would cross the budget (the
 * SET expressions read the row as it was, so `last_grant` is what this charge took). Per-customer discount caps are
 * charged first in their own row the same way; a refusal after it is undone by the caller's savepoint.
 */
export async function chargeBudget(tx: Queryable, charge: BudgetCharge, now: Date): Promise<ChargeOutcome> {
  const { budget } = charge;
  let discount = chargeableDiscount(budget, charge.discount, charge.currency);
  const partial = budget.allow_partial === true;
  const perCustomer = budget.max_discount_per_customer ?? null;
  if (perCustomer !== null) {
    if (!charge.customerId) return { refused: 'customer_required' };
    if (!partial && discount > perCustomer) return { refused: 'budget_exhausted' };
    const { rows } = await tx.query<{ last_grant: string }>(
      `insert into campaign_budget_customers as t (campaign_id, customer_key, used_discount, last_grant)
       values ($1, $2, least($3::bigint, $4::bigint), least($3::bigint, $4::bigint))
       on conflict (campaign_id, customer_key) do update set
         last_grant = case when $5 then least($3::bigint, $4::bigint - t.used_discount) else $3::bigint end,
         used_discount = t.used_discount + case when $5 then least($3::bigint, $4::bigint - t.used_discount) else $3::bigint end
       where t.used_discount < $4::bigint and ($5 or t.used_discount + $3::bigint <= $4::bigint)
       returning last_grant`,
      [charge.campaignId, charge.customerId, discount, perCustomer, partial],
    );
    if (!rows[0]) return { refused: 'budget_exhausted' };
    discount = Number(rows[0].last_grant);
  }
  const { rows } = await tx.query<CounterRow>(counterChargeSql('$1', '$2::bigint', '$3'), [charge.campaignId, discount, now]);
  const row = rows[0];
  if (!row) return { refused: 'budget_exhausted' };
  const granted = Number(row.last_grant);
  if (perCustomer !== null && granted < discount) {
    await tx.query('update campaign_budget_customers set used_discount = used_discount - $3 where campaign_id = $1 and customer_key = $2', [
      charge.campaignId,
      charge.customerId,
      discount - granted,
    ]);
  }
  await announceExhaustion(tx, row, budget);
  return { granted };
}

/**
 * The conditional UPDATE of a campaign's counter row that takes one use and `discount` (SQL expressions: the
 * campaign, the discount as bigint, the time), returning the row; no row when the budget has no room.
 */
function counterChargeSql(campaignId: string, discount: string, now: string): string {
  const grant = `case when max_discount_amount is null or not allow_partial then ${discount}
                 else least(${discount}, max_discount_amount - used_discount) end`;
  return `update campaign_budgets set
       last_grant = ${grant},
       last_exhausted = exhausted_at is null and ${EXHAUSTED('used_redemptions + 1', `used_discount + ${grant}`)},
       exhausted_at = case when exhausted_at is null and ${EXHAUSTED('used_redemptions + 1', `used_discount + ${grant}`)}
                      then ${now} else exhausted_at end,
       used_redemptions = used_redemptions + 1,
       used_discount = used_discount + ${grant},
       updated_at = ${now}
     where campaign_id = ${campaignId}
       and (max_redemptions is null or used_redemptions < max_redemptions)
       and (max_discount_amount is null or (used_discount < max_discount_amount and (allow_partial or used_discount + ${discount} <= max_discount_amount)))
     returning *`;
}

/** `campaign.budget.exhausted`, once, from the counter row of the charge that used the budget up. */
async function announceExhaustion(tx: Queryable, row: CounterRow, budget: Budget): Promise<void> {
  if (row.last_exhausted) {
    await emitEvent(tx, 'campaign.budget.exhausted', { campaign_id: row.campaign_id, budget, ...usageOf(row) });
  }
}

/** Whether a charge of this budget grants the whole discount or nothing (no `allow_partial`, no per-customer cap). */
export function allOrNothing(budget: Budget): boolean {
  return budget.allow_partial !== true && budget.max_discount_per_customer == null;
}

/** A charge that the writer of the use can run inside its own statement (see chargeWithin). */
export interface InlineCharge {
  /** The body of a data-modifying CTE: the counter's UPDATE, whose row (none: no room) the use must wait for. */
  sql: string;
  params: unknown[];
  /** What the charge granted (the whole chargeable discount) and the exhaustion event, once the statement ran. */
  settle(tx: Queryable, counter: CounterRow | null): Promise<void>;
}

/**
 * The same charge as chargeBudget, as a CTE for the statement that writes the use, so the counter row is locked
 * only from that statement to COMMIT and costs no statement of its own; its parameters are numbered from `first`.
 * Only for a budget whose answer is all or nothing (no `allow_partial`, no per-customer cap): null otherwise.
 */
export function chargeWithin(charge: BudgetCharge, now: Date, first: number): InlineCharge | null {
  const { budget } = charge;
  if (!allOrNothing(budget)) return null;
  const discount = chargeableDiscount(budget, charge.discount, charge.currency);
  return {
    sql: counterChargeSql(`$${first}::uuid`, `$${first + 1}::bigint`, `$${first + 2}::timestamptz`),
    params: [charge.campaignId, discount, now],
    settle: async (tx, counter) => {
      if (counter) await announceExhaustion(tx, counter, budget);
    },
  };
}

/** One campaign's uses in a batch of redemptions (src/redemptions/redemption-batch.ts), all of an all-or-nothing budget. */
export interface BatchCharge {
  campaignId: string;
  budget: Budget;
  uses: number;
  /** Their chargeable discounts (chargeableDiscount), summed. */
  discount: number;
}

/** The charges of a batch as CTEs of the statement that writes its uses (chargeBatchWithin). */
export interface BatchInlineCharge {
  /** Two CTEs, `budget_locks` and `charge`: `charge` returns the counter row of each campaign charged. */
  sql: string;
  params: unknown[];
  /** The exhaustion events of the counters the statement returned. */
  settle(tx: Queryable, counters: readonly CounterRow[]): Promise<void>;
}

/**
 * A batch's budget charges for the statement that writes its uses: the campaigns' counter rows locked in campaign
 * order (as one-by-one charges lock them), then each charged with all its uses at once, only when all of them fit
 * (exactly when the same charges one after the other, smallest discount first, would all pass); a campaign with
 * less room is not charged at all, and its uses are the caller's to run one by one. Parameters from `first`.
 */
export function chargeBatchWithin(charges: readonly BatchCharge[], now: Date, first: number): BatchInlineCharge {
  const [ids, uses, discounts, at] = [`$${first}::uuid[]`, `$${first + 1}::int[]`, `$${first + 2}::bigint[]`, `$${first + 3}::timestamptz`];
  const exhausted = EXHAUSTED('used_redemptions + x.uses', 'used_discount + x.discount');
  const budgets = new Map(charges.map((c) => [c.campaignId, c.budget]));
  return {
    sql: `budget_locks as materialized (
         select campaign_id from campaign_budgets where campaign_id = any(${ids}) order by campaign_id for update),
       charge as (
         update campaign_budgets b set
           last_grant = x.discount,
           last_exhausted = exhausted_at is null and ${exhausted},
           exhausted_at = case when exhausted_at is null and ${exhausted} then ${at} else exhausted_at end,
           used_redemptions = used_redemptions + x.uses,
           used_discount = used_discount + x.discount,
           updated_at = ${at}
         from unnest(${ids}, ${uses}, ${discounts}) as x(campaign_id, uses, discount)
         where b.campaign_id = x.campaign_id and b.campaign_id in (select campaign_id from budget_locks)
           and (max_redemptions is null or used_redemptions + x.uses <= max_redemptions)
           and (max_discount_amount is null or
                (used_discount + x.discount <= max_discount_amount and (x.discount > 0 or used_discount < max_discount_amount)))
         returning b.*)`,
    params: [charges.map((c) => c.campaignId), charges.map((c) => c.uses), charges.map((c) => c.discount), now],
    settle: async (tx, counters) => {
      for (const counter of counters) await announceExhaustion(tx, counter, budgets.get(counter.campaign_id) as Budget);
    },
  };
}

/** A use to give back to its campaign's budget. */
export interface BudgetRefund {
  campaignId: string;
  customerId: string | null;
  amount: number;
}

/**
 * Gives uses back, after every voucher row of the change is updated and in campaign order: a budget row is locked
 * last, as a redemption locks it after its vouchers, so a rollback never holds a budget while it waits for a voucher.
 */
export async function refundBudgets(tx: Queryable, refunds: readonly BudgetRefund[]): Promise<void> {
  for (const r of [...refunds].sort((a, b) => a.campaignId.localeCompare(b.campaignId))) {
    await refundBudget(tx, r.campaignId, r.customerId, r.amount);
  }
}

/** Gives a rolled-back or released use back to its budget (the exhaustion is not re-armed: only raising it does). */
export async function refundBudget(tx: Queryable, campaignId: string, customerId: string | null, amount: number): Promise<void> {
  await tx.query(
    `update campaign_budgets set used_redemptions = greatest(0, used_redemptions - 1),
       used_discount = greatest(0, used_discount - $2), updated_at = now() where campaign_id = $1`,
    [campaignId, amount],
  );
  if (customerId && amount > 0) {
    await tx.query(
      `update campaign_budget_customers set used_discount = greatest(0, used_discount - $3)
       where campaign_id = $1 and customer_key = $2`,
      [campaignId, customerId, amount],
    );
  }
}

/** The usage the campaign view shows: from the counter row, or nothing used yet when the row is not read. */
export function budgetUsageView(budget: Budget | null, counter: CounterRow | null | undefined): BudgetUsage | null {
  if (!budget) return null;
  return usageOf(
    counter ?? {
      campaign_id: '',
      max_redemptions: budget.max_redemptions ?? null,
      max_discount_amount: budget.max_discount_amount == null ? null : String(budget.max_discount_amount),
      currency: budget.currency ?? null,
      max_discount_per_customer: null,
      allow_partial: false,
      used_redemptions: 0,
      used_discount: '0',
      exhausted_at: null,
      last_grant: null,
      last_exhausted: false,
    },
  );
}

/** The counter row as JSON beside a campaign row (`left join campaign_budgets b`), for budgetUsageView. */
export const BUDGET_COUNTER_COLUMN = 'to_jsonb(b) as budget_counter';

export type BudgetCounter = CounterRow;

function usageOf(row: CounterRow): BudgetUsage {
  const maxDiscount = row.max_discount_amount === null ? null : Number(row.max_discount_amount);
  const usedDiscount = Number(row.used_discount);
  const remainingUses = row.max_redemptions === null ? null : Math.max(0, row.max_redemptions - row.used_redemptions);
  const remainingDiscount = maxDiscount === null ? null : Math.max(0, maxDiscount - usedDiscount);
  return {
    used_redemptions: row.used_redemptions,
    remaining_redemptions: remainingUses,
    used_discount_amount: usedDiscount,
    remaining_discount_amount: remainingDiscount,
    currency: row.currency,
    exhausted: remainingUses === 0 || remainingDiscount === 0,
    exhausted_at: isoTime(row.exhausted_at),
  };
}

/** What the budgets of these campaigns have used and have left (campaigns without a budget are absent). */
export async function budgetUsage(db: Queryable, campaignIds: readonly string[]): Promise<Map<string, BudgetUsage>> {
  if (campaignIds.length === 0) return new Map();
  const { rows } = await db.query<CounterRow>(
    `select b.* from campaign_budgets b join campaigns c on c.id = b.campaign_id
     where b.campaign_id = any($1::uuid[]) and c.budget is not null`,
    [campaignIds],
  );
  return new Map(rows.map((row) => [row.campaign_id, usageOf(row)]));
}

/**
 * Erasure of a customer: its per-customer budget use goes (the campaign's own counter keeps the money spent), as its
 * redemptions stop counting against its per-customer limits.
 */
export async function eraseBudgetCustomer(tx: Queryable, customerId: string): Promise<number> {
  const { rowCount } = await tx.query('delete from campaign_budget_customers where customer_key = $1', [customerId]);
  return rowCount ?? 0;
}
