import { z } from 'zod';
import { SegmentCache } from '../../customers/checkout-context.ts';
import { CandidateLookup } from '../../redemptions/lookup.ts';
import { guessesOf, validateCodes, validationView } from '../../redemptions/redemptions.ts';
import { validationRequestSchema } from '../../redemptions/schemas.ts';
import { CHECKOUT_REASONS, checkoutAnswerSchema } from '../../rules/checkout.ts';
import { validationViewSchema } from '../../vouchers/schemas.ts';
import { routeModule } from '../context.ts';
import { GUESSING_ERRORS, withGuessingDefence } from '../guessing.ts';

export const validationRoutes = routeModule({ tag: 'redemption' }, (api, { platform }) => {
  const lookups = { candidates: new CandidateLookup(platform.db), segments: new SegmentCache(platform.db) };
  api.post(
    '/validations',
    {
      summary: 'Check one code, or up to 5 codes for one order, against their rules without redeeming',
      description:
        'With `code`, the single-code answer (`Validation`); with `codes` (1 to 5), the checkout answer (`Checkout`): each ' +
        "code's result and the whole order priced line by line. An invalid code answers 200 with `valid: false` and a " +
        `\`reason\`: one of ${CHECKOUT_REASONS.map((r) => `\`${r}\``).join(', ')}; \`rule_not_met\` comes with the failed ` +
        '`rule: {name, message}`. See docs/rules.md.',
      body: validationRequestSchema,
      bodyExample: {
        codes: ['WELCOME10', 'SHIPFREE'],
        customer: { id: 'cust_42' },
        order: { id: 'order-1001', currency: 'EUR', items: [{ sku: 'DRESS', categories: ['dresses'], quantity: 1, price: 7900 }] },
      },
      errors: { ...GUESSING_ERRORS, 400: ['order_amount_mismatch'], 422: ['currency_mismatch'] },
      ok: ['Valid, or not with a reason', z.union([validationViewSchema, checkoutAnswerSchema])],
    },
    async ({ req, res, body }) => {
      const outcome = await withGuessingDefence(
        platform,
        req,
        res,
        body.customer?.id,
        () => validateCodes(lookups, body, platform.clock.now(), platform.config.EMAIL_TAG_DOMAINS),
        (o) => ({ guesses: guessesOf(o.evaluation.codes) }),
        { readOnly: true },
      );
      return { status: 200, body: validationView(outcome) };
    },
  );
});
