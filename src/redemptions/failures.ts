import { z } from 'zod';
import { type Queryable, seqPage } from '../db/sql.ts';
import { CHECKOUT_REASONS, failedRuleSchema } from '../rules/checkout.ts';
import { idSchema, timestampSchema } from '../shared/fields.ts';
import type { CheckoutEvaluation, CheckoutInput, CodeEvaluation } from './checkout.ts';

/**
 * Refused redemptions and reservations are kept, code by code, in `failed_redemptions` (this module is its one
 * writer), with the reason, the failed rule, the customer, the order id and the API key, written in the refusal's
 * own transaction. Guesses (an unknown code, or one held by someone else) are not rows: the guessing defence counts
 * them per campaign (src/stats/guesses.ts; no campaign for a code that exists nowhere), and the guessed string is
 * never stored. That also keeps a refused guess free of writes, so an unknown code and someone else's code cost the
 * same (test/integration/redemption-refusal-work.test.ts).
 */

export const failedRedemptionViewSchema = z
  .object({
    id: idSchema,
    status: z.literal('failed'),
    kind: z.enum(['redemption', 'reservation']),
    code: z.string(),
    campaign_id: idSchema,
    reason: z.enum(CHECKOUT_REASONS),
    rule: failedRuleSchema.nullable(),
    customer_id: z.string().nullable(),
    order_id: z.string().nullable(),
    api_key_id: idSchema.nullable(),
    created_at: timestampSchema,
  })
  .meta({ id: 'FailedRedemption' });

export type FailedRedemptionView = z.output<typeof failedRedemptionViewSchema>;

interface FailedRow extends Omit<FailedRedemptionView, 'status' | 'created_at'> {
  seq: string;
  created_at: Date | string;
}

/** Keeps every refused code of a decided checkout (one statement; nothing when every code passed). */
export async function recordFailures(
  tx: Queryable,
  evaluation: CheckoutEvaluation,
  input: CheckoutInput,
  kind: 'redemption' | 'reservation',
  apiKeyId: string | null,
): Promise<void> {
  const rows = evaluation.answer.codes.flatMap((result, i) => {
    const evaluated = evaluation.codes[i] as CodeEvaluation;
    if (result.valid || evaluated.guess || !evaluated.candidate) return [];
    return [{ code: result.code, campaign_id: evaluated.candidate.campaign_id, reason: result.reason, rule: result.rule ?? null }];
  });
  if (rows.length === 0) return;
  await tx.query(
    `insert into failed_redemptions (kind, code, campaign_id, reason, rule, customer_id, order_id, api_key_id, created_at)
     select $1, r.code, r.campaign_id, r.reason, r.rule, $2, $3, $4, $5
     from jsonb_to_recordset($6::jsonb) as r(code text, campaign_id uuid, reason text, rule jsonb)`,
    [kind, input.customer?.id ?? null, input.order?.id ?? null, apiKeyId, input.now, JSON.stringify(rows)],
  );
}

function failedView(r: FailedRow): FailedRedemptionView {
  return {
    id: r.id,
    status: 'failed',
    kind: r.kind,
    code: r.code,
    campaign_id: r.campaign_id,
    reason: r.reason,
    rule: r.rule,
    customer_id: r.customer_id,
    order_id: r.order_id,
    api_key_id: r.api_key_id,
    created_at: new Date(r.created_at).toISOString(),
  };
}

/** Newest first, keyset-paginated on the insertion sequence, by campaign, reason, customer and code. */
export async function listFailedRedemptions(
  db: Queryable,
  filter: { campaign_id?: string; reason?: string; customer_id?: string; code?: string; limit: number; cursor?: readonly [string] },
): Promise<{ data: FailedRedemptionView[]; next_cursor: string | null }> {
  const page = await seqPage<FailedRow>(
    db,
    'failed_redemptions',
    [
      ['campaign_id = $?', filter.campaign_id],
      ['reason = $?', filter.reason],
      ['customer_id = $?', filter.customer_id],
      ['code = $?', filter.code],
    ],
    filter,
  );
  return { data: page.data.map(failedView), next_cursor: page.next_cursor };
}
