import { deliveryOfPublication, deliveryView, getDelivery } from '../../delivery/deliveries.ts';
import { deliveryViewSchema } from '../../delivery/schemas.ts';
import { campaignForPublishing, getPublication, publicationView, setPublishingSettings } from '../../publications/publications.ts';
import { publishToCustomer } from '../../publications/publish.ts';
import {
  createPublicationSchema,
  publicationViewSchema,
  publishingSettingsSchema,
  publishingSettingsViewSchema,
} from '../../publications/schemas.ts';
import { routeModule } from '../context.ts';

export const publicationRoutes = routeModule({ tag: 'publication' }, (api, { platform }) => {
  api.post(
    '/publications',
    {
      summary: 'Give a customer a code (and send it by e-mail or SMS)',
      body: createPublicationSchema,
      bodyExample: {
        campaign_id: '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11',
        customer: { id: 'cust_42', email: 'ada@example.com', name: 'Ada' },
        source_id: 'signup-42',
        channel: 'email',
        template_id: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
      },
      errors: {
        400: ['invalid_phone_number'],
        404: ['campaign_not_found', 'template_not_found'],
        422: ['campaign_inactive', 'campaign_exhausted'],
      },
      responses: {
        201: { description: 'Published', schema: publicationViewSchema, headers: ['Location', 'Idempotent-Replayed'] },
        200: {
          description: 'Already published to this customer (same source_id, or join_once)',
          schema: publicationViewSchema,
          headers: ['Location', 'Idempotent-Replayed'],
        },
      },
    },
    async ({ req, body }) => {
      const result = await publishToCustomer(platform, body, req.apiKey?.id ?? null);
      return {
        status: result.created ? 201 : 200,
        headers: { Location: `/v1/publications/${result.publication.id}`, 'Idempotent-Replayed': String(!result.created) },
        body: publicationView(result.publication, result.delivery),
      };
    },
  );

  api
    .resource('/publications/:id', 'publication')
    .read({ summary: 'Get a publication', ok: ['The publication', publicationViewSchema] }, async ({ id }) => {
      const p = await getPublication(platform.db, id);
      return publicationView(p, await deliveryOfPublication(platform.db, p.id));
    });

  const publishing = api.resource('/campaigns/:id', 'campaign').resource('/publishing', {});
  publishing.read({ summary: "A campaign's publishing settings", ok: ['Settings', publishingSettingsViewSchema] }, async ({ id }) => {
    const c = await campaignForPublishing(platform.db, id);
    return { campaign_id: c.id, ...c.settings };
  });

  publishing.put(
    {
      summary: "Set a campaign's publishing settings",
      body: publishingSettingsSchema,
      bodyExample: { join_once: true },
      ok: ['Settings', publishingSettingsViewSchema],
    },
    async ({ params, body }) => ({
      status: 200,
      body: { campaign_id: params.id, ...(await setPublishingSettings(platform.db, params.id, body)) },
    }),
  );

  api
    .resource('/deliveries/:id', 'delivery')
    .read({ summary: 'E-mail/SMS delivery status', ok: ['The delivery', deliveryViewSchema] }, async ({ id }) =>
      deliveryView(await getDelivery(platform.db, id)),
    );
});
