import type { Readable } from 'node:stream';
import { createDistribution, createDistributionFromCsv, getDistribution } from '../../distributions/distributions.ts';
import { createDistributionSchema, csvDistributionQuerySchema } from '../../distributions/schemas.ts';
import type { RouteModule } from '../context.ts';
import { idempotencyKey, parse } from '../validate.ts';

export const distributionRoutes: RouteModule = (router, { platform }) => {
  /** JSON with inline recipients (≤ 10,000), or `Content-Type: text/csv` streamed with ?channel=&template_id=. */
  router.post('/campaigns/:id/distributions', async (req, res) => {
    const key = idempotencyKey(req);
    let result: Awaited<ReturnType<typeof createDistribution>>;
    if (req.is('text/csv') || req.is('application/csv')) {
      const q = parse(csvDistributionQuerySchema, req.query);
      result = await createDistributionFromCsv(
        platform,
        { campaignId: req.params.id, channel: q.channel, templateId: q.template_id, idempotencyKey: key },
        req as unknown as Readable,
      );
    } else {
      const input = parse(createDistributionSchema, req.body);
      result = await createDistribution(
        platform,
        { campaignId: req.params.id, channel: input.channel, templateId: input.template_id, idempotencyKey: key },
        input.recipients,
      );
    }
    res
      .status(202)
      .location(`/v1/distributions/${result.distribution.id}`)
      .set('Idempotent-Replayed', String(!result.created))
      .json(await getDistribution(platform, result.distribution.id));
  });

  router.get('/distributions/:id', async (req, res) => {
    res.json(await getDistribution(platform, req.params.id));
  });
};
