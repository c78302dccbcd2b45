import { z } from 'zod';
import { campaignView, createCampaign, getCampaign, listCampaigns, updateCampaign } from '../../campaigns/campaigns.ts';
import { createCampaignSchema, updateCampaignSchema } from '../../campaigns/schemas.ts';
import { generationView, requestGeneration } from '../../generations/generations.ts';
import { createGenerationSchema } from '../../generations/schemas.ts';
import { ValidationError } from '../../shared/errors.ts';
import { listCampaignVouchers, voucherView } from '../../vouchers/vouchers.ts';
import type { RouteModule } from '../context.ts';
import { idempotencyKey, parse } from '../validate.ts';

/** Cursor paging for campaign listings (also read by the OpenAPI document). */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(200).optional(),
});

export const campaignRoutes: RouteModule = (router, { platform }) => {
  router.post('/campaigns', async (req, res) => {
    const input = parse(createCampaignSchema, req.body);
    const campaign = await createCampaign(platform.db, input);
    res.status(201).location(`/v1/campaigns/${campaign.id}`).json(campaignView(campaign));
  });

  router.get('/campaigns', async (req, res) => {
    const { limit, cursor } = parse(pageQuery, req.query);
    const campaigns = await listCampaigns(platform.db, limit, cursor);
    const last = campaigns.at(-1);
    res.json({ data: campaigns.map(campaignView), next_cursor: campaigns.length === limit && last ? last.created_at.toISOString() : null });
  });

  router.get('/campaigns/:id', async (req, res) => {
    res.json(campaignView(await getCampaign(platform.db, req.params.id)));
  });

  router.patch('/campaigns/:id', async (req, res) => {
    const patch = parse(updateCampaignSchema, req.body);
    res.json(campaignView(await updateCampaign(platform.db, req.params.id, patch)));
  });

  router.post('/campaigns/:id/generations', async (req, res) => {
    const { count } = parse(createGenerationSchema, req.body);
    if (count > platform.config.GENERATION_MAX_COUNT) {
      throw new ValidationError([{ field: 'count', message: `at most ${platform.config.GENERATION_MAX_COUNT} codes per generation` }]);
    }
    const { generation, created, enqueued } = await requestGeneration(platform.db, platform.queues, {
      campaignId: req.params.id,
      count,
      idempotencyKey: idempotencyKey(req),
      chunkSize: platform.config.GENERATION_CHUNK_SIZE,
    });
    if (!enqueued)
      platform.logger.warn({ generationId: generation.id }, 'generation recorded but not enqueued; the recovery job will enqueue it');
    res
      .status(202)
      .location(`/v1/generations/${generation.id}`)
      .set('Idempotent-Replayed', String(!created))
      .json(generationView(generation));
  });

  router.get('/campaigns/:id/vouchers', async (req, res) => {
    const { limit, cursor } = parse(pageQuery, req.query);
    const campaign = await getCampaign(platform.db, req.params.id);
    const page = await listCampaignVouchers(platform.db, campaign.id, limit, cursor);
    res.json({ data: page.data.map(voucherView), next_cursor: page.nextCursor });
  });
};
