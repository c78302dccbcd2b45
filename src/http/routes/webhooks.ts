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
import { createWebhookSchema, deliveryPageQuerySchema, replayWebhookSchema, updateWebhookSchema } from '../../webhooks/schemas.ts';
import { secretEncryptionKey } from '../../webhooks/secrets.ts';
import type { RouteModule } from '../context.ts';
import { parse } from '../validate.ts';

/** Webhook endpoints and their deliveries. Secrets appear in a response only when created or rotated. */
export const webhookRoutes: RouteModule = (router, { platform }) => {
  // Fails at startup, not at the first registration, when production has no WEBHOOK_SECRET_ENCRYPTION_KEY.
  secretEncryptionKey(platform.config);
  const now = () => platform.clock.now();

  router.post('/webhooks', async (req, res) => {
    const input = parse(createWebhookSchema, req.body);
    const { endpoint, secret } = await createEndpoint(platform, input);
    platform.logger.info({ webhookId: endpoint.id, actor: req.apiKey?.id }, 'webhook endpoint created');
    res
      .status(201)
      .location(`/v1/webhooks/${endpoint.id}`)
      .json({ ...endpointView(endpoint, now()), secret });
  });

  router.get('/webhooks', async (_req, res) => {
    const endpoints = await listEndpoints(platform);
    res.json({ data: endpoints.map((e) => endpointView(e, now())) });
  });

  router.get('/webhooks/:id', async (req, res) => {
    res.json(endpointView(await getEndpoint(platform, req.params.id), now()));
  });

  router.patch('/webhooks/:id', async (req, res) => {
    const input = parse(updateWebhookSchema, req.body);
    const endpoint = await updateEndpoint(platform, req.params.id, input);
    platform.logger.info({ webhookId: endpoint.id, actor: req.apiKey?.id, fields: Object.keys(input) }, 'webhook endpoint updated');
    res.json(endpointView(endpoint, now()));
  });

  router.delete('/webhooks/:id', async (req, res) => {
    await deleteEndpoint(platform, req.params.id);
    platform.logger.info({ webhookId: req.params.id, actor: req.apiKey?.id }, 'webhook endpoint deleted');
    res.status(204).end();
  });

  router.post('/webhooks/:id/rotate-secret', async (req, res) => {
    const { endpoint, secret } = await rotateSecret(platform, req.params.id);
    platform.logger.info({ webhookId: endpoint.id, actor: req.apiKey?.id }, 'webhook secret rotated');
    res.json({ ...endpointView(endpoint, now()), secret });
  });

  router.get('/webhooks/:id/deliveries', async (req, res) => {
    const query = parse(deliveryPageQuerySchema, req.query);
    await getEndpoint(platform, req.params.id);
    const page = await listDeliveries(platform, req.params.id, {
      limit: query.limit,
      cursor: query.cursor,
      status: query.status,
      eventType: query.event_type,
    });
    res.json({ data: page.data, next_cursor: page.nextCursor });
  });

  router.post('/webhooks/:id/replay', async (req, res) => {
    const { since } = parse(replayWebhookSchema, req.body);
    const replay = await requestReplay(platform, req.params.id, new Date(since));
    platform.logger.info({ webhookId: req.params.id, actor: req.apiKey?.id, since }, 'webhook replay requested');
    res.status(202).json({ replay_id: replay.id, endpoint_id: req.params.id, since: replay.since, status: 'accepted' });
  });

  router.get('/webhook-deliveries/:id', async (req, res) => {
    res.json(await getDelivery(platform, req.params.id));
  });

  router.post('/webhook-deliveries/:id/retry', async (req, res) => {
    const delivery = await retryDelivery(platform, req.params.id);
    platform.logger.info({ deliveryId: delivery.id, actor: req.apiKey?.id }, 'webhook delivery retry requested');
    res.status(202).json(delivery);
  });
};
