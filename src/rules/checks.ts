import { type CompiledCondition, compileCondition } from './condition-compiler.ts';
import type { Check } from './conditions.ts';
import type { EvaluationContext } from './context.ts';
import { currencyMismatch } from './minor-units.ts';

/** The named checks a code must pass, compiled; the first that fails is the answer's reason. */

export interface RuleNotMet {
  reason: 'rule_not_met';
  rule: { name: string; message?: string };
}
export type CheckFailure = RuleNotMet | { reason: 'order_amount_too_low' };

/** A check as the engine runs it: a condition check, or the legacy minimum with its own reason and currency. */
export interface CheckSpec extends Check {
  /** The failure's reason; `rule_not_met` (with the check's name and message) unless said. */
  reason?: 'order_amount_too_low';
  /** When an order in another currency is given, the check throws 422 currency_mismatch instead of answering. */
  currency?: string;
}

export const MIN_AMOUNT_CHECK = 'order.min_amount';

/**
 * Today's `rules.order.min_amount` as one check: the order's amount at least the minimum; no order at all fails
 * it, and an order in another currency is `currency_mismatch`, exactly as before the condition language.
 */
export function minAmountCheck(rule: { min_amount: number; currency: string }): CheckSpec {
  return {
    name: MIN_AMOUNT_CHECK,
    when: { field: 'order.amount', op: 'gte', value: rule.min_amount },
    reason: 'order_amount_too_low',
    currency: rule.currency,
  };
}

interface CompiledCheck {
  test: CompiledCondition;
  currency: string | undefined;
  /** Built once: a failure allocates nothing. */
  failure: CheckFailure;
}

export class CompiledChecks {
  readonly #checks: CompiledCheck[];

  constructor(checks: readonly CheckSpec[]) {
    this.#checks = checks.map((check) => ({
      test: compileCondition(check.when),
      currency: check.currency,
      failure: Object.freeze(
        check.reason
          ? { reason: check.reason }
          : {
              reason: 'rule_not_met' as const,
              rule: Object.freeze(check.message === undefined ? { name: check.name } : { name: check.name, message: check.message }),
            },
      ),
    }));
  }

  get size(): number {
    return this.#checks.length;
  }

  /** The first check that does not hold, in the order given, or null when all hold. The result is frozen and shared. */
  firstFailure(ctx: EvaluationContext): CheckFailure | null {
    for (const check of this.#checks) {
      if (check.currency !== undefined && ctx.order && ctx.order.currency !== check.currency) {
        throw currencyMismatch(check.currency, ctx.order.currency);
      }
      if (!check.test(ctx)) return check.failure;
    }
    return null;
  }
}
