import { allOrNothing, type BudgetCharge, chargeableDiscount, chargeBudget } from '../campaigns/budgets.ts';
import type { Queryable } from '../db/sql.ts';
import type { CodeResult } from '../rules/checkout.ts';
import { giveBackDiscount } from '../rules/order-discount.ts';
import type { CheckoutEvaluation, CheckoutInput } from './checkout.ts';

/**
 * Charges the campaign budgets of a decided checkout's usable codes, inside the redemption's (or reservation's)
 * transaction: a code whose budget has no room becomes `budget_exhausted` (or `customer_required` for a
 * per-customer cap without a customer), and with `allow_partial` a code whose discount would cross its budget gets
 * the remainder (its `discount_amount` and the order's totals are lowered by the difference). Codes of campaigns
 * without a budget cost nothing here. Counter rows are charged in campaign order, so two checkouts never wait for
 * each other in a cycle; with `allOrNothing`, one refusal undoes the others' charges (a savepoint). Returns what each
 * code took from its budget (null: not charged).
 */
export async function chargeCheckoutBudgets(
  tx: Queryable,
  evaluation: CheckoutEvaluation,
  input: CheckoutInput,
  allOrNothing: boolean,
): Promise<(number | null)[]> {
  const { answer } = evaluation;
  const charged: (number | null)[] = answer.codes.map(() => null);
  if (allOrNothing && !answer.valid) return charged;
  const budgeted = answer.codes
    .map((result, i) => ({ result, i, candidate: evaluation.codes[i]?.candidate }))
    .filter((c) => c.result.valid && c.candidate?.campaign_budget)
    .sort((a, b) => (a.candidate?.campaign_id ?? '').localeCompare(b.candidate?.campaign_id ?? '') || a.i - b.i);
  if (budgeted.length === 0) return charged;
  await tx.query('savepoint budget_charges');
  let refused = false;
  for (const { result, i, candidate } of budgeted) {
    if (!candidate?.campaign_budget) continue;
    const discount = result.discount_amount ?? 0;
    const outcome = await chargeBudget(
      tx,
      {
        campaignId: candidate.campaign_id,
        budget: candidate.campaign_budget,
        discount,
        currency: input.order?.currency ?? null,
        customerId: input.customer?.id,
      },
      input.now,
    );
    if ('refused' in outcome) {
      refused = true;
      lowerDiscount(answer, result, discount);
      answer.codes[i] = {
        code: result.code,
        valid: false,
        reason: outcome.refused,
        discount_amount: result.discount_amount === null ? null : 0,
      };
      if (allOrNothing) break;
      continue;
    }
    charged[i] = outcome.granted;
    if (outcome.granted < discount) lowerDiscount(answer, result, discount - outcome.granted);
  }
  answer.valid = answer.codes.every((c) => c.valid);
  if (refused && allOrNothing) {
    await tx.query('rollback to savepoint budget_charges');
    return answer.codes.map(() => null);
  }
  // Not released: a RELEASE is one more round trip with the counter row locked, and COMMIT releases it anyway.
  return charged;
}

/**
 * The charge of a checkout of one usable code whose budget grants all or nothing, which the write of its use can
 * take inside its own statement (chargeWithin in src/campaigns/budgets.ts); null for any other checkout.
 */
export function inlineCharge(evaluation: CheckoutEvaluation, input: CheckoutInput): BudgetCharge | null {
  const [result] = evaluation.answer.codes;
  const candidate = evaluation.codes[0]?.candidate;
  const budget = candidate?.campaign_budget;
  if (evaluation.answer.codes.length !== 1 || !result?.valid || !candidate || !budget || !allOrNothing(budget)) return null;
  return {
    campaignId: candidate.campaign_id,
    budget,
    discount: result.discount_amount ?? 0,
    currency: input.order?.currency ?? null,
    customerId: input.customer?.id,
  };
}

/** What each usable code would take from its budget if the budget has room (null: no budget to charge). */
export function expectedCharges(evaluation: CheckoutEvaluation, input: CheckoutInput): (number | null)[] {
  return evaluation.answer.codes.map((result, i) => {
    const budget = evaluation.codes[i]?.candidate?.campaign_budget;
    if (!result.valid || !budget) return null;
    return chargeableDiscount(budget, result.discount_amount ?? 0, input.order?.currency ?? null);
  });
}

/** Takes `by` off a code's discount and gives it back on the order and its lines (which still sum to the order). */
function lowerDiscount(answer: CheckoutEvaluation['answer'], result: CodeResult, by: number): void {
  if (by <= 0 || result.discount_amount === null) return;
  result.discount_amount -= by;
  if (answer.order) giveBackDiscount(answer.order, by);
}
