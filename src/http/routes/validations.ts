import { CandidateLookup } from '../../redemptions/lookup.ts';
import { validateCode, validationView } from '../../redemptions/redemptions.ts';
import { validationRequestSchema } from '../../redemptions/schemas.ts';
import { REFUSAL_REASONS } from '../../rules/index.ts';
import { validationViewSchema } from '../../vouchers/schemas.ts';
import type { RouteModule } from '../context.ts';
import { GUESSING_ERRORS, withGuessingDefence } from '../guessing.ts';
import { route } from '../operation.ts';

export const validationRoutes: RouteModule = (routes, { platform }) => {
  const candidates = new CandidateLookup(platform.db);
  route(
    routes,
    {
      method: 'post',
      path: '/validations',
      tag: 'redemption',
      summary: 'Check a code against its rules without redeeming it',
      description: `An invalid code answers 200 with \`valid: false\` and a \`reason\`: one of ${REFUSAL_REASONS.map((r) => `\`${r}\``).join(', ')}.`,
      body: validationRequestSchema,
      bodyExample: { code: 'SPRING-7KQ2-M9XD', customer: { id: 'cust_42' }, order: { amount: 5000, currency: 'EUR' } },
      errors: { ...GUESSING_ERRORS, 422: ['currency_mismatch'] },
      responses: { 200: { description: 'Valid, or not with a reason', schema: validationViewSchema } },
    },
    async ({ req, res, body }) => {
      const outcome = await withGuessingDefence(
        platform,
        req,
        res,
        body.customer?.id,
        () => validateCode(candidates, body, platform.clock.now()),
        (o) => (o.valid ? { guess: false } : { guess: o.guess, campaignId: o.candidate?.campaign_id }),
        { readOnly: true },
      );
      return { status: 200, body: validationView(outcome) };
    },
  );
};
