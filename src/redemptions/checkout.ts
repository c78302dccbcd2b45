import type { CustomerContext } from '../customers/checkout-context.ts';
import {
  type CheckoutAnswer,
  type CodeDecision,
  type CompiledRules,
  combineCodes,
  compileCheckoutRules,
  decideCode,
} from '../rules/checkout.ts';
import { referencedSegments } from '../rules/conditions.ts';
import { evaluationContext, overlayCustomer } from '../rules/context.ts';
import { type EffectiveRules, effectiveRules, heldByAnother, refusalReason } from '../rules/index.ts';
import type { Metadata, NormalizedOrder } from '../rules/order.ts';
import { type Candidate, rulesKey } from './lookup.ts';

/**
 * One checkout decided: each code's candidate (found by the caller, with or without locks) through today's refusal
 * checks, then its compiled rules (the legacy minimum, then `rules.conditions`) against the order and the customer,
 * then all of them combined by stacking and priced over the order. The same function decides a validation and,
 * inside the redemption transaction, a redemption.
 */

export interface CheckoutCustomer {
  id: string;
  email?: string;
  metadata?: Metadata;
}

export interface CheckoutInput {
  /** Normalized codes, in request order. */
  codes: readonly string[];
  customer: CheckoutCustomer | null;
  order: NormalizedOrder | null;
  /** The request's (the redemption's) metadata. */
  metadata: Metadata | null;
  now: Date;
}

/** A code's voucher (or null) and the customer's succeeded redemptions of it and across its campaign. */
export interface FoundCode {
  candidate: Candidate | null;
  counts: { code: number; campaign: number };
}

export interface CodeEvaluation {
  code: string;
  candidate: Candidate | null;
  rules: EffectiveRules | null;
  /** A refusal the guessing defence counts: an unknown code, or one held by another customer. */
  guess: boolean;
}

export interface CheckoutEvaluation {
  answer: CheckoutAnswer;
  codes: CodeEvaluation[];
}

/** Reads the stored customer and the named segments, when some code's conditions need them. */
export type CustomerContextSource = (customerId: string, segments: readonly string[]) => Promise<CustomerContext>;

const segmentsNamed = new WeakMap<CompiledRules, { conditions: boolean; segments: string[] }>();

/** Whether the rules have conditions beyond the legacy minimum, and the segments they name (remembered per compiled rules). */
function conditionsOf(compiled: CompiledRules, rules: EffectiveRules): { conditions: boolean; segments: string[] } {
  let known = segmentsNamed.get(compiled);
  if (!known) {
    const conditions = rules.conditions ?? [];
    known = {
      conditions: conditions.length > 0,
      segments: [...new Set(conditions.flatMap((check) => referencedSegments(check.when).map((ref) => ref.name)))],
    };
    segmentsNamed.set(compiled, known);
  }
  return known;
}

/** The rules of a code that passed today's checks, compiled once per distinct rules (keyed by the rows' versions). */
function compiledRulesOf(candidate: Candidate, rules: EffectiveRules): CompiledRules {
  return compileCheckoutRules(
    { order: rules.order, conditions: rules.conditions, discount: rules.discount, stacking: rules.stacking },
    rulesKey(candidate),
  );
}

/**
 * Decides the codes. `found[i]` is the candidate of `input.codes[i]`. Throws 422 currency_mismatch when an order
 * in another currency meets a code's minimum or discount, as for a single code.
 */
export async function evaluateCheckout(
  input: CheckoutInput,
  found: readonly FoundCode[],
  customers: CustomerContextSource,
): Promise<CheckoutEvaluation> {
  const customerId = input.customer?.id;
  const codes: CodeEvaluation[] = [];
  const decisions: (CodeDecision | null)[] = [];
  const compiled: (CompiledRules | null)[] = [];
  const segments = new Set<string>();
  let needsCustomer = false;
  input.codes.forEach((code, i) => {
    const { candidate, counts } = found[i] as FoundCode;
    if (!candidate) {
      codes.push({ code, candidate: null, rules: null, guess: true });
      decisions.push({ code, refusal: { reason: 'not_found' } });
      compiled.push(null);
      return;
    }
    const rules = effectiveRules(candidate);
    // Held by someone else: indistinguishable from a code that does not exist, and counted as a guess.
    const guess = heldByAnother(candidate, rules, customerId);
    codes.push({ code, candidate, rules, guess });
    // The legacy minimum runs as the first of the compiled checks (same reason, same place in the order of checks).
    const reason = guess
      ? 'not_found'
      : refusalReason(candidate, rules.order ? { ...rules, order: null } : rules, {
          customerId,
          now: input.now,
          customerCodeCount: counts.code,
          customerCampaignCount: counts.campaign,
        });
    if (reason) {
      decisions.push({ code, refusal: { reason } });
      compiled.push(null);
      return;
    }
    const compiledRules = compiledRulesOf(candidate, rules);
    const needs = conditionsOf(compiledRules, rules);
    if (needs.conditions) needsCustomer = true;
    for (const name of needs.segments) segments.add(name);
    decisions.push(null);
    compiled.push(compiledRules);
  });

  const customer = input.customer && needsCustomer ? await customers(input.customer.id, [...segments].sort()) : null;
  const shopper = overlayCustomer(input.customer, customer);
  const membership = customer && shopper ? customer.segments.membership(shopper) : null;
  const final = decisions.map((decision, i): CodeDecision => {
    if (decision) return decision;
    const evaluation = codes[i] as CodeEvaluation;
    const candidate = evaluation.candidate as Candidate;
    const ctx = evaluationContext({
      order: input.order,
      customer: shopper,
      redemptionMetadata: input.metadata,
      customerRedemptionsInCampaign: (found[i] as FoundCode).counts.campaign,
      now: input.now,
      timeZone: candidate.timezone,
      segments: membership,
    });
    return decideCode(evaluation.code, compiled[i] as CompiledRules, ctx);
  });
  return { answer: combineCodes(final, input.order), codes };
}
