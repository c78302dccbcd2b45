import { listSchema, pageSchema } from '../../shared/paging.ts';
import { getDelivery, listDeliveries, retryDelivery } from '../../webhooks/deliveries.ts';
import {
  createEndpoint,
  deleteEndpoint,
  endpointView,
  getEndpoint,
  listEndpoints,
  rotateSecret,
  updateEndpoint,
} from '../../webhooks/endpoints.ts';
import { requestReplay } from '../../webhooks/replay.ts';
import {
  createWebhookSchema,
  deliveryPageQuerySchema,
  endpointViewSchema,
  endpointWithSecretViewSchema,
  replayAcceptedSchema,
  replayWebhookSchema,
  updateWebhookSchema,
  webhookDeliveryViewSchema,
} from '../../webhooks/schemas.ts';
import { secretEncryptionKey } from '../../webhooks/secrets.ts';
import { routeModule } from '../context.ts';

const urlRefusals = { 422: ['webhook_url_invalid', 'webhook_url_insecure', 'webhook_url_private_address'] };

/** Webhook endpoints and their deliveries. Secrets appear in a response only when created or rotated. */
export const webhookRoutes = routeModule({ tag: 'webhooks' }, (api, { platform }) => {
  // Fails at startup, not at the first registration, when production has no WEBHOOK_SECRET_ENCRYPTION_KEY.
  secretEncryptionKey(platform.config);
  const now = () => platform.clock.now();

  api.post(
    '/webhooks',
    {
      summary: 'Register a webhook endpoint (the signing secret is returned once)',
      description: 'See the `webhooks` section of this document for every event type and its payload.',
      body: createWebhookSchema,
      bodyExample: {
        url: 'https://crm.example.com/hooks/promo',
        events: ['voucher.published', 'voucher.redemption.*'],
        description: 'crm',
      },
      errors: { 400: ['unknown_event_type'], ...urlRefusals },
      created: ['Created', endpointWithSecretViewSchema, ['Location']],
    },
    async ({ req, body }) => {
      const { endpoint, secret } = await createEndpoint(platform, body);
      platform.logger.info({ webhookId: endpoint.id, actor: req.apiKey?.id }, 'webhook endpoint created');
      return { status: 201, headers: { Location: `/v1/webhooks/${endpoint.id}` }, body: { ...endpointView(endpoint, now()), secret } };
    },
  );

  api.get(
    '/webhooks',
    { summary: 'List webhook endpoints', ok: ['Endpoints, oldest first', listSchema(endpointViewSchema)] },
    async () => ({ status: 200, body: { data: (await listEndpoints(platform)).map((e) => endpointView(e, now())) } }),
  );

  const anEndpoint = api.resource('/webhooks/:id', 'webhook');
  anEndpoint.read({ summary: 'Get a webhook endpoint', ok: ['The endpoint', endpointViewSchema] }, async ({ id }) =>
    endpointView(await getEndpoint(platform, id), now()),
  );

  anEndpoint.patch(
    {
      summary: 'Update a webhook endpoint (enabling clears its failure state)',
      body: updateWebhookSchema,
      bodyExample: { enabled: true },
      errors: { 400: ['unknown_event_type'], ...urlRefusals },
      ok: ['Updated', endpointViewSchema],
    },
    async ({ req, params, body }) => {
      const endpoint = await updateEndpoint(platform, params.id, body);
      platform.logger.info({ webhookId: endpoint.id, actor: req.apiKey?.id, fields: Object.keys(body) }, 'webhook endpoint updated');
      return { status: 200, body: endpointView(endpoint, now()) };
    },
  );

  anEndpoint.delete({ summary: 'Delete a webhook endpoint (and its deliveries)', noContent: 'Deleted' }, async ({ req, params }) => {
    await deleteEndpoint(platform, params.id);
    platform.logger.info({ webhookId: params.id, actor: req.apiKey?.id }, 'webhook endpoint deleted');
    return { status: 204 };
  });

  anEndpoint.post(
    '/rotate-secret',
    {
      summary: 'Rotate the signing secret (returned once; the old one keeps signing for 24 hours)',
      ok: ['The endpoint with its new secret', endpointWithSecretViewSchema],
    },
    async ({ req, params }) => {
      const { endpoint, secret } = await rotateSecret(platform, params.id);
      platform.logger.info({ webhookId: endpoint.id, actor: req.apiKey?.id }, 'webhook secret rotated');
      return { status: 200, body: { ...endpointView(endpoint, now()), secret } };
    },
  );

  anEndpoint.get(
    '/deliveries',
    {
      summary: "An endpoint's deliveries, newest first, each with its attempts",
      query: deliveryPageQuerySchema,
      ok: ['Deliveries', pageSchema(webhookDeliveryViewSchema)],
    },
    async ({ params, query }) => {
      await getEndpoint(platform, params.id);
      const page = await listDeliveries(platform, params.id, {
        limit: query.limit,
        cursor: query.cursor,
        status: query.status,
        eventType: query.event_type,
      });
      return { status: 200, body: page };
    },
  );

  anEndpoint.post(
    '/replay',
    {
      summary: 'Re-deliver every subscribed event since a point in time (runs as a job)',
      body: replayWebhookSchema,
      bodyExample: { since: '2026-03-01T00:00:00Z' },
      errors: { 409: ['webhook_endpoint_disabled'] },
      accepted: ['Accepted', replayAcceptedSchema],
    },
    async ({ req, params, body }) => {
      const replay = await requestReplay(platform, params.id, new Date(body.since));
      platform.logger.info({ webhookId: params.id, actor: req.apiKey?.id, since: body.since }, 'webhook replay requested');
      return { status: 202, body: { replay_id: replay.id, endpoint_id: params.id, since: replay.since, status: 'accepted' as const } };
    },
  );

  const aDelivery = api.resource('/webhook-deliveries/:id', 'webhook_delivery');
  aDelivery.read({ summary: 'Get a delivery and its attempts', ok: ['The delivery', webhookDeliveryViewSchema] }, ({ id }) =>
    getDelivery(platform, id),
  );

  aDelivery.post(
    '/retry',
    {
      summary: 'Send a delivery again now (a new round, same webhook-id)',
      errors: { 409: ['webhook_endpoint_disabled', 'webhook_delivery_pending'] },
      accepted: ['Queued', webhookDeliveryViewSchema],
    },
    async ({ req, params }) => {
      const delivery = await retryDelivery(platform, params.id);
      platform.logger.info({ deliveryId: delivery.id, actor: req.apiKey?.id }, 'webhook delivery retry requested');
      return { status: 202, body: delivery };
    },
  );
});
