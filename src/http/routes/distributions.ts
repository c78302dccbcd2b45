import type { Readable } from 'node:stream';
import { createDistribution, createDistributionFromCsv, getDistribution } from '../../distributions/distributions.ts';
import { createDistributionSchema, csvDistributionQuerySchema, distributionViewSchema } from '../../distributions/schemas.ts';
import { routeModule } from '../context.ts';
import { idempotencyKey, parse } from '../validate.ts';

const csv = { schema: { type: 'string' }, example: 'email,name\nada@example.com,Ada\n' };

export const distributionRoutes = routeModule({ tag: 'publication' }, (api, { platform }) => {
  api.resource('/campaigns/:id', 'campaign').post(
    '/distributions',
    {
      idempotent: true,
      summary: 'Send codes to many recipients (JSON list, or a streamed CSV)',
      description:
        'JSON with up to 10,000 inline recipients, or `Content-Type: text/csv` streamed with `channel` and `template_id` in the query string.',
      body: createDistributionSchema,
      bodyExample: {
        channel: 'email',
        template_id: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
        recipients: [{ customer_id: 'cust_42', email: 'ada@example.com', name: 'Ada' }],
      },
      otherBodies: { 'text/csv': csv, 'application/csv': csv },
      query: csvDistributionQuerySchema.partial(),
      errors: { 400: ['csv_invalid'], 404: ['template_not_found'], 422: ['campaign_inactive'] },
      accepted: ['Accepted', distributionViewSchema, ['Location', 'Idempotent-Replayed']],
    },
    async ({ req, params, body }) => {
      const key = idempotencyKey(req);
      let result: Awaited<ReturnType<typeof createDistribution>>;
      if (body === undefined) {
        const q = parse(csvDistributionQuerySchema, req.query);
        result = await createDistributionFromCsv(
          platform,
          { campaignId: params.id, channel: q.channel, templateId: q.template_id, idempotencyKey: key },
          req as unknown as Readable,
        );
      } else {
        result = await createDistribution(
          platform,
          { campaignId: params.id, channel: body.channel, templateId: body.template_id, idempotencyKey: key },
          body.recipients,
        );
      }
      return {
        status: 202,
        headers: { Location: `/v1/distributions/${result.distribution.id}`, 'Idempotent-Replayed': String(!result.created) },
        body: await getDistribution(platform, result.distribution.id),
      };
    },
  );

  api
    .resource('/distributions/:id', 'distribution')
    .read({ summary: 'Distribution progress', ok: ['The distribution', distributionViewSchema] }, ({ id }) =>
      getDistribution(platform, id),
    );
});
