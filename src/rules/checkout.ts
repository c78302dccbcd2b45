import { z } from 'zod';
import { normalizeCode } from '../codes/index.ts';
import { type CheckSpec, CompiledChecks, minAmountCheck } from './checks.ts';
import type { Check } from './conditions.ts';
import type { EvaluationContext } from './context.ts';
import { REFUSAL_REASONS, type RefusalReason } from './decide.ts';
import type { NormalizedOrder } from './order.ts';
import { type CompiledDiscount, compileDiscount, type Discount, OrderPricing, pricedOrderSchema } from './order-discount.ts';
import { resolveStacking, type Stacking, type StackingInput, stackingOf } from './stacking.ts';

/** One checkout: the codes of a request, each decided on its own, combined into one answer over one order. */

export const MAX_CODES = 5;

/** `codes` in a request: 1 to 5, distinct once normalized (trimmed, upper-cased). */
export const codeListSchema = z
  .array(z.string().trim().min(1).max(128))
  .min(1)
  .max(MAX_CODES)
  .superRefine((codes, ctx) => {
    const seen = new Set<string>();
    codes.forEach((code, i) => {
      const normalized = normalizeCode(code);
      if (seen.has(normalized)) ctx.addIssue({ code: 'custom', message: 'the same code is given twice', path: [i], input: code });
      seen.add(normalized);
    });
  });

/** The rules a checkout reads for one code: the effective (campaign then voucher) rules, plus the campaign's stacking. */
export interface CheckoutRules {
  order?: { min_amount: number; currency: string } | null;
  conditions?: readonly Check[] | null;
  discount?: Discount | null;
  stacking?: StackingInput | null;
}

export interface CompiledRules {
  /** The legacy minimum first (reason order_amount_too_low), then `conditions` in order (reason rule_not_met). */
  checks: CompiledChecks;
  discount: CompiledDiscount | null;
  stacking: Stacking;
}

function compileRules(rules: CheckoutRules): CompiledRules {
  const checks: CheckSpec[] = rules.order ? [minAmountCheck(rules.order)] : [];
  if (rules.conditions) checks.push(...rules.conditions);
  return {
    checks: new CompiledChecks(checks),
    discount: rules.discount ? compileDiscount(rules.discount) : null,
    stacking: stackingOf(rules.stacking),
  };
}

const byIdentity = new WeakMap<CheckoutRules, CompiledRules>();
const byKey = new Map<string, CompiledRules>();
const CACHE_SIZE = 1000;

/**
 * The rules compiled, once per distinct rules: the same object is found by identity, an equal one (a fresh row
 * from the database) by its JSON, or by `key` when the caller has one that stands for exactly these rules (the
 * rows' jsonb text, say), which spares serializing them. The keyed cache keeps the CACHE_SIZE most recently used.
 * Rules objects are treated as immutable once compiled.
 */
export function compileCheckoutRules(rules: CheckoutRules, key?: string): CompiledRules {
  // A keyed caller passes a fresh object per call: found by its key, it is not also remembered by identity (a
  // WeakMap entry per request costs more than the lookup it would spare).
  const known = key === undefined ? byIdentity.get(rules) : undefined;
  if (known) return known;
  const cacheKey =
    key === undefined
      ? `json:${JSON.stringify([rules.order ?? null, rules.conditions ?? null, rules.discount ?? null, rules.stacking ?? null])}`
      : `key:${key}`;
  let compiled = byKey.get(cacheKey);
  if (compiled) {
    byKey.delete(cacheKey);
  } else {
    compiled = compileRules(rules);
    if (byKey.size >= CACHE_SIZE) byKey.delete(byKey.keys().next().value as string);
  }
  byKey.set(cacheKey, compiled);
  if (key === undefined) byIdentity.set(rules, compiled);
  return compiled;
}

/** `budget_exhausted` (campaign budgets) and `reserved` (held by another's reservation) come from src/campaigns/budgets.ts and src/reservations/. */
export const CHECKOUT_REASONS = [...REFUSAL_REASONS, 'rule_not_met', 'not_combinable', 'budget_exhausted', 'reserved'] as const;
export type CheckoutReason = RefusalReason | 'rule_not_met' | 'not_combinable' | 'budget_exhausted' | 'reserved';

export interface CodeRefusal {
  reason: CheckoutReason;
  /** The check that failed, for rule_not_met. */
  rule?: { name: string; message?: string };
}

/** One code's own decision: usable (with its compiled rules) or refused with a reason. */
export type CodeDecision = { code: string; refusal: null; rules: CompiledRules } | { code: string; refusal: CodeRefusal };

/** A code that passed today's refusal checks, decided by its rules' checks against what the request shows. */
export function decideCode(code: string, rules: CompiledRules, ctx: EvaluationContext): CodeDecision {
  const failure = rules.checks.firstFailure(ctx);
  return failure === null ? { code, refusal: null, rules } : { code, refusal: failure };
}

/** The check a code failed (rule_not_met): its name, and the message the campaign wrote for the checkout to show. */
export const failedRuleSchema = z.object({ name: z.string(), message: z.string().optional() });

export const codeResultSchema = z.object({
  code: z.string(),
  valid: z.boolean(),
  reason: z.enum(CHECKOUT_REASONS).optional(),
  rule: failedRuleSchema.optional(),
  /** Validation by the customer who holds the code in a reservation: the reservation. */
  reservation_id: z.string().optional(),
  /** What this code takes off the order; 0 for a code that does not apply, null when no order was given. */
  discount_amount: z.number().int().nullable(),
});

export const checkoutAnswerSchema = z
  .object({
    /** Every code applies. */
    valid: z.boolean(),
    codes: z.array(codeResultSchema),
    order: pricedOrderSchema.nullable(),
  })
  .meta({ id: 'Checkout' });

export type CodeResult = z.infer<typeof codeResultSchema>;
export type CheckoutAnswer = z.infer<typeof checkoutAnswerSchema>;

const NOT_COMBINABLE: CodeRefusal = Object.freeze({ reason: 'not_combinable' });

/**
 * The combined answer for the codes of one request, in request order. The usable codes are ranked and filtered by
 * their stacking (the rest `not_combinable`); their discounts apply in rank order, each on what the previous left,
 * so together they never exceed the order. Without an order, no discount is priced (`discount_amount` null).
 * A discount priced in another currency than the order throws 422 currency_mismatch, as for a single code.
 */
export function combineCodes(decisions: readonly CodeDecision[], order: NormalizedOrder | null): CheckoutAnswer {
  const usable: number[] = [];
  const stackings: Stacking[] = [];
  decisions.forEach((decision, i) => {
    if (decision.refusal === null) {
      usable.push(i);
      stackings.push(decision.rules.stacking);
    }
  });
  const { applied, notCombinable } = resolveStacking(stackings);
  const refusals: (CodeRefusal | null)[] = decisions.map((decision) => decision.refusal);
  for (const k of notCombinable) refusals[usable[k] as number] = NOT_COMBINABLE;
  const pricing = order ? new OrderPricing(order) : null;
  const amounts: number[] = new Array(decisions.length).fill(0);
  if (pricing) {
    for (const k of applied) {
      const i = usable[k] as number;
      const discount = (decisions[i] as CodeDecision & { refusal: null }).rules.discount;
      if (discount) amounts[i] = pricing.apply(discount);
    }
  }
  let valid = true;
  const codes = decisions.map((decision, i): CodeResult => {
    const refusal = refusals[i] as CodeRefusal | null;
    const discountAmount = pricing ? (amounts[i] as number) : null;
    if (refusal === null) return { code: decision.code, valid: true, discount_amount: discountAmount };
    valid = false;
    return {
      code: decision.code,
      valid: false,
      reason: refusal.reason,
      ...(refusal.rule ? { rule: refusal.rule } : {}),
      discount_amount: pricing ? 0 : null,
    };
  });
  return { valid, codes, order: pricing ? pricing.result() : null };
}
