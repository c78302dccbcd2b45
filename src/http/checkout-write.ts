import type { Request, Response } from 'express';
import type { Platform } from '../platform.ts';
import type { RedeemContext } from '../redemptions/redemptions.ts';
import type { RedemptionRefusal } from '../redemptions/schemas.ts';
import { CHECKOUT_REASONS } from '../rules/checkout.ts';
import { GUESSING_ERRORS, withGuessingDefence } from './guessing.ts';
import { problem, sendProblem } from './problem.ts';
import { idempotencyKey } from './validate.ts';

/**
 * What every checkout write's operation declares alike: it takes an Idempotency-Key, and refuses a code exactly as
 * the one checkout refuses it (the same guessing defence, the same reasons).
 */
export const CHECKOUT_WRITE_SPEC = {
  idempotent: true,
  bodyExample: { code: 'SPRING-7KQ2-M9XD', customer: { id: 'cust_42' }, order: { id: 'order-1001', amount: 5000, currency: 'EUR' } },
  errors: {
    ...GUESSING_ERRORS,
    400: ['order_amount_mismatch'],
    422: [...CHECKOUT_REASONS, 'currency_mismatch', 'idempotency_key_reused'],
  },
} as const;

/** What a checkout write (a redemption, a reservation) answered: created, or refused with the reason. */
interface CheckoutWriteResult {
  response: { status: 201; body: { id: string } } | { status: 422; body: RedemptionRefusal };
  replayed: boolean;
  guesses: readonly (string | null)[];
}

type Created<R extends CheckoutWriteResult> = Extract<R['response'], { status: 201 }>['body'];

/**
 * Runs a checkout write under the guessing defence with the request's Idempotency-Key: 201 with its Location, or
 * the refusal as a 422 problem whose `code` is the reason (written here; the handler then answers nothing).
 */
export async function checkoutWrite<R extends CheckoutWriteResult>(
  platform: Platform,
  req: Request,
  res: Response,
  customerId: string | undefined,
  location: string,
  write: (ctx: RedeemContext) => Promise<R>,
): Promise<{ status: 201; headers: Record<string, string>; body: Created<R> } | undefined> {
  const key = idempotencyKey(req);
  const apiKeyId = req.apiKey?.id as string;
  const ctx: RedeemContext = {
    actor: apiKeyId,
    apiKeyId,
    idempotencyKey: key,
    idempotencyTtlSeconds: platform.config.IDEMPOTENCY_KEY_TTL_SECONDS,
    now: platform.clock.now(),
    emailTagDomains: platform.config.EMAIL_TAG_DOMAINS,
  };
  const result = await withGuessingDefence(
    platform,
    req,
    res,
    customerId,
    () => write(ctx),
    (r) => ({ guesses: r.guesses }),
  );
  if (key) res.set('Idempotent-Replayed', String(result.replayed));
  const { response } = result;
  if (response.status === 201) {
    return { status: 201, headers: { Location: `${location}/${response.body.id}` }, body: response.body as Created<R> };
  }
  const { reason, detail, ...more } = response.body;
  sendProblem(res, problem(422, reason, detail, { reason, ...more }));
  return undefined;
}
