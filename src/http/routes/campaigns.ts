import { campaignView, createCampaign, getCampaign, listCampaigns, updateCampaign } from '../../campaigns/campaigns.ts';
import {
  campaignViewSchema,
  campaignVouchersQuery,
  createCampaignSchema,
  listCampaignsQuery,
  updateCampaignSchema,
} from '../../campaigns/schemas.ts';
import { generationView, requestGeneration } from '../../generations/generations.ts';
import { createGenerationSchema, generationViewSchema } from '../../generations/schemas.ts';
import { ValidationError } from '../../shared/errors.ts';
import { pageSchema } from '../../shared/paging.ts';
import { voucherViewSchema } from '../../vouchers/schemas.ts';
import { listCampaignVouchers } from '../../vouchers/vouchers.ts';
import { routeModule } from '../context.ts';
import { idempotencyKey } from '../validate.ts';

export const campaignRoutes = routeModule({ tag: 'campaigns' }, (api, { platform }) => {
  api.post(
    '/campaigns',
    {
      summary: 'Create a campaign',
      body: createCampaignSchema,
      bodyExample: { name: 'Spring sale', code_config: { pattern: 'SPRING-####-####' }, metadata: { channel: 'newsletter' } },
      errors: { 409: ['campaign_name_taken'] },
      created: ['Created', campaignViewSchema, ['Location']],
    },
    async ({ body }) => {
      const campaign = await createCampaign(platform.db, body);
      return { status: 201, headers: { Location: `/v1/campaigns/${campaign.id}` }, body: campaignView(campaign) };
    },
  );

  api.get(
    '/campaigns',
    { summary: 'List campaigns, newest first', query: listCampaignsQuery, ok: ['Campaigns', pageSchema(campaignViewSchema)] },
    async ({ query }) => ({ status: 200, body: await listCampaigns(platform.db, query.limit, query.cursor) }),
  );

  const aCampaign = api.resource('/campaigns/:id', 'campaign');
  aCampaign.read({ summary: 'Get a campaign', ok: ['The campaign', campaignViewSchema] }, async ({ id }) =>
    campaignView(await getCampaign(platform.db, id)),
  );

  aCampaign.patch(
    {
      summary: 'Update a campaign (dates, rules, active, metadata)',
      body: updateCampaignSchema,
      bodyExample: { active: false },
      errors: { 409: ['campaign_name_taken'] },
      ok: ['Updated', campaignViewSchema],
    },
    async ({ params, body }) => ({ status: 200, body: campaignView(await updateCampaign(platform.db, params.id, body)) }),
  );

  aCampaign.post(
    '/generations',
    {
      tag: 'generation',
      idempotent: true,
      summary: 'Generate codes (asynchronous; follow with GET /v1/generations/{id})',
      body: createGenerationSchema,
      bodyExample: { count: 1000000 },
      errors: { 422: ['code_space_exhausted', 'code_space_too_small'] },
      responses: {
        202: { description: 'Accepted', schema: generationViewSchema, headers: ['Location', 'Idempotent-Replayed'] },
      },
    },
    async ({ req, params, body }) => {
      if (body.count > platform.config.GENERATION_MAX_COUNT) {
        throw new ValidationError([{ field: 'count', message: `at most ${platform.config.GENERATION_MAX_COUNT} codes per generation` }]);
      }
      const { generation, created, enqueued } = await requestGeneration(platform.db, platform.queues, {
        campaignId: params.id,
        count: body.count,
        idempotencyKey: idempotencyKey(req),
        chunkSize: platform.config.GENERATION_CHUNK_SIZE,
      });
      if (!enqueued) {
        platform.logger.warn({ generationId: generation.id }, 'generation recorded but not enqueued; the reconciler will enqueue it');
      }
      return {
        status: 202,
        headers: { Location: `/v1/generations/${generation.id}`, 'Idempotent-Replayed': String(!created) },
        body: generationView(generation),
      };
    },
  );

  aCampaign.get(
    '/vouchers',
    {
      tag: 'vouchers',
      summary: "A campaign's codes, in the order they were made",
      query: campaignVouchersQuery,
      ok: ['Codes', pageSchema(voucherViewSchema)],
    },
    async ({ params, query }) => {
      const campaign = await getCampaign(platform.db, params.id);
      return { status: 200, body: await listCampaignVouchers(platform.db, campaign.id, query.limit, query.cursor) };
    },
  );
});
