import { CandidateLookup } from '../../redemptions/lookup.ts';
import { validateCode, validationView } from '../../redemptions/redemptions.ts';
import { validationRequestSchema } from '../../redemptions/schemas.ts';
import type { RouteModule } from '../context.ts';
import { withGuessingDefence } from '../guessing.ts';
import { parse } from '../validate.ts';

export const validationRoutes: RouteModule = (router, { platform }) => {
  const candidates = new CandidateLookup(platform.db);
  router.post('/validations', async (req, res) => {
    const input = parse(validationRequestSchema, req.body);
    const outcome = await withGuessingDefence(
      platform,
      req,
      res,
      input.customer?.id,
      () => validateCode(candidates, input, platform.clock.now()),
      (o) => (o.valid ? { guess: false } : { guess: o.guess, campaignId: o.candidate?.campaign_id }),
      { readOnly: true },
    );
    res.json(validationView(outcome));
  });
};
