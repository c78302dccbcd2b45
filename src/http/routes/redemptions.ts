import { getRedemption, listRedemptions, redeemVoucher, rollbackRedemption } from '../../redemptions/redemptions.ts';
import { listRedemptionsQuery, redemptionRequestSchema, rollbackRequestSchema } from '../../redemptions/schemas.ts';
import type { RouteModule } from '../context.ts';
import { withGuessingDefence } from '../guessing.ts';
import { problem, sendProblem } from '../problem.ts';
import { idempotencyKey, parse } from '../validate.ts';

export const redemptionRoutes: RouteModule = (router, { platform }) => {
  router.post('/redemptions', async (req, res) => {
    const input = parse(redemptionRequestSchema, req.body);
    const key = idempotencyKey(req);
    const apiKeyId = req.apiKey?.id as string;
    const result = await withGuessingDefence(
      platform,
      req,
      res,
      input.customer?.id,
      () =>
        redeemVoucher(platform.db, input, {
          actor: apiKeyId,
          apiKeyId,
          idempotencyKey: key,
          idempotencyTtlSeconds: platform.config.IDEMPOTENCY_KEY_TTL_SECONDS,
          now: platform.clock.now(),
        }),
      (r) => ({ guess: r.guess, campaignId: r.campaignId }),
    );
    if (key) res.set('Idempotent-Replayed', String(result.replayed));
    const { response } = result;
    if (response.status === 201) {
      res.status(201).location(`/v1/redemptions/${response.body.id}`).json(response.body);
      return;
    }
    sendProblem(res, problem(422, response.body.reason, response.body.detail, { reason: response.body.reason }));
  });

  router.get('/redemptions', async (req, res) => {
    res.json(await listRedemptions(platform.db, parse(listRedemptionsQuery, req.query)));
  });

  router.get('/redemptions/:id', async (req, res) => {
    res.json(await getRedemption(platform.db, req.params.id));
  });

  router.post('/redemptions/:id/rollback', async (req, res) => {
    const { reason } = parse(rollbackRequestSchema, req.body);
    res.json(await rollbackRedemption(platform.db, req.params.id, reason, req.apiKey?.id ?? null, platform.clock.now()));
  });
};
