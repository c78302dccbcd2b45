import type { CheckoutEvaluation, FoundCode } from '../redemptions/checkout.ts';

/**
 * What a validation makes of codes held by open reservations. A held use is counted like a redemption (so a
 * redemption or reservation by anyone is refused as the limit demands); a validation tells the shopper more: by
 * the customer who holds it, the code is valid (their hold is not counted against them) with its `reservation_id`;
 * by anyone else, a code that only the holds keep from being usable is `reserved`.
 */

export interface Hold {
  reservation_id: string;
  customer_id: string | null;
}

interface HoldsSeen {
  ownReservation: string | null;
  others: number;
}

/** Credits the customer's own holds back to their found codes (copies; the candidates are left alone). */
export function creditOwnHolds(found: FoundCode[], customerId: string | undefined): HoldsSeen[] {
  return found.map((f, i) => {
    const holds = (f.candidate as { holds?: Hold[] | null } | null)?.holds ?? [];
    if (!f.candidate || holds.length === 0) return { ownReservation: null, others: 0 };
    const own = customerId ? holds.filter((h) => h.customer_id === customerId) : [];
    if (own.length > 0) {
      found[i] = {
        candidate: { ...f.candidate, redemption_count: f.candidate.redemption_count - own.length },
        counts: { code: Math.max(0, f.counts.code - own.length), campaign: Math.max(0, f.counts.campaign - own.length) },
      };
    }
    return { ownReservation: own[0]?.reservation_id ?? null, others: holds.length - own.length };
  });
}

/** Marks the answer: the own reservation on a valid code, `reserved` where others' holds alone use the code up. */
export function markHolds(evaluation: CheckoutEvaluation, seen: readonly HoldsSeen[]): void {
  evaluation.answer.codes.forEach((result, i) => {
    const held = seen[i];
    if (!held) return;
    if (result.valid && held.ownReservation) result.reservation_id = held.ownReservation;
    const { candidate, rules } = evaluation.codes[i] ?? {};
    const limit = rules?.perCodeLimit ?? null;
    if (!result.valid && result.reason === 'quantity_exceeded' && held.others > 0 && candidate && limit !== null) {
      if (candidate.redemption_count - held.others < limit) result.reason = 'reserved';
    }
  });
}
